#!/bin/bash
# SPDX-License-Identifier: ISC
# dyno-manager with 100 isolated dynos (dyno-run: namespaces, cgroup,
# seccomp, overlay /app) of a trivial Procfile, against foreman running the
# same Procfile without isolation: time and CPU until all are up, in the
# common space, a private space and with no network; time from a dyno's
# crash until its replacement is up; the supervisor's memory.  CPU is the
# supervisor's and every process below it (what they reaped included):
# on a shared machine it moves far less than the time.  The common
# space and foreman run ROUNDS times (default 3), their medians compared.
set -euo pipefail
cd "$(dirname "$0")/../.."
PATH="$PWD/bin:$PATH"
N=${N:-100}
SPACE=dynobench-priv
# shellcheck source=t/helper/bench.bash
. "$(dirname "$0")/../helper/bench.bash"
bench_root
bench_build
bench_need foreman ruby-foreman
work=$(mktemp -d /tmp/dynobench-XXXXXX)
export DYNO_ROOT="$work/root" DYNO_RUNDIR="$work/run" DYNO_CONF="$work/dyno.conf"
mkdir -p "$DYNO_ROOT" "$DYNO_RUNDIR" "$work/slug"
img=
printf '[dyno]\ngrace = 5s\n' | bench_conf
echo 'w: exec sleep 4242.9' >"$work/slug/Procfile"
app="$DYNO_ROOT/apps/bench-app"
mgr=
cleanup() {
	[ -n "$mgr" ] && kill -TERM "$mgr" 2>/dev/null && wait "$mgr" 2>/dev/null
	bench_kill_all
	space-net destroy "$SPACE" --force >/dev/null 2>&1 || true
	space-net destroy common --force >/dev/null 2>&1 || true
	if [ -n "$img" ]; then
		umount "$DYNO_RUNDIR" 2>/dev/null || true
		umount "$DYNO_ROOT" 2>/dev/null || true
		rm -f "$img"
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# STATE=host (the default) keeps the state where a host does: DYNO_ROOT
# on a journalled ext4 (/var/lib; an image in /dev/shm, loop-mounted) and
# DYNO_RUNDIR on a tmpfs (/run).  STATE=tmp keeps both in /tmp: on a
# root of ext4 without a journal, as this project's VM has, every new
# file then scans the recently freed inodes (ext4's recently_deleted),
# which took a tenth of a scale-up's CPU there.
STATE=${STATE:-host}
case $STATE in
host)
	bench_need mkfs.ext4 e2fsprogs
	img=$(mktemp /dev/shm/dynobench-XXXXXX)
	truncate -s 512M "$img"
	mkfs.ext4 -q -F "$img"
	mount -o loop "$img" "$DYNO_ROOT" || bench_fail "cannot loop-mount $img"
	mount -t tmpfs -o size=64m,mode=0755 dynobench "$DYNO_RUNDIR" ||
		bench_fail "cannot mount a tmpfs on $DYNO_RUNDIR"
	;;
tmp) ;;
*) bench_fail "STATE=$STATE: host or tmp" ;;
esac

