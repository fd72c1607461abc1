#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-route: H-codes from dynos that misbehave on purpose.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-route

setup() { dyno_setup; }
teardown() { route_cleanup; dyno_teardown; }

# status_of HOST: the HTTP status a GET / gets.
status_of() {
	route_curl "$1" / -o /dev/null -w '%{http_code}'
}

@test "H12: no first byte within response_timeout" {
	printf '[router]\nresponse_timeout = 1s\n' | conf_put
	route_backend hang web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr status_of myapp.localhost
	assert_output 503
	wait_for 10 route_log_has 'at=error code=H12 desc="Request timeout" method=GET path="/" host=myapp.localhost .* dyno=web.1 connect=[0-9]+ms service=[0-9]+ms status=503 bytes=0 protocol=http'
}

@test "H13: the dyno closes without answering" {
	route_backend close web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr status_of myapp.localhost
	assert_output 503
	wait_for 10 route_log_has 'code=H13 desc="Connection closed without response"'
}

@test "H18: the dyno resets mid-response" {
	route_backend reset web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr status_of myapp.localhost
	wait_for 10 route_log_has 'sock=backend at=error code=H18 desc="Server Request Interrupted"'
}

@test "H17: a status line without a reason phrase" {
	route_backend badstatus web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr status_of myapp.localhost
	assert_output 502
	wait_for 10 route_log_has 'code=H17 desc="Poorly formatted HTTP response"'
}

@test "H15: the dyno goes silent mid-stream" {
	printf '[router]\nidle_timeout = 1s\n' | conf_put
	route_backend silent web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr status_of myapp.localhost
	wait_for 10 route_log_has 'code=H15 desc="Idle connection"'
}

@test "H21 after trying every dyno; a refusing dyno is skipped while others work" {
	route_backend ok web.2
	good=$BACKEND_PORT
	dead1=$(free_port)
	dead2=$(free_port)
	route_app myapp
	route_routes myapp "web.1 $dead1" "web.3 $dead2"
	route_start
	run --separate-stderr status_of myapp.localhost
	assert_output 503
	wait_for 10 route_log_has 'code=H21 desc="Backend connection refused"'
	route_routes myapp "web.1 $dead1" "web.2 $good" "web.3 $dead2"
	wait_for 10 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: myapp.localhost' http://127.0.0.1:$ROUTER_PORT/)\" = 200 ]"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		run --separate-stderr status_of myapp.localhost
		assert_output 200
	done
}

@test "H14 without web dynos, H10 when they all crashed" {
	route_app myapp
	route_start
	run --separate-stderr status_of myapp.localhost
	assert_output 503
	wait_for 10 route_log_has 'code=H14 desc="No web processes running"'
	mkdir -p "$DYNO_ROOT/apps/myapp/dynos/web.1" "$DYNO_ROOT/apps/myapp/dynos/web.2"
	echo crashed >"$DYNO_ROOT/apps/myapp/dynos/web.1/state"
	echo crashed >"$DYNO_ROOT/apps/myapp/dynos/web.2/state"
	run --separate-stderr status_of myapp.localhost
	assert_output 503
	wait_for 10 route_log_has 'code=H10 desc="App crashed"'
}

# waiting_requests N: the router's SIGUSR1 dump shows N waiting for a dyno.
waiting_requests() {
	kill -USR1 "$ROUTER_PID"
	grep -q "waiting for a dyno $1," "$ROUTER_LOG"
}

@test "H99 when every dyno stays quarantined for the connect budget" {
	# The budget is 15 connect timeouts (1.5 s here) unless connect_wait.
	printf '[router]\nconnect_timeout = 100ms\nquarantine = 1h\n' | conf_put
	route_app myapp
	route_routes myapp "web.1 $(free_port)"
	route_start
	run --separate-stderr status_of myapp.localhost
	assert_output 503
	wait_for 10 route_log_has 'code=H21 '
	run --separate-stderr status_of myapp.localhost
	assert_output 503
	wait_for 10 route_log_has 'at=error code=H99 desc="Platform error" .* status=503'
}

@test "connect_wait sets the connect budget" {
	# 15 connect timeouts would be 30 s: connect_wait cuts it to 0.3 s.
	printf '[router]\nconnect_timeout = 2s\nconnect_wait = 300ms\nquarantine = 1h\n' \
		| conf_put
	route_app myapp
	route_routes myapp "web.1 $(free_port)"
	route_start
	run --separate-stderr status_of myapp.localhost
	assert_output 503
	SECONDS=0
	run --separate-stderr status_of myapp.localhost
	assert_output 503
	[ "$SECONDS" -lt 10 ]
	wait_for 10 route_log_has 'at=error code=H99 desc="Platform error" .* status=503'
}

@test "a request waits while every dyno is quarantined, then takes a new one" {
	printf '[router]\nconnect_timeout = 2s\nquarantine = 1h\n' | conf_put
	route_backend ok web.2
	dead=$(free_port)
	route_app myapp
	route_routes myapp "web.1 $dead"
	route_start
	run --separate-stderr status_of myapp.localhost
	assert_output 503
	status_of myapp.localhost >"$DYNO_TEST_DIR/status" 2>&1 &
	curl_pid=$!
	wait_for 20 waiting_requests 1
	route_routes myapp "web.1 $dead" "web.2 $BACKEND_PORT"
	wait "$curl_pid"
	run cat "$DYNO_TEST_DIR/status"
	assert_output 200
	run ! route_log_has 'code=H99'
}

@test "while web dynos boot a request waits for one to be up, H20 if none" {
	printf '[router]\nconnect_timeout = 2s\n' | conf_put
	route_backend ok web.1
	route_app myapp
	mkdir -p "$DYNO_ROOT/apps/myapp/dynos/web.1"
	echo starting >"$DYNO_ROOT/apps/myapp/dynos/web.1/state"
	route_start
	status_of myapp.localhost >"$DYNO_TEST_DIR/status" 2>&1 &
	curl_pid=$!
	wait_for 20 waiting_requests 1
	echo up >"$DYNO_ROOT/apps/myapp/dynos/web.1/state"
	route_routes myapp "web.1 $BACKEND_PORT"
	wait "$curl_pid"
	run cat "$DYNO_TEST_DIR/status"
	assert_output 200
	kill "$ROUTER_PID"
	wait "$ROUTER_PID" || true
	rm "$DYNO_TEST_DIR/ready"
	printf '[router]\nconnect_timeout = 100ms\n' | conf_put
	rm "$DYNO_ROOT/apps/myapp/routes"
	echo starting >"$DYNO_ROOT/apps/myapp/dynos/web.1/state"
	route_start
	run --separate-stderr status_of myapp.localhost
	assert_output 503
	wait_for 10 route_log_has 'at=error code=H20 desc="App boot timeout" .* status=503'
}

@test "H27: the client goes away before the answer" {
	route_backend hang web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr curl -sS --max-time 1 -H "Host: myapp.localhost" \
		"http://127.0.0.1:$ROUTER_PORT/"
	assert_failure
	wait_for 10 route_log_has 'sock=client at=warning code=H27 desc="Client Request Interrupted" .* status=499'
}
