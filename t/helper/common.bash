# SPDX-License-Identifier: ISC
# Loaded by every bats file: assertions, the built tools on PATH, and a
# private DYNO_ROOT / DYNO_RUNDIR / DYNO_CONF per test.
# shellcheck shell=bash

bats_load_library bats-support
bats_load_library bats-assert

TOP="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
export TOP
PATH="$TOP/bin:$TOP/t/helper:$PATH"
export PATH
export NO_COLOR=1

# A fresh state tree for each test, with a common space of its own
# (common_slot); removed by dyno_teardown.
dyno_setup() {
	DYNO_TEST_DIR="$(mktemp -d "${BATS_TMPDIR:-/tmp}/dynotest-XXXXXX")"
	export DYNO_TEST_DIR
	export DYNO_ROOT="$DYNO_TEST_DIR/root"
	export DYNO_RUNDIR="$DYNO_TEST_DIR/run"
	export DYNO_CONF="$DYNO_TEST_DIR/dyno.conf"
	mkdir -p "$DYNO_ROOT" "$DYNO_RUNDIR"
	common_slot
	conf_put </dev/null
}

# The spaces this test's root made (their bridges, veths and tables are
# the host's, named with the root's tag: space-net(8)), then its tree.
dyno_teardown() {
	local s
	if [ -n "${DYNO_TEST_DIR:-}" ]; then
		for s in "$DYNO_TEST_DIR"/root/spaces/*/space.conf; do
			[ -e "$s" ] || continue
			s=${s%/space.conf}
			DYNO_ROOT="$DYNO_TEST_DIR/root" DYNO_CONF=/dev/null \
				space-net destroy "${s##*/}" --force >/dev/null 2>&1
		done
		rm -rf "$DYNO_TEST_DIR"
	fi
	[ -z "${DYNO_TEST_SLOT:-}" ] || resource_unlock "common-$DYNO_TEST_SLOT"
	DYNO_TEST_SLOT=
	return 0
}

# common_slot: one of 32 ranges (10.160.0.0/16 to 10.191.0.0/16) for this
# test's common space, held until dyno_teardown: the host routes a range
# to one bridge, and make check runs several files at once, each test in
# a DYNO_ROOT of its own.  The range is in DYNO_TEST_COMMON.
common_slot() {
	local n
	DYNO_TEST_SLOT=
	# (no lock folder to write, as in a UML guest over a read-only root)
	[ -w "${DYNO_TEST_LOCKDIR:-/run/lock}" ] || return 0
	for n in $(seq 0 31); do
		resource_lock "common-$n" 0 2>/dev/null || continue
		# a range some killed run left routed is not ours to clean
		if [ -n "$(ip -4 route show "10.$((160 + n)).0.0/16" 2>/dev/null)" ]
		then
			resource_unlock "common-$n"
			continue
		fi
		DYNO_TEST_SLOT=$n
		DYNO_TEST_COMMON="10.$((160 + n)).0.0/16"
		return 0
	done
	# then dyno.conf's default: only a root's common space needs a slot
	echo "common_slot: no common range free (all 32 in use, or no /run/lock)" >&2
	return 0
}

# conf_put: DYNO_CONF becomes the test's common range (two lines first,
# so lines a test appends stay in its last section), then standard input.
# Every write of a test's dyno.conf goes through it.
conf_put() {
	{
		[ -z "${DYNO_TEST_COMMON:-}" ] ||
			printf '[manager]\ncommon_range = %s\n' "$DYNO_TEST_COMMON"
		cat
	} >"$DYNO_CONF.new" && mv "$DYNO_CONF.new" "$DYNO_CONF"
}

# require_root: skip unless running as root.
require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# require_cmd CMD...: skip unless every command exists.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

