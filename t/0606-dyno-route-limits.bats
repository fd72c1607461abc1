#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-route: one machine cannot deny the router to everyone (issue 15 item 2).
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-route

setup() {
	require_cmd ss prlimit
	dyno_setup
	route_backend ok web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
}
teardown() { route_cleanup; dyno_teardown; }

flood() { dyno-route-flood.py "$1" "$ROUTER_PORT" "${@:2}"; }

# get [SRC]: "STATUS MS" of a GET from 127.0.0.1 or SRC.
get() { flood get myapp.localhost 5 "$@"; }
served() { get "$@" | grep -q '^200 '; }

# hold N SRC SECS: N half heads from SRC in the background; waits until
# it has counted the ones the router kept, into $DYNO_TEST_DIR/hold.
# unhold ends it early: its connections close.
hold() {
	dyno-route-flood.py hold "$ROUTER_PORT" "$@" >"$DYNO_TEST_DIR/hold" 3>&- &
	HOLD_PID=$!
	echo "$HOLD_PID" >>"$DYNO_TEST_DIR/pids"
	wait_for 30 grep -q kept "$DYNO_TEST_DIR/hold"
}

unhold() {
	kill "$HOLD_PID" 2>/dev/null || true
	wait "$HOLD_PID" || true
}

close_wait() {
	ss -Htan state close-wait "( sport = :$ROUTER_PORT )" | wc -l
}

# cpu_ms: the router's user+system time so far.
cpu_ms() {
	awk -v t="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / t) }' \
		"/proc/$ROUTER_PID/stat"
}

@test "slowloris: a head trickling in gets 408 at request_head_timeout" {
	printf '[router]\nrequest_head_timeout = 1s\n' | conf_put
	route_start
	run --separate-stderr flood trickle myapp.localhost 8
	assert_output --regexp '^408 (1|2)\.'
	wait_for 5 route_log_has 'H28 request head not whole within request_head_timeout'
	run --separate-stderr get
	assert_output --regexp '^200 '
}

@test "a half head then a hang-up: closed at once, no CLOSE-WAIT" {
	route_start
	run --separate-stderr flood halfclose 300
	assert_output "sent 300 failed 0"
	wait_for 5 test "$(close_wait)" -eq 0
	run --separate-stderr get
	assert_output --regexp '^200 '
}

@test "out of fds: the router sheds without spinning, and serves after" {
	printf '[router]\nmax_connections_per_ip = 0\n' | conf_put
	ROUTE_NOFILE=64 route_start
	wait_for 5 route_log_has 'open file limit 64 is below'
	hold 200 127.0.0.2 4
	c0=$(cpu_ms)
	t0=$(date +%s%N)
	flood halfclose 100 127.0.0.3 >/dev/null
	sleep 1.5
	c1=$(cpu_ms)
	t1=$(date +%s%N)
	used=$((c1 - c0)) wall=$(((t1 - t0) / 1000000))
	echo "router CPU ${used} ms over ${wall} ms" >&3
	[ "$used" -lt $((wall / 4)) ]
	kept=$(awk '{ print $2 }' "$DYNO_TEST_DIR/hold")
	[ "$kept" -lt 64 ]
	wait_for 5 route_log_has 'accept: Too many open files; new connections closed at once'
	wait "$HOLD_PID"
	wait_for 5 served
}

@test "max_connections_per_ip: the excess of one address gets 503, others are served" {
	printf '[router]\nmax_connections_per_ip = 5\n' | conf_put
	route_start
	hold 10 127.0.0.2 60
	run --separate-stderr cat "$DYNO_TEST_DIR/hold"
	assert_output "kept 5"
	run --separate-stderr get 127.0.0.2
	assert_output --regexp '^503 '
	run --separate-stderr get 127.0.0.3
	assert_output --regexp '^200 '
	wait_for 5 route_log_has '127.0.0.2: max_connections_per_ip reached'
	unhold
	wait_for 5 served 127.0.0.2
}

@test "max_connections: the excess gets 503 until connections close" {
	printf '[router]\nmax_connections = 5\nmax_connections_per_ip = 0\n' | conf_put
	route_start
	hold 10 127.0.0.2 60
	run --separate-stderr cat "$DYNO_TEST_DIR/hold"
	assert_output "kept 5"
	run --separate-stderr get 127.0.0.3
	assert_output --regexp '^503 '
	wait_for 5 route_log_has 'max_connections reached'
	unhold
	wait_for 5 served 127.0.0.3
}
