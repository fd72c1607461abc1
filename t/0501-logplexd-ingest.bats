#!/usr/bin/env bats
# logplexd ingest: datagrams and TCP, history, splitting, bad input, signals.
bats_require_minimum_version 1.5.0
load helper/common
load helper/logplexd

setup() {
	dyno_setup
	lp_app myapp
	lp_app otherapp
}
teardown() { lp_cleanup; dyno_teardown; }

@test "lines come back in display form, last 100 by default" {
	lp_start
	printf 'Listening on 5000\n' | logplex-send myapp app web.1
	logplex-send -n 300 myapp heroku router
	run --separate-stderr dyno-logs myapp -n 1
	assert_success
	assert_output --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}\+00:00 heroku\[router\]: line 300$'
	run --separate-stderr dyno-logs myapp
	assert_success
	assert_equal "${#lines[@]}" 100
	assert_line --index 0 --partial 'heroku[router]: line 201'
	run --separate-stderr dyno-logs myapp -n 1500 -d web.1
	assert_output --regexp ' app\[web\.1\]: Listening on 5000$'
}

@test "history keeps the last 1500 lines" {
	lp_start
	logplex-send -n 2000 myapp app web.1
	run --separate-stderr dyno-logs myapp -n 1500
	assert_success
	assert_equal "${#lines[@]}" 1500
	assert_line --index 0 --partial 'app[web.1]: line 501'
	assert_line --index 1499 --partial 'app[web.1]: line 2000'
	run --separate-stderr dyno-logs myapp -n 1501
	assert_failure 64
	run --separate-stderr dyno-logs otherapp -n 1500
	assert_success
	assert_output ''
}

@test "lines over 10000 bytes are split into 10000-byte messages" {
	lp_start
	python3 -c 'print("a" * 10000 + "b" * 10000 + "c" * 5000)' |
		logplex-send myapp app web.1
	run --separate-stderr dyno-logs myapp
	assert_success
	assert_equal "${#lines[@]}" 3
	[[ ${lines[0]} == *"app[web.1]: $(printf 'a%.0s' {1..10000})" ]]
	[[ ${lines[1]} == *"app[web.1]: $(printf 'b%.0s' {1..10000})" ]]
	[[ ${lines[2]} == *"app[web.1]: $(printf 'c%.0s' {1..5000})" ]]
}

@test "malformed and oversized datagrams are counted and dropped" {
	lp_start -v
	printf '%s\n' 'garbage' '<999>1 x a b c - - m' '<190>1 ts app app web.1 msg' \
		'<190>1 ts a/b app web.1 - - slash in app' '' | logplex-send -r
	python3 -c 'print("<190>1 ts myapp app web.1 - - " + "x" * 70000)' |
		logplex-send -r
	printf 'still fine\n' | logplex-send myapp app web.1
	wait_for 10 lp_log_has myapp 'still fine'
	run --separate-stderr dyno-logs myapp
	assert_output --regexp '^[^ ]+ app\[web\.1\]: still fine$'
	# One warning, not one per datagram (rate-limited).
	run grep -c 'malformed log message dropped' "$DYNO_TEST_DIR/logplexd.err"
	assert_output 1
	kill -USR1 "$LP_PID"
	wait_for 10 lp_err_has 'malformed=6'
}

@test "dyno-logs says logplexd is not running in one line, exit 69" {
	run --separate-stderr dyno-logs myapp
	assert_failure 69
	assert_equal "$stderr" "dyno-logs: logplexd is not running (no $DYNO_RUNDIR/logplexd.tail)"
	assert_output ''
}

@test "-n checks the configuration" {
	run --separate-stderr logplexd -n
	assert_success
	printf '[logs]\nhistory = lots\n' | conf_put
	run --separate-stderr logplexd -n
	assert_failure 78
	[[ $stderr == 'logplexd: '*history* ]]
	run --separate-stderr logplexd --bogus
	assert_failure 64
	assert_equal "${stderr_lines[-1]}" 'usage: logplexd [-nv] [-l addr:port] [--ready-fd fd]'
}

@test "SIGTERM exits 0 and removes sockets and pid file; one instance only" {
	lp_start
	[ -S "$DYNO_RUNDIR/logplexd.sock" ] && [ -S "$DYNO_RUNDIR/logplexd.tail" ]
	assert_equal "$(cat "$DYNO_RUNDIR/logplexd.pid")" "$LP_PID"
	run --separate-stderr logplexd
	assert_failure 75
	[[ $stderr == *'already running'* ]]
	lp_stop
	[ ! -e "$DYNO_RUNDIR/logplexd.sock" ]
	[ ! -e "$DYNO_RUNDIR/logplexd.tail" ]
	[ ! -e "$DYNO_RUNDIR/logplexd.pid" ]
}

@test "SIGHUP with a bad dyno.conf keeps running and says why" {
	printf '[logs]\nhistory = 10\n' | conf_put
	lp_start
	logplex-send -n 20 myapp app web.1
	run --separate-stderr dyno-logs myapp -n 100
	assert_equal "${#lines[@]}" 10
	printf '[logs]\nhistory = nope\n' | conf_put
	kill -HUP "$LP_PID"
	wait_for 10 lp_err_has 'keeping the running configuration'
	printf '[logs]\nhistory = 5\n' | conf_put
	kill -HUP "$LP_PID"
	wait_for 10 eval '[ "$(dyno-logs myapp -n 100 | wc -l)" -eq 5 ]'
	run --separate-stderr dyno-logs myapp -n 100
	assert_line --index 4 --partial 'line 20'
}

@test "its sockets are 0600 whatever the umask; after a crash a new one takes them" {
	local s um
	um=$(umask)
	umask 000
	lp_start
	umask "$um"
	for s in logplexd.sock logplexd.stream logplexd.tail; do
		run -0 stat -c '%F %a' "$DYNO_RUNDIR/$s"
		assert_output "socket 600"
	done
	kill -KILL "$LP_PID"
	wait "$LP_PID" || true
	lp_start
	printf 'after\n' | logplex-send myapp app web.1
	run -0 dyno-logs myapp -n 1
	assert_output --partial 'app[web.1]: after'
	# No temporary name is left beside them.
	run -0 find "$DYNO_RUNDIR" -maxdepth 1 -name 'logplexd.*.*'
	assert_output ""
}
