#!/usr/bin/env bats
# syslog:// drains into a real rsyslog (imtcp): frames, L10, reconnects.
bats_require_minimum_version 1.5.0
load helper/common
load helper/logplexd

setup() {
	dyno_setup
	require_cmd rsyslogd
	lp_app myapp
	PORT=$(free_port)
}
teardown() { lp_cleanup; dyno_teardown; }

@test "a syslog drain delivers RFC 5424 with the token as hostname" {
	rsyslog_start "$PORT"
	lp_start
	run --separate-stderr dyno-logs drains add myapp "syslog://127.0.0.1:$PORT"
	assert_success
	token=$(sed -n 's/.*(\(d\.[0-9a-f-]*\))$/\1/p' <<<"$output")
	[ -n "$token" ]
	wait_for 10 lp_err_has_drain
	printf 'Listening on 5000\n' | logplex-send myapp app web.1
	printf 'at=info method=GET path="/"\n' | logplex-send myapp heroku router
	printf 'State changed from starting to up\n' | logplex-send myapp heroku web.1
	wait_for 20 received_has 'State changed'
	run cat "$DYNO_TEST_DIR/received"
	assert_line --index 0 --regexp "^190\|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}\+00:00\|$token\|app\|web\.1\|-\|-\|Listening on 5000$"
	assert_line --index 1 --regexp "^158\|[^|]+\|$token\|heroku\|router\|-\|-\|at=info method=GET path=\"/\"$"
	assert_line --index 2 --regexp "^45\|[^|]+\|$token\|heroku\|web\.1\|-\|-\|State changed from starting to up$"
	assert_equal "${#lines[@]}" 3
}

# The drain is known once a SIGUSR1 dump lists it.
lp_err_has_drain() {
	kill -USR1 "$LP_PID"
	lp_err_has "drain d."
}

@test "overflow drops the oldest and sends L10 when the receiver is back" {
	lp_conf 'drain_buffer = 10'
	printf 'd.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 syslog://127.0.0.1:%s\n' \
		"$PORT" >"$DYNO_ROOT/apps/myapp/drains"
	lp_start
	logplex-send -n 50 myapp app web.1
	wait_for 10 lp_log_has myapp 'line 50'
	rsyslog_start "$PORT"
	wait_for 60 received_has 'line 50'
	run cat "$DYNO_TEST_DIR/received"
	assert_line --index 0 --regexp '^172\|[0-9-]{10}T[0-9:]{8}\+00:00\|d\.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162\|heroku\|logplex\|-\|-\|Error L10 \(output buffer overflow\): 40 messages dropped since [0-9-]{10}T[0-9:]{8}\+00:00\.$'
	assert_line --index 1 --partial '|web.1|-|-|line 41'
	assert_line --index 10 --partial '|web.1|-|-|line 50'
	assert_equal "${#lines[@]}" 11
}

@test "a restarted receiver gets the lines sent after it is back" {
	rsyslog_start "$PORT"
	printf 'd.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 syslog://127.0.0.1:%s\n' \
		"$PORT" >"$DYNO_ROOT/apps/myapp/drains"
	lp_start
	printf 'before\n' | logplex-send myapp app web.1
	wait_for 20 received_has 'before'
	rsyslog_stop
	# Lines until logplexd notices the loss may be lost (as in logplex).
	for i in 1 2 3; do printf 'gap %s\n' "$i" | logplex-send myapp app web.1; done
	rsyslog_start "$PORT"
	wait_for 60 eval 'printf "after\n" | logplex-send myapp app web.1; received_has after'
}

@test "SIGTERM flushes queued lines to the drain, then exits 0" {
	rsyslog_start "$PORT"
	printf 'd.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 syslog://127.0.0.1:%s\n' \
		"$PORT" >"$DYNO_ROOT/apps/myapp/drains"
	lp_start
	logplex-send -n 500 myapp app web.1
	lp_stop
	wait_for 20 received_has '|line 500'
	run grep -c '|web.1|-|-|line ' "$DYNO_TEST_DIR/received"
	assert_output 500
}

# connected: logplexd holds a TCP connection to the receiver.
connected() {
	[ -n "$(ss -Htn state established "( dport = :$PORT )")" ]
}

@test "an idle connection is closed, and the next line opens a new one" {
	require_cmd ss
	lp_conf 'syslog_drain_idle = 1s'
	rsyslog_start "$PORT"
	printf 'd.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 syslog://127.0.0.1:%s\n' \
		"$PORT" >"$DYNO_ROOT/apps/myapp/drains"
	lp_start
	printf 'before\n' | logplex-send myapp app web.1
	wait_for 20 received_has 'before'
	wait_for 20 eval '! connected'
	printf 'after\n' | logplex-send myapp app web.1
	wait_for 20 received_has 'after'
	run grep -c '|web.1|-|-|' "$DYNO_TEST_DIR/received"
	assert_output 2
}

@test "a connection older than drain_max_ttl is closed without losing lines" {
	require_cmd ss
	lp_conf 'drain_max_ttl = 1s'
	rsyslog_start "$PORT"
	printf 'd.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 syslog://127.0.0.1:%s\n' \
		"$PORT" >"$DYNO_ROOT/apps/myapp/drains"
	lp_start
	logplex-send -n 200 myapp app web.1
	wait_for 20 received_has '|line 200'
	# Not idle (syslog_drain_idle is 240s), yet closed.
	wait_for 20 eval '! connected'
	logplex-send -n 200 myapp app web.2
	wait_for 20 received_has 'web.2|-|-|line 200'
	run grep -c '|web.[12]|-|-|line ' "$DYNO_TEST_DIR/received"
	assert_output 400
}

@test "a drain host name is resolved (off the loop) and delivered to" {
	getent hosts localhost | grep -q '^127\.0\.0\.1 ' ||
		skip 'localhost does not resolve to 127.0.0.1'
	rsyslog_start "$PORT"
	printf 'd.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 syslog://localhost:%s\n' \
		"$PORT" >"$DYNO_ROOT/apps/myapp/drains"
	lp_start -v
	printf 'by name\n' | logplex-send myapp app web.1
	wait_for 20 received_has 'by name'
	# The next connection resolves again: reload with a second app's drain.
	lp_app other
	printf 'd.1b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 syslog://localhost:%s\n' \
		"$PORT" >"$DYNO_ROOT/apps/other/drains"
	kill -HUP "$LP_PID"
	wait_for 20 eval 'printf "second\n" | logplex-send other app web.1; received_has "|second"'
}
