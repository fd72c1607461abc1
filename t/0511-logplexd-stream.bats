#!/usr/bin/env bats
# logplexd.stream: octet-counted lines on a unix stream socket, whole and in
# order whatever net.unix.max_dgram_qlen; hostile producers are bounded.
bats_require_minimum_version 1.5.0
load helper/common
load helper/logplexd

setup() {
	dyno_setup
	require_cmd python3
	lp_app myapp
}
teardown() { lp_cleanup; dyno_teardown; }

# lp_count NAME: a count of logplexd's SIGUSR1 dump (received, malformed);
# its stderr is emptied first.
lp_count() {
	: >"$DYNO_TEST_DIR/logplexd.err"
	kill -USR1 "$LP_PID"
	wait_for 10 lp_err_has "received="
	sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$DYNO_TEST_DIR/logplexd.err" | head -n 1
}

# hostile CASE: a python producer on logplexd.stream (see the cases below);
# it prints what it saw, and fails when the connection was not closed.
hostile() {
	python3 - "$DYNO_RUNDIR/logplexd.stream" "$@" <<-'PY'
	import socket, subprocess, sys, time
	path, case = sys.argv[1], sys.argv[2]
	def conn():
	    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	    s.connect(path)
	    return s
	def closed(s, deadline=10):
	    s.settimeout(deadline)
	    try:
	        return s.recv(1) == b""
	    except ConnectionResetError:
	        return True
	line = b"<190>1 2026-11-22T10:00:00.000000+00:00 myapp app web.1 - - "
	if case == "garbage":
	    s = conn(); s.sendall(b"hello, this is no frame\n")
	    print("closed" if closed(s) else "open")
	elif case == "oversized":
	    s = conn(); s.sendall(b"70000 " + line + b"x" * 1000)
	    print("closed" if closed(s) else "open")
	elif case == "crowd":
	    first = conn()
	    msg = line + b"the first producer's line"
	    first.sendall(b"%d %s" % (len(msg), msg))
	    time.sleep(0.2)
	    crowd = []
	    for i in range(int(sys.argv[3])):
	        s = conn(); s.sendall(b"120 " + line[:20]); crowd.append(s)
	    rc = subprocess.call(["logplex-send", "-S", "-n", "1000", "myapp",
	        "app", "web.2"])
	    print("sent %d" % rc)
	    print("first closed" if closed(first) else "first open")
	PY
}

@test "100,000 lines on the stream: all in history, in order" {
	lp_conf 'history = 100000'
	lp_start
	logplex-send -S -n 100000 myapp app web.1
	wait_for 20 lp_log_has myapp 'line 100000'
	assert_equal "$(lp_count received)" 100000
	dyno-logs myapp -n 1500 | sed 's/.*: line //' >"$DYNO_TEST_DIR/got"
	seq 98501 100000 | cmp - "$DYNO_TEST_DIR/got"
}

@test "garbage on the stream: counted, the connection closed, others served" {
	lp_start
	run --separate-stderr hostile garbage
	assert_output closed
	run --separate-stderr hostile oversized
	assert_output closed
	lp_err_has 'not octet-counted framing'
	printf 'still here\n' | logplex-send -S myapp app web.1
	wait_for 10 lp_log_has myapp 'still here'
	assert_equal "$(lp_count malformed)" 2
}

@test "more producers than the table holds: the quietest go, no line lost" {
	lp_start
	run --separate-stderr hostile crowd 300
	assert_line 'sent 0'
	assert_line 'first closed'
	lp_log_has myapp "app[web.1]: the first producer's line"
	wait_for 10 lp_log_has myapp 'app[web.2]: line 1000'
	lp_err_has 'stream producers: the quietest disconnected'
	# Every line of the new producer, none of the cut frames.
	assert_equal "$(lp_count received)" 1001
	assert_equal "$(lp_count malformed)" 0
}

@test "SIGTERM removes logplexd.stream; a second logplexd makes it again" {
	lp_start
	[ -S "$DYNO_RUNDIR/logplexd.stream" ]
	lp_stop
	[ ! -e "$DYNO_RUNDIR/logplexd.stream" ]
	lp_start
	printf 'again\n' | logplex-send -S myapp app web.1
	wait_for 10 lp_log_has myapp 'again'
}
