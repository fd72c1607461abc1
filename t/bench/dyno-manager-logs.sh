#!/bin/bash
# SPDX-License-Identifier: ISC
# One dyno's stdout, end to end: a dyno prints LINES lines in one burst;
# the manager reads them and hands them to logplexd (history) which sends
# them to a syslog drain (a counting sink).  Lines/s, no line lost, and
# lines per CPU-second of the manager and logplexd together, side by side
# with rsyslog taking the same stream from a local program through its own
# imuxsock socket and forwarding it octet-counted to the same kind of sink.
# The sink checks the numbered lines arrive in order, none missing (the
# issue's goal: all of 100,000 lines of one burst, in order).
# Run by `make bench`; root (dyno-run).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
PATH="$TOP/bin:$TOP/t/helper:$PATH"
# shellcheck source=t/helper/bench.bash
. "$(dirname "$0")/../helper/bench.bash"
bench_build
bench_helpers logplex-sink
LINES=${LINES:-100000}
TCK=$(getconf CLK_TCK)
APP=dynotest-benchlogs
[ "$(id -u)" -eq 0 ] || { echo "bench: dyno-run needs root" >&2; exit 1; }
command -v rsyslogd >/dev/null || { echo "bench: needs rsyslog" >&2; exit 1; }
command -v logger >/dev/null || { echo "bench: needs logger" >&2; exit 1; }

WORK=$(mktemp -d /tmp/dynotest-bench-XXXXXX)
export DYNO_ROOT="$WORK/root" DYNO_RUNDIR="$WORK/run" DYNO_CONF="$WORK/dyno.conf"
mkdir -p "$DYNO_ROOT" "$DYNO_RUNDIR" "$WORK/slug"
PIDS=()
MGR=
cleanup() {
	local p
	[ -z "$MGR" ] || { kill -TERM "$MGR" 2>/dev/null; wait "$MGR" 2>/dev/null; }
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
now_ms() { date +%s%3N; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# wait_count FILE WANT: until FILE holds at least WANT (the sink writes it
# every second), or it stops growing for 10 s (then: lines were lost).
wait_count() {
	local last=-1 same=0 n
	while :; do
		n=$(cat "$1" 2>/dev/null || echo 0)
		[ "$n" -ge "$2" ] && return 0
		if [ "$n" = "$last" ]; then
			same=$((same + 1))
			[ "$same" -ge 100 ] && { echo "bench: $1 stuck at $n of $2" >&2; return 1; }
		else
			same=0
		fi
		last=$n
		sleep 0.1
	done
}

# sink PORT FILE: the counting drain; its pid in SINK.
sink() {
	logplex-sink "$1" "$2" &
	SINK=$!
	PIDS+=("$SINK")
	until python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1).close()' "$1" 2>/dev/null; do
		sleep 0.05
	done
}

# lp_received: logplexd's count of accepted lines (its SIGUSR1 dump).
lp_received() {
	kill -USR1 "$LP"
	sleep 0.05
	sed -n 's/.*received=\([0-9]*\).*/\1/p' "$WORK/logplexd.err" | tail -1
}

# in_order NAME FILE: the sink's count of numbered lines out of their place.
in_order() {
	local bad
	bad=$(cat "$WORK/$2.order")
	printf '%-44s %s\n' "$1" "$([ "$bad" = 0 ] && echo "all $LINES lines, in order" ||
		echo "$bad lines missing or out of order")"
	[ "$bad" = 0 ]
}

report() {	# NAME LINES MS TICKS FILE
	local cpu_ms=$(($4 * 1000 / TCK))
	[ "$cpu_ms" -gt 0 ] || cpu_ms=1
	printf '%-44s %8d lines %6d ms %6d cpu-ms %8d lines/s %8d lines/cpu-s\n' \
		"$1" "$2" "$3" "$cpu_ms" $(($2 * 1000 / $3)) $(($2 * 1000 / cpu_ms))
	echo $(($2 * 1000 / cpu_ms)) >"$WORK/$5.rate"
}

