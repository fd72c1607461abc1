#!/usr/bin/env bats
# dyno-manager APP: a web dyno killed at every moment of its life, in a
# common and a private space, comes back up on its address every time
# (issue 16, point 6: a replacement stuck in starting after a crash at
# once).  CRASH_LOOPS rounds per case (default 6); CRASH_LOAD=N runs N
# busy loops beside the test for its duration.
bats_require_minimum_version 1.5.0
load helper/common
load helper/manager

APPNAME=dynotest-crash
SPACE=dynotest-crash

setup() {
	manager_setup
	require_cmd ip nft
	[ -x "$TOP/bin/space-net" ] || skip "space-net is not built"
	STEPS="$DYNO_TEST_DIR/steps"
	LOADS=
}

teardown() {
	local p
	for p in $LOADS; do
		kill "$p" 2>/dev/null
	done
	manager_teardown 40
	space-net destroy "$SPACE" --force >/dev/null 2>&1 || true
	dyno_teardown
}

# step WHAT: one timestamped line of what the test did.
step() { printf '%s %s\n' "$(date +%T.%N)" "$*" >>"$STEPS"; }

# load_start: CRASH_LOAD busy loops, each bounded to 15 minutes.
load_start() {
	local i
	for ((i = 0; i < ${CRASH_LOAD:-0}; i++)); do
		timeout 900 sh -c 'while :; do :; done' 3>&- &
		LOADS="$LOADS $!"
	done
}

# crash_setup MODE NET: web.1 in a space of MODE on NET.0/24, started.
crash_setup() {
	run -0 space-net create "$SPACE" --cidr "$2.0/24" --mode "$1"
	printf '[dyno]\ngrace = 5s\nboot_timeout = 30s\n[manager]\nrestart_backoff = 0\nnetwork = space:%s\n' \
		"$SPACE" | conf_put
	deploy
	load_start
	start_mgr
}

# new_run OLD: web.1's dyno-run, once it is not OLD.
new_run() {
	local p
	p=$(pid_of web.1)
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$1" ] && kill -0 "$p" && echo "$p"
}

# starts N: the manager has started web.1 N times after a crash.
starts() {
	[ "$(grep -c 'web.1\]: State changed from crashed to starting' "$LOG")" -ge "$1" ]
}

# evidence: what a stuck replacement leaves, with times.
evidence() {
	echo "--- steps"
	cat "$STEPS"
	echo "--- manager log (last 40)"
	tail -n 40 "$LOG"
	echo "--- dynos/web.1"
	for f in "$APPDIR"/dynos/web.1/*; do
		printf '%s %s: %s\n' "$(stat -c %y "$f")" "${f##*/}" "$(cat "$f")"
	done
	echo "--- info"
	ls -l --time-style=+%T.%N "$DYNO_RUNDIR/apps/$APPNAME/info" 2>&1
	cat "$DYNO_RUNDIR/apps/$APPNAME/info/"* 2>&1
	echo "--- leases"
	ls -l --time-style=+%T.%N "$DYNO_ROOT/spaces/$SPACE/leases" 2>&1
	head "$DYNO_ROOT/spaces/$SPACE/leases/"* 2>&1
	echo "--- links"
	ip -br link show master "$(sed -n 's/^bridge *= *//p' "$DYNO_ROOT/spaces/$SPACE/space.conf")" 2>&1
	echo "--- web set"
	nft list set inet "$(space-net show "$SPACE" |
		awk '$1 == "table" && $2 == "inet" { print $3; exit }')" web 2>&1
}

