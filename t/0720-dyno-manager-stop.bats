#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-manager stop|kill (heroku ps:stop, ps:kill): a formation dyno comes
# back, a one-off dyno stays stopped.
bats_require_minimum_version 1.5.0
load helper/common
load helper/manager

APPNAME=dynotest-stop

setup() {
	manager_setup
	ONEOFFS=()
}

teardown() {
	local p
	for p in "${ONEOFFS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	manager_teardown
	dyno_teardown
}

# oneoff OUT CMD: a one-off dyno in the background; its name in ONEOFF.
oneoff() {
	local out=$1 f
	shift
	dyno-run --app "$APPNAME" -- "$@" >"$out" 2>&1 3>&- </dev/null &
	ONEOFF_PID=$!
	ONEOFFS+=("$ONEOFF_PID")
	wait_for 30 bash -c "grep -qx 'pid=$ONEOFF_PID' $DYNO_RUNDIR/apps/$APPNAME/oneoff/run.* 2>/dev/null"
	f=$(grep -lx "pid=$ONEOFF_PID" "$DYNO_RUNDIR/apps/$APPNAME/oneoff/"run.*)
	ONEOFF=${f##*/}
}

gone() { ! kill -0 "$1" 2>/dev/null; }

@test "stop web.1: down, SIGTERM, then back up as a new instance; web.2 untouched" {
	deploy
	dyno-manager scale "$APPNAME" web=2 >/dev/null
	start_mgr
	wait_for 60 is_up web.1
	wait_for 60 is_up web.2
	old1=$(pid_of web.1)
	old2=$(pid_of web.2)
	run --separate-stderr dyno-manager stop "$APPNAME" web.1
	assert_success
	assert_output ''
	wait_for 30 up_again web.1 "$old1"
	gone "$old1"
	[ "$(pid_of web.2)" = "$old2" ]
	# Heroku's lines, in order: down first, then the stop, then back.
	run grep -E -o 'heroku\[web\.1\]: (State changed from [a-z]+ to [a-z]+|Stopping all processes with SIGTERM|Process exited with status [0-9]+|Starting process with command .*)' "$LOG"
	assert_output --partial "$(printf '%s\n' \
	    'heroku[web.1]: State changed from up to down' \
	    'heroku[web.1]: Stopping all processes with SIGTERM' \
	    'heroku[web.1]: Process exited with status 0' \
	    'heroku[web.1]: State changed from down to starting' \
	    'heroku[web.1]: Starting process with command `exec python3 web.py`' \
	    'heroku[web.1]: State changed from starting to up')"
	! log_has 'heroku\[web\.2\]: State changed from up'
	# Stopped is not crashed: no crash line, no cool-off.
	! log_has 'heroku\[web\.1\]: State changed from [a-z]+ to crashed'
}

@test "asked twice while its dyno still stops, a stop starts nothing early" {
	# A worker that needs a second to exit after SIGTERM.
	printf '%s\n' "worker: trap 'sleep 1; echo bye; exit 0' TERM; echo up; while :; do sleep 0.1; done" \
	    >"$SLUG/Procfile"
	deploy
	dyno-manager scale "$APPNAME" worker=1 >/dev/null
	start_mgr
	wait_for 60 is_up worker.1
	wait_for 20 log_has 'app\[worker\.1\]: up'
	old=$(pid_of worker.1)
	dyno-manager stop "$APPNAME" worker.1
	dyno-manager stop "$APPNAME" worker
	wait_for 30 up_again worker.1 "$old"
	run grep -E -o 'heroku\[worker\.1\]: (State changed from [a-z]+ to [a-z]+|Process exited with status [0-9]+)|app\[worker\.1\]: bye' "$LOG"
	assert_output "$(printf '%s\n' \
	    'heroku[worker.1]: State changed from down to starting' \
	    'heroku[worker.1]: State changed from starting to up' \
	    'heroku[worker.1]: State changed from up to down' \
	    'app[worker.1]: bye' \
	    'heroku[worker.1]: Process exited with status 0' \
	    'heroku[worker.1]: State changed from down to starting' \
	    'heroku[worker.1]: State changed from starting to up')"
}

@test "kill TYPE stops every dyno of the type; --wait returns once they exited" {
	deploy
	dyno-manager scale "$APPNAME" web=1 worker=2 >/dev/null
	start_mgr
	wait_for 60 is_up worker.1
	wait_for 60 is_up worker.2
	wait_for 60 is_up web.1
	w1=$(pid_of worker.1)
	w2=$(pid_of worker.2)
	web=$(pid_of web.1)
	run --separate-stderr dyno-manager kill --wait "$APPNAME" worker
	assert_success
	gone "$w1"
	gone "$w2"
	wait_for 30 up_again worker.1 "$w1"
	wait_for 30 up_again worker.2 "$w2"
	[ "$(pid_of web.1)" = "$web" ]
	log_has 'heroku\[worker\.2\]: State changed from up to down'
	log_has 'heroku\[worker\.2\]: Process exited with status 143'
}

@test "a one-off dyno is stopped by name and stays stopped" {
	deploy
	oneoff "$DYNO_TEST_DIR/run.out" 'echo started; sleep 300'
	wait_for 20 grep -q started "$DYNO_TEST_DIR/run.out"
	# No manager is needed for a one-off dyno.
	run --separate-stderr dyno-manager stop "$APPNAME" "$ONEOFF"
	assert_success
	wait_for 20 gone "$ONEOFF_PID"
	wait_status "$ONEOFF_PID"
	assert_equal "$status" 143
	grep -q "heroku\[$ONEOFF\]: Stopping all processes with SIGTERM" "$DYNO_TEST_DIR/run.out"
	grep -q "heroku\[$ONEOFF\]: Process exited with status 143" "$DYNO_TEST_DIR/run.out"
	# Its registration went with it; nothing comes back.
	[ ! -e "$DYNO_RUNDIR/apps/$APPNAME/oneoff/$ONEOFF" ]
	run --separate-stderr dyno-manager stop "$APPNAME" "$ONEOFF"
	assert_failure 66
}

@test "stop run: every one-off; one ignoring SIGTERM is killed after the grace (R12)" {
	deploy
	oneoff "$DYNO_TEST_DIR/a.out" 'trap "" TERM; echo ready; sleep 300'
	a=$ONEOFF_PID
	oneoff "$DYNO_TEST_DIR/b.out" 'sleep 300'
	b=$ONEOFF_PID
	wait_for 20 grep -q ready "$DYNO_TEST_DIR/a.out"
	start=$(date +%s)
	run --separate-stderr dyno-manager stop -w "$APPNAME" run
	assert_success
	end=$(date +%s)
	gone "$a"
	gone "$b"
	# Not before the 3 s grace, and not long after.
	[ $((end - start)) -ge 2 ] && [ $((end - start)) -le 15 ]
	grep -q 'Error R12 (Exit timeout) -> At least one process failed to exit within 3 seconds of SIGTERM' "$DYNO_TEST_DIR/a.out"
	grep -q 'Stopping remaining processes with SIGKILL' "$DYNO_TEST_DIR/a.out"
	grep -q 'Process exited with status 137' "$DYNO_TEST_DIR/a.out"
	grep -q 'Process exited with status 143' "$DYNO_TEST_DIR/b.out"
}

@test "a formation dyno and a one-off in one command" {
	deploy
	dyno-manager scale "$APPNAME" worker=1 >/dev/null
	start_mgr
	wait_for 60 is_up worker.1
	w=$(pid_of worker.1)
	oneoff "$DYNO_TEST_DIR/run.out" 'sleep 300'
	run --separate-stderr dyno-manager stop "$APPNAME" worker.1 "$ONEOFF"
	assert_success
	wait_for 20 gone "$ONEOFF_PID"
	wait_for 30 up_again worker.1 "$w"
}

@test "errors: usage 64, no app or dyno 66, no manager 69" {
	run --separate-stderr dyno-manager stop
	assert_failure 64
	run --separate-stderr dyno-manager stop "$APPNAME"
	assert_failure 64
	run --separate-stderr dyno-manager stop -x "$APPNAME" web
	assert_failure 64
	run --separate-stderr dyno-manager stop "$APPNAME" ../web
	assert_failure 64
	run --separate-stderr dyno-manager stop ../etc web
	assert_failure 64
	run --separate-stderr dyno-manager stop dynotest-nope web
	assert_failure 66
	[[ "$stderr" == *"dynotest-nope: no such app"* ]]
	deploy
	dyno-manager scale "$APPNAME" worker=1 >/dev/null
	run --separate-stderr dyno-manager stop "$APPNAME" web.7
	assert_failure 66
	[[ "$stderr" == *'no dyno or process type "web.7"'* ]]
	# A formation dyno the state files name, but no manager to ask.
	mkdir -p "$APPDIR/dynos/worker.1"
	echo down >"$APPDIR/dynos/worker.1/state"
	run --separate-stderr dyno-manager stop "$APPNAME" worker
	assert_failure 69
	# A stale one-off registration is not a dyno (nor a reason to kill).
	mkdir -p "$DYNO_RUNDIR/apps/$APPNAME/oneoff"
	printf 'pid=%s\ncgroup=dyno/%s/run.1-1\n' "$$" "$APPNAME" \
	    >"$DYNO_RUNDIR/apps/$APPNAME/oneoff/run.1234"
	run --separate-stderr dyno-manager stop "$APPNAME" run.1234
	assert_failure 66
	kill -0 $$
}

@test "a stale registration whose pid is now another one-off stops nothing" {
	deploy
	oneoff "$DYNO_TEST_DIR/run.out" 'sleep 300'
	f="$DYNO_RUNDIR/apps/$APPNAME/oneoff"
	# As if run.1111's dyno-run had been SIGKILLed and its pid reused.
	sed "s|^cgroup=.*|cgroup=dyno/$APPNAME/run.1111-99999|" "$f/$ONEOFF" \
	    >"$f/run.1111"
	run --separate-stderr dyno-manager stop "$APPNAME" run.1111
	assert_failure 66
	sleep 0.5
	kill -0 "$ONEOFF_PID"
	run --separate-stderr dyno-manager stop -w "$APPNAME" "$ONEOFF"
	assert_success
	gone "$ONEOFF_PID"
}