bench_dyno() {
	local port t0 ms_hist ms_drain c0 fifo="$WORK/ready"
	port=$(free_port)
	# The host network: the log path is the same, and the common space's
	# link names are not shared with tests running meanwhile.
	printf '[manager]\nnetwork = host\n[logs]\nhistory = %d\ndrain_buffer = %d\n' \
		$((LINES + 1000)) $((LINES + 1000)) >"$DYNO_CONF"
	printf 'burst: seq -f "line %%.0f" 1 %d; exec sleep 4242.7\n' "$LINES" \
		>"$WORK/slug/Procfile"
	release create "$APP" --slug "$WORK/slug" >/dev/null 2>&1
	printf 'd.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 syslog://127.0.0.1:%s\n' \
		"$port" >"$DYNO_ROOT/apps/$APP/drains"
	sink "$port" "$WORK/count.dyno"
	mkfifo "$fifo"
	logplexd --ready-fd 4 4>"$fifo" 2>>"$WORK/logplexd.err" &
	LP=$!
	PIDS+=("$LP")
	read -r _ <"$fifo"
	dyno-manager scale "$APP" burst=1 >/dev/null
	c0=$(cpu_ticks "$LP")
	t0=$(now_ms)
	dyno-manager "$APP" 2>"$WORK/manager.err" &
	MGR=$!
	until [ "$(lp_received)" -ge "$LINES" ]; do sleep 0.02; done
	ms_hist=$(($(now_ms) - t0))
	wait_count "$WORK/count.dyno" "$LINES"
	ms_drain=$(($(now_ms) - t0))
	ticks=$(($(cpu_ticks "$LP") - c0 + $(cpu_ticks "$MGR")))
	if grep -q 'app\[burst.1\]' "$WORK/manager.err"; then
		echo "bench: lines went to the manager's stderr" >&2
		exit 1
	fi
	report "dyno -> manager -> logplexd history" "$LINES" "$ms_hist" "$ticks" hist
	report "dyno -> manager -> logplexd -> syslog drain" "$LINES" "$ms_drain" "$ticks" dyno
	sleep 1	# the sink writes its files every second
	in_order "  at the syslog drain" count.dyno
	kill -TERM "$MGR"
	wait "$MGR" || true
	MGR=
}

# rsyslog, private config and socket: imuxsock in, omfwd octet-counted out.
bench_rsyslog() {
	local port t0 ms c0 dir="$WORK/rsyslog" rs
	port=$(free_port)
	sink "$port" "$WORK/count.rsyslog"
	mkdir -p "$dir/work"
	cat >"$dir/rsyslog.conf" <<-CONF
		global(workDirectory="$dir/work")
		module(load="imuxsock" SysSock.Use="off")
		input(type="imuxsock" Socket="$dir/log.sock" RateLimit.Interval="0"
		    CreatePath="on")
		action(type="omfwd" target="127.0.0.1" port="$port" protocol="tcp"
		    TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
	CONF
	rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslog.pid" >"$dir/out" 2>&1 &
	rs=$!
	PIDS+=("$rs")
	until [ -S "$dir/log.sock" ]; do sleep 0.02; done
	c0=$(cpu_ticks "$rs")
	t0=$(now_ms)
	seq -f "line %.0f" 1 "$LINES" | logger -u "$dir/log.sock" -t burst
	wait_count "$WORK/count.rsyslog" "$LINES"
	ms=$(($(now_ms) - t0))
	report "local program -> rsyslog imuxsock -> tcp" "$LINES" "$ms" \
		$(($(cpu_ticks "$rs") - c0)) rsyslog
	sleep 1
	in_order "  at the sink" count.rsyslog || true
	kill -TERM "$rs"
	wait "$rs" 2>/dev/null || true
}

# The machine may be shared: what else ran shows in the load.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
bench_dyno
bench_rsyslog
awk -v d="$(cat "$WORK/dyno.rate")" -v r="$(cat "$WORK/rsyslog.rate")" 'BEGIN {
	printf "lines per CPU-second: dyno-manager+logplexd / rsyslog = %.2f\n", d / r }'