# The polls below use bash builtins alone: a poll that forks (date, grep,
# pgrep, sleep) takes 20-30 ms of CPU a round here, as much as a dyno's
# start, and would weigh on whichever side it watches.
exec {tick}<> <(:)
nap() { read -r -t "$1" -u "$tick" _ || true; }
now_us() { us=${EPOCHREALTIME//[!0-9]/}; }
since_ms() { now_us; ms=$(((us - $1) / 1000)); }

# count_up: up = how many of the app's dynos are up (their state files).
count_up() {
	local f s
	up=0
	for f in "$app"/dynos/*/state; do
		read -r s 2>/dev/null <"$f" || continue
		[ "$s" = up ] && up=$((up + 1))
	done
}

# count_children PID COMM: kids = how many children of PID are named COMM.
count_children() {
	local t c p comm
	kids=0
	for t in /proc/"$1"/task/*/children; do
		c=()
		# the list ends with no newline: read's status is 1 there
		read -r -a c 2>/dev/null <"$t" || true
		for p in "${c[@]}"; do
			read -r comm 2>/dev/null <"/proc/$p/comm" || continue
			[ "$comm" = "$2" ] && kids=$((kids + 1))
		done
	done
}
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
anon() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }

# cpu_ms PID: CPU of PID and every process below it, and of what they reaped.
cpu_ms() {
	local p hz
	hz=$(getconf CLK_TCK)
	{
		cat "/proc/$1/stat"
		for p in $(bench_descendants "$1"); do
			cat "/proc/$p/stat" 2>/dev/null || true
		done
	} | sed 's/^.*) //' |
		awk -v hz="$hz" '{ t += $12 + $13 + $14 + $15 }
			END { printf "%d\n", t * 1000 / hz }'
}

# wait_all WHAT PID COUNT: poll COUNT (builtins only; it sets n) every
# 20 ms until $N are up, failing the bench when PID ends or after 300 s;
# then ms is the time since t0.
wait_all() {
	local what=$1 pid=$2 count=$3 i=0
	until $count "$pid" && [ "$n" -ge "$N" ]; do
		kill -0 "$pid" 2>/dev/null || bench_fail "$what ended"
		i=$((i + 1))
		[ "$i" -lt 15000 ] || bench_fail "$what: $N not up in 300 s"
		nap 0.02
	done
	since_ms "$t0"
}

dynos_up() { count_up || true; n=$up; }
sleeps_up() { count_children "$1" sleep || true; n=$kids; }

# scale_up NETWORK: the manager from nothing to $N dynos up, on
# space:common, space:$SPACE (private) or none; sets up_ms, cpu, and
# leaves the manager running (mgr).
scale_up() {
	printf '[dyno]\ngrace = 5s\n[manager]\nnetwork = %s\n' "$1" | bench_conf
	dyno-manager scale bench-app "w=$N" >/dev/null
	now_us
	t0=$us
	dyno-manager bench-app 2>/dev/null {tick}<&- &
	mgr=$!
	wait_all "dyno-manager ($1)" "$mgr" dynos_up
	up_ms=$ms
	cpu=$(cpu_ms "$mgr")
}

stop_mgr() {
	kill -TERM "$mgr"
	wait "$mgr" || true
	mgr=
}

# foreman_up: foreman from nothing to $N up: the same Procfile, no
# isolation, no restarts; `exec` makes each sleep foreman's own child.
# Sets f_up, f_cpu, f_hwm, f_anon.
foreman_up() {
	local fm
	now_us
	t0=$us
	foreman start -d "$work/slug" -f "$work/slug/Procfile" -m "w=$N" \
		>/dev/null 2>&1 {tick}<&- &
	fm=$!
	wait_all foreman "$fm" sleeps_up
	f_up=$ms
	f_cpu=$(cpu_ms "$fm")
	nap 0.5
	f_hwm=$(hwm "$fm")
	f_anon=$(anon "$fm")
	kill -TERM "$fm"
	wait "$fm" || true
}

# median N...: the middle one (the lower of the two middle ones).
median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

release create bench-app --slug "$work/slug" >/dev/null 2>&1
scale_up space:common
d_ups=$up_ms d_cpus=$cpu
d_hwm=$(hwm "$mgr")
d_anon=$(anon "$mgr")

# a crash: the dyno's process dies; the first restart comes at once
old=$(cat "$app/dynos/w.7/pid")
# the command runs as the child of the dyno's init (its pid is in the info file)
init=$(sed -n 's/^init=//p' "$DYNO_RUNDIR"/apps/bench-app/info/w.7.*)
victim=$(pgrep -P "$init" | head -1)
now_us
t0=$us
kill -KILL "$victim"
i=0
until read -r pid <"$app/dynos/w.7/pid" && [ "$pid" != "$old" ] &&
	count_up && [ "$up" -ge "$N" ]; do
	i=$((i + 1))
	[ "$i" -lt 60000 ] || bench_fail "w.7 not back in 300 s"
	nap 0.005
done
since_ms "$t0"
d_crash=$ms
stop_mgr
foreman_up
f_ups=$f_up f_cpus=$f_cpu

# The common space's scale-up and foreman's, ROUNDS times in turn (their
# medians compared): on a shared VM one round can be 20% off.
ROUNDS=${ROUNDS:-3}
for ((r = 1; r < ROUNDS; r++)); do
	scale_up space:common
	d_ups="$d_ups $up_ms" d_cpus="$d_cpus $cpu"
	stop_mgr
	foreman_up
	f_ups="$f_ups $f_up" f_cpus="$f_cpus $f_cpu"
done
# shellcheck disable=SC2086 # the lists split into their numbers
{
	d_up=$(median $d_ups) d_cpu=$(median $d_cpus)
	f_up=$(median $f_ups) f_cpu=$(median $f_cpus)
}

space-net create "$SPACE" --cidr 10.213.210.0/24 --mode private >/dev/null
scale_up "space:$SPACE"
p_up=$up_ms p_cpu=$cpu
stop_mgr
space-net destroy "$SPACE" --force >/dev/null

scale_up none
n_up=$up_ms n_cpu=$cpu
stop_mgr

printf '%-34s %14s %14s\n' "$N dynos, trivial Procfile" "dyno-manager" "foreman"
printf '%-34s %14s\n' "state (STATE=)" "$STATE"
printf '%-34s %11s ms %11s ms\n' "all up, common space (median)" "$d_up" "$f_up"
printf '%-34s %14s %14s\n' "  each round, ms" "${d_ups// /,}" "${f_ups// /,}"
printf '%-34s %11s ms\n' "all up, private space" "$p_up"
printf '%-34s %11s ms\n' "all up, network none" "$n_up"
printf '%-34s %11s ms %11s ms\n' "CPU until all up, common (median)" "$d_cpu" "$f_cpu"
printf '%-34s %11s ms\n' "CPU until all up, private space" "$p_cpu"
printf '%-34s %11s ms\n' "CPU until all up, network none" "$n_cpu"
printf '%-34s %11s ms %14s\n' "crash until the replacement is up" "$d_crash" "(no restart)"
printf '%-34s %11s kB %11s kB\n' "supervisor peak RSS" "$d_hwm" "$f_hwm"
printf '%-34s %11s kB %11s kB\n' "supervisor private memory" "$d_anon" "$f_anon"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v d="$d_up" -v f="$f_up" 'BEGIN { printf "isolation costs %.1f ms per dyno to start (foreman %.1f ms without)\n", d / '"$N"', f / '"$N"' }'
awk -v d="$d_up" -v f="$f_up" -v dc="$d_cpu" -v fc="$f_cpu" 'BEGIN { printf "scale-up ratio: dyno-manager / foreman = %.2f (CPU %.2f)\n", d / f, dc / fc }'
