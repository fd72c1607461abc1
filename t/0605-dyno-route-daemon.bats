#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-route as a daemon: options, pid file, signals, workers.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-route

setup() { dyno_setup; }
teardown() { route_cleanup; dyno_teardown; }

# inflight_seen: a SIGUSR1 dump shows one request being proxied.
inflight_seen() {
	kill -USR1 "$ROUTER_PID"
	grep -q "proxy 1" "$ROUTER_LOG"
}

@test "usage errors exit 64; -n checks the configuration" {
	run --separate-stderr dyno-route --bogus
	assert_failure 64
	[[ $stderr == *"usage: dyno-route"* ]]
	run --separate-stderr dyno-route -n
	assert_success
	printf '[router]\nresponse_timeout = soon\n' | conf_put
	run --separate-stderr dyno-route -n
	assert_failure 78
	[[ $stderr == "dyno-route: "* ]]
	run --separate-stderr dyno-route -n --tls-cert /nonexistent --tls-key /nonexistent
	assert_failure 78
}

@test "--help prints the synopsis of the man page" {
	run --separate-stderr dyno-route --help
	assert_success
	usage=$(echo "$output" | sed '/^$/,$d')
	synopsis=$(MANWIDTH=200 mandoc -Tascii -O width=200 "$TOP/man/dyno-route.8" | col -b |
		sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' | tr -s ' \n' ' ' | sed 's/^ //;s/ $//')
	[ "$(echo "$usage" | sed 's/^usage: //' | tr -s ' \n' ' ' | sed 's/ $//')" = "$synopsis" ]
	run -64 --separate-stderr dyno-route --bogus
	[[ "$stderr" == *"usage: dyno-route"* ]]
}

@test "pid file, SIGUSR1 dump, SIGTERM finishes the request in flight then exits 0" {
	route_backend slow web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	[ "$(cat "$DYNO_RUNDIR/dyno-route.pid")" = "$ROUTER_PID" ]
	kill -USR1 "$ROUTER_PID"
	wait_for 10 grep -q "app myapp: 1 routes" "$ROUTER_LOG"
	route_curl myapp.localhost /inflight >"$DYNO_TEST_DIR/out" 2>&1 &
	curl_pid=$!
	wait_for 10 inflight_seen
	kill -TERM "$ROUTER_PID"
	rc=0
	wait "$ROUTER_PID" || rc=$?
	[ "$rc" -eq 0 ]
	wait "$curl_pid"
	grep -q "GET /inflight HTTP/1.1" "$DYNO_TEST_DIR/out"
	[ ! -e "$DYNO_RUNDIR/dyno-route.pid" ]
}

@test "SIGHUP re-reads routes; a bad new config keeps the old one running" {
	route_backend ok web.1
	p1=$BACKEND_PORT
	route_backend ok web.2
	route_app myapp
	route_routes myapp "web.1 $p1"
	route_start
	run --separate-stderr route_curl myapp.localhost /
	assert_line "dyno=web.1"
	printf 'web.2 127.0.0.1:%s\n' "$BACKEND_PORT" >"$DYNO_ROOT/apps/myapp/routes"
	kill -HUP "$ROUTER_PID"
	wait_for 10 bash -c "curl -s -H 'Host: myapp.localhost' http://127.0.0.1:$ROUTER_PORT/ | grep -q dyno=web.2"
	printf '[router]\nidle_timeout = never\n' | conf_put
	kill -HUP "$ROUTER_PID"
	wait_for 10 grep -q "keeping the running configuration" "$ROUTER_LOG"
	run --separate-stderr route_curl myapp.localhost /
	assert_line "dyno=web.2"
}

@test "--workers 2: both workers serve, and SIGTERM stops them all" {
	route_backend ok web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start --workers 2
	for _ in 1 2 3 4 5 6 7 8; do
		run --separate-stderr route_curl myapp.localhost /
		assert_line "dyno=web.1"
	done
	[ "$(pgrep -c -P "$ROUTER_PID")" -eq 2 ]
	kill -TERM "$ROUTER_PID"
	rc=0
	wait "$ROUTER_PID" || rc=$?
	[ "$rc" -eq 0 ]
}