# wait_for SECONDS CMD...: poll CMD every 50 ms until it succeeds or the
# deadline passes (then fail, showing the command).
wait_for() {
	local deadline=$(($(date +%s%N) / 1000000 + $1 * 1000))
	shift
	until "$@" >/dev/null 2>&1; do
		if [ "$(($(date +%s%N) / 1000000))" -ge "$deadline" ]; then
			echo "wait_for: timed out: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

# wait_status PID: wait for a background child of this shell and put its
# exit status in $status. Not `run wait PID`: run's command substitution is
# a subshell, which cannot wait for its parent's child and answers 255
# whenever the child has not been reaped yet.
# shellcheck disable=SC2034 # status is the caller's, as with bats' run
wait_status() {
	status=0
	wait "$1" || status=$?
}

# resource_lock NAME [SECONDS]: wait (at most SECONDS, default 20 minutes;
# 0: not at all) until this test alone uses
# the fixed resource NAME (ports, link or namespace names a helper always
# uses the same way), as make check runs several files at once; the lock
# is held until resource_unlock NAME.  A child process holds it, so no
# daemon the test starts inherits it.
declare -gA RESOURCE_LOCKS
resource_lock() {
	local f="${DYNO_TEST_LOCKDIR:-/run/lock}/dynotest-$1.lock" fifo fd ans=
	local wait=${2:-1200} how
	[ -z "${RESOURCE_LOCKS[$1]:-}" ] || return 0
	how="-w $wait"
	[ "$wait" -gt 0 ] || how=-n
	fifo=$(mktemp -u "${BATS_TMPDIR:-/tmp}/dynotest-lock-XXXXXX")
	mkfifo "$fifo" || return 1
	exec {fd}<>"$fifo"
	(
		exec 3>&- 9>"$f" || { echo free >"$fifo"; exit 1; }
		# shellcheck disable=SC2086 # -n, or -w and the seconds
		flock $how 9 || { echo free >"$fifo"; exit 1; }
		echo held >"$fifo"
		exec sleep 3600
	) &
	RESOURCE_LOCKS[$1]=$!
	# not a job of the test: a test's bare `wait` must not wait for it
	disown "$!"
	read -r -t $((wait + 30)) ans <&"$fd"
	exec {fd}<&-
	rm -f "$fifo"
	if [ "$ans" != held ]; then
		resource_unlock "$1"
		echo "resource_lock: $1: not free after $wait seconds" >&2
		return 1
	fi
}

resource_unlock() {
	local pid=${RESOURCE_LOCKS[$1]:-} i
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	# gone (so the lock is free) within 2 s; bash reaps it, not `wait`
	for ((i = 0; i < 40; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	RESOURCE_LOCKS[$1]=
	return 0
}

# free_port: an unused TCP port on 127.0.0.1, below the kernel's
# ephemeral range.  A port the kernel hands out for a bind to port 0 is
# also the next local port of any outgoing connection, and the suites'
# own traffic took one between this and the listener's bind now and then
# (dyno-route: "Address already in use").  Below the range only another
# listener can take it: a random one of 8192, checked free.
free_port() {
	python3 - <<-'EOF'
	import random, socket
	low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
	for _ in range(200):
	    port = random.randrange(max(1024, low - 8192), low)
	    s = socket.socket()
	    try:
	        s.bind(("127.0.0.1", port))
	    except OSError:
	        continue
	    finally:
	        s.close()
	    print(port)
	    break
	else:
	    raise SystemExit("free_port: no free port below %d" % low)
	EOF
}

# test_dynoruns [APP]: pids of the dyno-run processes of this test (of APP):
# those started with this test's DYNO_ROOT.  Nothing else on the machine
# is looked at, whatever it runs.
test_dynoruns() {
	local f pid comm args
	for f in /proc/[0-9]*/comm; do
		read -r comm 2>/dev/null <"$f" || continue
		[ "$comm" = dyno-run ] || continue
		pid=${f#/proc/}
		pid=${pid%/comm}
		mapfile -d "" args 2>/dev/null <"/proc/$pid/environ" || continue
		[[ " ${args[*]} " == *" DYNO_ROOT=$DYNO_ROOT "* ]] || continue
		if [ -n "${1:-}" ]; then
			mapfile -d "" args 2>/dev/null <"/proc/$pid/cmdline" || continue
			[[ " ${args[*]} " == *" --app $1 "* ]] || continue
		fi
		echo "$pid"
	done
	return 0
}

# app_pids APP [ERE]: pids of the processes in APP's dynos that this
# test's dyno-runs started (found by the dyno's cgroup, whose leaf
# NAME-PID names its dyno-run), whose command line matches ERE.
app_pids() {
	local app=$1 re=${2:-} mons f pid line mon args
	mons=" $(test_dynoruns | tr '\n' ' ') "
	for f in /proc/[0-9]*/cgroup; do
		pid=${f#/proc/}
		pid=${pid%/cgroup}
		mon=
		while read -r line; do
			case $line in
			*/dyno/"$app"/*-[0-9]*) mon=${line##*-} ;;
			esac
		done 2>/dev/null <"$f"
		if [ -z "$mon" ] || [[ $mons != *" $mon "* ]]; then
			continue
		fi
		if [ -n "$re" ]; then
			mapfile -d "" args 2>/dev/null <"/proc/$pid/cmdline" || continue
			[[ "${args[*]}" =~ $re ]] || continue
		fi
		echo "$pid"
	done
	return 0
}

# cgroup_pids PATH: pids of the processes in the cgroup PATH (as
# /proc/PID/cgroup names it, without the leading slash).
cgroup_pids() {
	local f pid line
	for f in /proc/[0-9]*/cgroup; do
		pid=${f#/proc/}
		pid=${pid%/cgroup}
		while read -r line; do
			if [ "${line#*:*:/}" = "$1" ]; then
				echo "$pid"
				break
			fi
		done 2>/dev/null <"$f"
	done
	return 0
}

# cgroup_has PATH N: the cgroup PATH holds at least N processes.
cgroup_has() {
	[ "$(cgroup_pids "$1" | wc -l)" -ge "$2" ]
}

# dyno_cgroup_dirs APP: the cgroup folders of APP's dynos (and the app's
# own folder) in every hierarchy, v1 or v2, wherever the v2 base is.
dyno_cgroup_dirs() {
	find /sys/fs/cgroup -maxdepth 6 -type d -path "*/dyno/$1" -print \
		-o -type d -path "*/dyno/$1/*" -print -prune 2>/dev/null
	return 0
}

# stop_app_dynos APP: the safety net of a teardown.  Whatever happened to
# the test's dyno-manager, no dyno of APP started by this test outlives
# it: SIGTERM to its dyno-run processes, then SIGKILL after 15 s.
stop_app_dynos() {
	local pids
	pids=$(test_dynoruns "$1")
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null
	# shellcheck disable=SC2086
	wait_for 15 pids_gone $pids || kill -KILL $pids 2>/dev/null
	return 0
}

# pids_gone PID...: true when none of the processes is alive.
pids_gone() {
	local p
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}

# release_app APP: a deployed app (v1) of one web type; its folder is in A.
# shellcheck disable=SC2034 # A is read by the test files
release_app() {
	mkdir -p "$DYNO_TEST_DIR/app"
	printf 'web: ./server\n' >"$DYNO_TEST_DIR/app/Procfile"
	release create "$1" --slug "$DYNO_TEST_DIR/app" >/dev/null 2>&1
	A="$DYNO_ROOT/apps/$1"
}
