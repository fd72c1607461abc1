#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-route: maintenance mode (release maintenance on|off): 503, H80.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-route

setup() {
	dyno_setup
	mkdir -p "$DYNO_TEST_DIR/app"
	printf 'web: ./server\n' >"$DYNO_TEST_DIR/app/Procfile"
	release create dynotest-mt --slug "$DYNO_TEST_DIR/app" >/dev/null 2>&1
}
teardown() { route_cleanup; dyno_teardown; }

status_of() {
	route_curl dynotest-mt.localhost "$1" -o /dev/null -w '%{http_code}'
}

@test "maintenance on: 503, the maintenance page and H80; off: the dyno again" {
	route_backend ok web.1
	route_routes dynotest-mt "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr status_of /
	assert_output 200
	release maintenance on dynotest-mt
	# The router watches app.conf: no signal needed.
	wait_for 10 bash -c '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "Host: dynotest-mt.localhost" "http://127.0.0.1:'"$ROUTER_PORT"'/x?y=1")" = 503 ]'
	run --separate-stderr route_curl dynotest-mt.localhost /other -i
	assert_line --partial 'HTTP/1.1 503 Service Unavailable'
	assert_line --partial '<title>Offline for Maintenance</title>'
	assert_line --partial 'This app is undergoing maintenance right now.'
	run --separate-stderr route_curl dynotest-mt.localhost / -X POST \
	    -d 'a=1' -o /dev/null -w '%{http_code}'
	assert_output 503
	wait_for 10 route_log_has 'heroku\[router\]: at=info code=H80 desc="Maintenance mode" method=GET path="/other" host=dynotest-mt.localhost request_id=[0-9a-f-]{36} fwd="127.0.0.1" dyno= connect= service= status=503 bytes=0 protocol=http'
	route_log_has 'at=info code=H80 desc="Maintenance mode" method=POST path="/"'
	# The dyno got none of these requests and still runs.
	! route_log_has 'dyno=web.1 connect=[0-9]+ms service=[0-9]+ms status=200 .*path="/other"'
	release maintenance off dynotest-mt
	wait_for 10 bash -c '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "Host: dynotest-mt.localhost" "http://127.0.0.1:'"$ROUTER_PORT"'/")" = 200 ]'
}

@test "maintenance with no web dyno is still H80, not H14" {
	route_start
	release maintenance on dynotest-mt
	wait_for 10 bash -c '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "Host: dynotest-mt.localhost" "http://127.0.0.1:'"$ROUTER_PORT"'/")" = 503 ]'
	wait_for 10 route_log_has 'code=H80'
	! route_log_has 'code=H14'
}

@test "a garbage maintenance value serves the app" {
	route_backend ok web.1
	route_routes dynotest-mt "web.1 $BACKEND_PORT"
	printf '[app]\nmaintenance=maybe\n' >"$DYNO_ROOT/apps/dynotest-mt/app.conf"
	route_start
	run --separate-stderr status_of /
	assert_output 200
}

@test "a broken app.conf keeps the last good settings, said once" {
	route_backend ok web.1
	route_routes dynotest-mt "web.1 $BACKEND_PORT"
	release maintenance on dynotest-mt
	route_start
	run --separate-stderr status_of /
	assert_output 503
	# Before lib/appconf, anything but a clear yes took the app out of
	# maintenance.
	printf '[app]\nmaintenance=maybe\n' >"$DYNO_TEST_DIR/app.conf"
	mv "$DYNO_TEST_DIR/app.conf" "$DYNO_ROOT/apps/dynotest-mt/app.conf"
	wait_for 10 route_log_has "app.conf:2: maintenance=: not true or false; dynotest-mt keeps its settings"
	run --separate-stderr status_of /
	assert_output 503
	# Every app is reread when another appears (seen once it answers);
	# the unchanged app.conf is not said again.
	route_app dynotest-mt2
	route_routes dynotest-mt2 "web.1 $BACKEND_PORT"
	wait_for 10 bash -c '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "Host: dynotest-mt2.localhost" "http://127.0.0.1:'"$ROUTER_PORT"'/")" = 200 ]'
	run --separate-stderr status_of /
	assert_output 503
	[ "$(grep -c 'not true or false' "$ROUTER_LOG")" = 1 ]
}
