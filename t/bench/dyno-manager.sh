#!/bin/bash
# SPDX-License-Identifier: ISC
# dyno-manager with 100 isolated dynos (dyno-run: namespaces, cgroup,
# seccomp, overlay /app) of a trivial Procfile, against foreman running the
# same Procfile without isolation: time until all are up, time from a
# dyno's crash until its replacement is up, and the supervisor's memory.
set -euo pipefail
cd "$(dirname "$0")/../.."
PATH="$PWD/bin:$PATH"
N=${N:-100}
# shellcheck source=t/helper/bench.bash
. "$(dirname "$0")/../helper/bench.bash"
bench_root
bench_build
bench_need foreman ruby-foreman
work=$(mktemp -d /tmp/dynobench-XXXXXX)
export DYNO_ROOT="$work/root" DYNO_RUNDIR="$work/run" DYNO_CONF="$work/dyno.conf"
mkdir -p "$DYNO_ROOT" "$DYNO_RUNDIR" "$work/slug"
printf '[dyno]\ngrace = 5s\n' >"$DYNO_CONF"
echo 'w: exec sleep 4242.9' >"$work/slug/Procfile"
mgr=
cleanup() {
	[ -n "$mgr" ] && kill -TERM "$mgr" 2>/dev/null && wait "$mgr" 2>/dev/null
	bench_kill_all
	rm -rf "$work"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
count_up() { grep -lx up "$DYNO_ROOT"/apps/bench-app/dynos/*/state 2>/dev/null | wc -l; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
anon() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }

release create bench-app --slug "$work/slug" >/dev/null 2>&1
dyno-manager scale bench-app "w=$N" >/dev/null
t0=$(now_ms)
dyno-manager bench-app 2>/dev/null &
mgr=$!
until [ "$(count_up)" -ge "$N" ]; do sleep 0.02; done
d_up=$(($(now_ms) - t0))
d_hwm=$(hwm "$mgr")
d_anon=$(anon "$mgr")

# a crash: the dyno's process dies; the first restart comes at once
old=$(cat "$DYNO_ROOT/apps/bench-app/dynos/w.7/pid")
# the command runs as the child of the dyno's init (its pid is in the info file)
init=$(sed -n 's/^init=//p' "$DYNO_RUNDIR"/apps/bench-app/info/w.7.*)
victim=$(pgrep -P "$init" | head -1)
t0=$(now_ms)
kill -KILL "$victim"
until [ "$(cat "$DYNO_ROOT/apps/bench-app/dynos/w.7/pid")" != "$old" ] &&
	[ "$(count_up)" -ge "$N" ]; do sleep 0.005; done
d_crash=$(($(now_ms) - t0))
kill -TERM "$mgr"
wait "$mgr" || true
mgr=

# foreman: the same Procfile, no isolation, no restarts
t0=$(now_ms)
foreman start -d "$work/slug" -f "$work/slug/Procfile" -m "w=$N" >/dev/null 2>&1 &
fm=$!
until [ "$(bench_count "$fm" sleep)" -ge "$N" ]; do sleep 0.02; done
f_up=$(($(now_ms) - t0))
sleep 0.5
f_hwm=$(hwm "$fm")
f_anon=$(anon "$fm")
kill -TERM "$fm"
wait "$fm" || true

printf '%-34s %14s %14s\n' "$N dynos, trivial Procfile" "dyno-manager" "foreman"
printf '%-34s %11s ms %11s ms\n' "time until all are up" "$d_up" "$f_up"
printf '%-34s %11s ms %14s\n' "crash until the replacement is up" "$d_crash" "(no restart)"
printf '%-34s %11s kB %11s kB\n' "supervisor peak RSS" "$d_hwm" "$f_hwm"
printf '%-34s %11s kB %11s kB\n' "supervisor private memory" "$d_anon" "$f_anon"
awk -v d="$d_up" -v f="$f_up" 'BEGIN { printf "isolation costs %.1f ms per dyno to start (foreman %.1f ms without)\n", d / '"$N"', f / '"$N"' }'
awk -v d="$d_up" -v f="$f_up" 'BEGIN { printf "scale-up ratio: dyno-manager / foreman = %.2f\n", d / f }'
