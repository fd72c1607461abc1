#!/bin/bash
# SPDX-License-Identifier: ISC
# dyno-manager -d against foreman (Debian's ruby-foreman) on a Procfile of
# 50 processes that wait for SIGTERM: time until all have started, time until
# all are gone after SIGTERM, and the supervisor's peak memory (VmHWM).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=t/helper/bench.bash
. "$(dirname "$0")/../helper/bench.bash"
bench_build
bench_need foreman ruby-foreman
N=${N:-50}
work=$(mktemp -d /tmp/dynobench-XXXXXX)
trap 'bench_kill_all; rm -rf "$work"' EXIT

for i in $(seq "$N"); do
	echo "p$i: echo ready; exec sleep 4242.17"
done >"$work/Procfile"

now_ms() {
	date +%s%3N
}

# mem PID: "VmHWM RssAnon" in kB (peak resident, private resident now)
mem() {
	awk '/^VmHWM/ {h = $2} /^RssAnon/ {a = $2} END {print h + 0, a + 0}' \
		"/proc/$1/status" 2>/dev/null || echo "0 0"
}

# measure NAME CMD...: prints "start_ms stop_ms peak_rss_kb peak_anon_kb"
measure() {
	local out="$work/$1.out" t0 t1 t2 pid hwm=0 anon=0 h a kids
	shift
	t0=$(now_ms)
	"$@" >"$out" 2>&1 &
	pid=$!
	until [ "$(grep -c ' | ready' "$out" || true)" -ge "$N" ]; do
		[ "$(($(now_ms) - t0))" -lt 120000 ] || { echo "timeout" >&2; exit 1; }
		sleep 0.01
	done
	t1=$(now_ms)
	read -r hwm anon < <(mem "$pid")
	kids=$(bench_descendants "$pid")
	kill -TERM "$pid"
	while kill -0 "$pid" 2>/dev/null; do
		read -r h a < <(mem "$pid")
		[ "$h" -gt "$hwm" ] && hwm=$h
		[ "$a" -gt "$anon" ] && anon=$a
		sleep 0.01
	done
	wait "$pid" || true
	# shellcheck disable=SC2086
	until bench_gone $kids; do sleep 0.01; done
	t2=$(now_ms)
	echo "$((t1 - t0)) $((t2 - t1)) $hwm $anon"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", (b > 0 ? a / b : 0) }'
}

read -r ds dt dm da < <(measure dyno bin/dyno-manager -d "$work" -t 30)
read -r fs ft fm fa < <(measure foreman foreman start -d "$work" -f "$work/Procfile" -t 30)
printf '%-22s %12s %12s %8s\n' "$N processes" dyno-manager foreman ratio
printf '%-22s %10s ms %10s ms %8s\n' "time to all started" "$ds" "$fs" "$(ratio "$fs" "$ds")"
printf '%-22s %10s ms %10s ms %8s\n' "time to all gone" "$dt" "$ft" "$(ratio "$ft" "$dt")"
printf '%-22s %10s kB %10s kB %8s\n' "supervisor peak RSS" "$dm" "$fm" "$(ratio "$fm" "$dm")"
printf '%-22s %10s kB %10s kB %8s\n' "supervisor private mem" "$da" "$fa" "$(ratio "$fa" "$da")"