# round I WHEN: kill web.1 at moment WHEN of its I-th instance, then wait
# for the manager to start the next one.
#   up-app   its app's process, as soon as web.1 is up
#   up-run   its dyno-run, as soon as web.1 is up
#   early-app  its app's process, as soon as it exists (before up)
#   early-run  its dyno-run, as soon as the manager names it (in setup)
#   stop-app   its app's process, right after `dyno-manager stop` of web.1
#   stop-run   its dyno-run, the same (the replacement starts once it is gone)
round() {
	local i=$1 p old
	case $2 in
	stop-*)
		stop_round "$@"
		return
		;;
	up-*)
		wait_for 30 is_up web.1 || return 1
		;;
	early-*)
		old=$(pid_of web.1)
		;;
	esac
	case $2 in
	*-app)
		wait_for 30 web_python || return 1
		p=$(web_python)
		;;
	up-run)
		p=$(pid_of web.1)
		;;
	early-run)
		wait_for 30 new_run "${LASTRUN:-0}" || return 1
		p=$(new_run "${LASTRUN:-0}")
		;;
	esac
	LASTRUN=$(pid_of web.1)
	step "round $i $2: kill $p (web.1 $(state_of web.1), dyno-run $LASTRUN)"
	kill -KILL "$p"
	wait_for 10 bash -c "! kill -0 $p 2>/dev/null" || return 1
	wait_for 30 starts "$i" || return 1
	step "round $i: restarted (web.1 $(state_of web.1))"
}

# stop_round I stop-app|stop-run: web.1 up, stopped, killed while it stops;
# its next instance must come up.
stop_round() {
	local p old
	wait_for 30 is_up web.1 || return 1
	old=$(pid_of web.1)
	if [ "$2" = stop-app ]; then
		wait_for 30 web_python || return 1
		p=$(web_python)
	else
		p=$old
	fi
	dyno-manager stop "$APPNAME" web.1 || return 1
	step "round $1 $2: stopped, kill $p (web.1 $(state_of web.1), dyno-run $old)"
	kill -KILL "$p"
	wait_for 30 up_again web.1 "$old" || return 1
	step "round $1: up again (dyno-run $(pid_of web.1))"
}

# crash_loop MODE NET WHEN: CRASH_LOOPS rounds, then web.1 must come up
# on an address of the space, with no R10.
crash_loop() {
	local i n=${CRASH_LOOPS:-6}
	crash_setup "$1" "$2"
	wait_for 30 is_up web.1
	for ((i = 1; i <= n; i++)); do
		if ! round "$i" "$3"; then
			evidence
			fail "round $i ($3): web.1 is $(state_of web.1)"
		fi
	done
	if ! wait_for 30 is_up web.1; then
		evidence
		fail "after $n rounds ($3): web.1 is $(state_of web.1)"
	fi
	run cat "$APPDIR/dynos/web.1/addr"
	assert_output --regexp "^${2//./\\.}\\.[0-9]+:[0-9]+\$"
	assert_equal "$(log_count "R10")" 0
}

@test "common space: the app killed as soon as web.1 is up, each replacement comes up" {
	crash_loop common 10.213.81 up-app
}

@test "common space: dyno-run killed as soon as web.1 is up, each replacement comes up" {
	crash_loop common 10.213.81 up-run
}

@test "common space: the app killed before web.1 is up, each replacement comes up" {
	crash_loop common 10.213.81 early-app
}

@test "common space: dyno-run killed in its setup, each replacement comes up" {
	crash_loop common 10.213.81 early-run
}

@test "common space: the app killed while web.1 stops (dyno-manager stop), web.1 comes back up each time" {
	crash_loop common 10.213.81 stop-app
}

@test "private space: dyno-run killed while web.1 stops (dyno-manager stop), web.1 comes back up each time" {
	crash_loop private 10.213.82 stop-run
}

@test "private space: the app killed as soon as web.1 is up, each replacement comes up" {
	crash_loop private 10.213.82 up-app
}

@test "private space: dyno-run killed as soon as web.1 is up, each replacement comes up" {
	crash_loop private 10.213.82 up-run
}

@test "private space: the app killed before web.1 is up, each replacement comes up" {
	crash_loop private 10.213.82 early-app
}

@test "private space: dyno-run killed in its setup, each replacement comes up" {
	crash_loop private 10.213.82 early-run
}
