#!/usr/bin/env bats
# dyno-manager APP: a dyno's output to logplexd over logplexd.stream, none
# lost whatever net.unix.max_dgram_qlen (this machine's value is left as it
# is): bursts, a logplexd restarted mid-stream, a drain that cannot keep up.
bats_require_minimum_version 1.5.0
load helper/common
load helper/manager
load helper/logplexd

APPNAME=dynotest-logs

setup() {
	manager_setup
	require_cmd rsyslogd
	PORT=$(free_port)
}

teardown() {
	manager_teardown 40
	lp_cleanup
	dyno_teardown
}

# procfile N [PAUSE]: a burst type printing "line 1" to "line N", with a
# PAUSE s rest after every 1000 lines when given, then staying up.
procfile() {
	cat >"$SLUG/burst.py" <<-'PY'
	import sys, time
	n, p = int(sys.argv[1]), float(sys.argv[2])
	for i in range(1, n + 1):
	    sys.stdout.write("line %d\n" % i)
	    if i % 1000 == 0 and p:
	        sys.stdout.flush()
	        time.sleep(p)
	sys.stdout.flush()
	time.sleep(4242)
	PY
	printf 'burst: exec python3 burst.py %s %s\n' "$1" "${2:-0}" >"$SLUG/Procfile"
	deploy
}

drain_to_port() {
	printf 'd.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 syslog://127.0.0.1:%s\n' \
		"$PORT" >"$APPDIR/drains"
}

# app_history: how many lines logplexd holds for the app (SIGUSR1 dump).
app_history() {
	: >"$DYNO_TEST_DIR/logplexd.err"
	kill -USR1 "$LP_PID"
	wait_for 10 lp_err_has "app $APPNAME history="
	sed -n "s/^app $APPNAME history=\([0-9]*\).*/\1/p" \
		"$DYNO_TEST_DIR/logplexd.err"
}

# drain_got: the numbers of the burst's lines the drain received, in order.
drain_got() {
	sed -n 's/.*|burst\.1|-|-|line //p' "$DYNO_TEST_DIR/received"
}

@test "a burst of 100,000 lines: all in history, in order, none on stderr" {
	printf '[logs]\nhistory = 101000\n' >>"$DYNO_CONF"
	procfile 100000
	lp_start
	dyno-manager scale "$APPNAME" burst=1 >/dev/null
	start_mgr
	wait_for 120 lp_log_has "$APPNAME" 'app[burst.1]: line 100000'
	# Starting process, the state changes, then the 100,000 lines.
	[ "$(app_history)" -ge 100000 ]
	dyno-logs "$APPNAME" -n 1500 -d burst.1 --source app |
		sed 's/.*: line //' >"$DYNO_TEST_DIR/got"
	seq 98501 100000 | cmp - "$DYNO_TEST_DIR/got"
	assert_equal "$(log_count 'app\[burst.1\]')" 0
	assert_equal "$(log_count 'L10')" 0
}

@test "logplexd restarted mid-stream: the manager reconnects, every line reaches the drain once, in order" {
	printf '[logs]\ndrain_buffer = 60000\n' >>"$DYNO_CONF"
	procfile 40000 0.05
	drain_to_port
	rsyslog_start "$PORT"
	lp_start
	dyno-manager scale "$APPNAME" burst=1 >/dev/null
	start_mgr
	wait_for 60 received_has '|burst.1|-|-|line 5000'
	lp_stop
	# Stopped mid-stream: the burst was not over.
	run received_has '|burst.1|-|-|line 40000'
	assert_failure
	lp_start
	wait_for 120 received_has '|burst.1|-|-|line 40000'
	drain_got >"$DYNO_TEST_DIR/got"
	seq 1 40000 | cmp - "$DYNO_TEST_DIR/got"
	assert_equal "$(log_count 'app\[burst.1\]')" 0
	run grep -c L10 "$DYNO_TEST_DIR/received"
	assert_output 0
}

@test "a drain that cannot keep up: the oldest dropped beyond its buffer, counted in L10" {
	printf '[logs]\ndrain_buffer = 1000\nhistory = 21000\n' >>"$DYNO_CONF"
	procfile 20000
	drain_to_port
	lp_start
	dyno-manager scale "$APPNAME" burst=1 >/dev/null
	start_mgr
	wait_for 120 lp_log_has "$APPNAME" 'app[burst.1]: line 20000'
	[ "$(app_history)" -ge 20000 ]
	rsyslog_start "$PORT"
	wait_for 90 received_has '|burst.1|-|-|line 20000'
	run grep -c 'Error L10 (output buffer overflow): [0-9]* messages dropped since' \
		"$DYNO_TEST_DIR/received"
	assert_output 1
	dropped=$(sed -n 's/.*L10 (output buffer overflow): \([0-9]*\) messages.*/\1/p' \
		"$DYNO_TEST_DIR/received")
	# What the drain got and what L10 counts make the whole burst (and
	# the manager's own lines, which came first).
	got=$(drain_got | wc -l)
	[ "$got" -le 1000 ]
	[ "$((got + dropped))" -ge 20000 ]
	drain_got | tail -n 1 | grep -qx 20000
	assert_equal "$(log_count 'app\[burst.1\]')" 0
}

@test "a logplexd without logplexd.stream gets datagrams, none lost" {
	printf '[logs]\nhistory = 4000\n' >>"$DYNO_CONF"
	procfile 3000
	lp_start
	rm "$DYNO_RUNDIR/logplexd.stream"
	dyno-manager scale "$APPNAME" burst=1 >/dev/null
	start_mgr
	wait_for 60 lp_log_has "$APPNAME" 'app[burst.1]: line 3000'
	dyno-logs "$APPNAME" -n 1500 -d burst.1 --source app |
		sed 's/.*: line //' >"$DYNO_TEST_DIR/got"
	seq 1501 3000 | cmp - "$DYNO_TEST_DIR/got"
	assert_equal "$(log_count 'app\[burst.1\]')" 0
}
