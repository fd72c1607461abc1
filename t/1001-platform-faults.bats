#!/usr/bin/env bats
# Each daemon killed with SIGKILL during traffic: the platform recovers.
bats_require_minimum_version 1.5.0
load helper/common
load helper/platform

APPNAME=dynotest-fault

setup() {
	require_root
	dyno_setup
	printf '[dyno]\ngrace = 3s\n[manager]\nnetwork = host\n' | conf_put
	ROUTER_PORT=$(free_port)
	TRAFFIC=
	# the example app under a name of its own, so that counting its
	# processes never counts another suite's
	SLUG="$DYNO_TEST_DIR/slug"
	cp -r "$TOP/examples/python-web" "$SLUG"
	mv "$SLUG/app.py" "$SLUG/faultapp.py"
	printf 'web: python3 faultapp.py\n' >"$SLUG/Procfile"
}

teardown() {
	[ -n "$TRAFFIC" ] && kill "$TRAFFIC" 2>/dev/null
	pf_cleanup
	stop_app_dynos "$APPNAME"
	dyno_teardown
}

# traffic N: N requests, 50 ms apart, each status code on a line of codes
traffic() {
	local i
	for i in $(seq "$1"); do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 3 \
			-H "Host: $APPNAME.localhost" \
			"http://127.0.0.1:$ROUTER_PORT/traffic-$i" >>"$DYNO_TEST_DIR/codes"
		sleep 0.05
	done
}

serving() {
	pf_get "$APPNAME.localhost" /probe
}

both_up() {
	[ "$(cat "$DYNO_ROOT/apps/$APPNAME/dynos/web.1/state")" = up ] &&
		[ "$(cat "$DYNO_ROOT/apps/$APPNAME/dynos/web.2/state")" = up ] &&
		pf_routes "$APPNAME" 2
}

@test "SIGKILL of dyno-route, dyno-manager and logplexd: each comes back" {
	pf_start logplexd logplexd
	pf_start dyno-route dyno-route --listen "127.0.0.1:$ROUTER_PORT"
	release create "$APPNAME" --slug "$SLUG" >/dev/null 2>&1
	dyno-manager scale "$APPNAME" web=2 >/dev/null
	pf_start dyno-manager dyno-manager "$APPNAME"
	wait_for 60 both_up
	traffic 600 3>&- &
	TRAFFIC=$!

	# the router: requests fail while it is gone, and resume
	kill -KILL "$(pf_pid dyno-route)"
	pf_start dyno-route dyno-route --listen "127.0.0.1:$ROUTER_PORT"
	wait_for 30 serving

	# the manager: a new one stops the orphaned dynos and starts the
	# formation again, never two of one dyno
	kill -KILL "$(pf_pid dyno-manager)"
	pf_start dyno-manager dyno-manager "$APPNAME"
	wait_for 90 both_up
	wait_for 30 serving
	assert_equal "$(app_pids "$APPNAME" '^python3 faultapp.py' | wc -l)" 2
	run ls "$DYNO_ROOT/apps/$APPNAME/dynos"
	assert_output $'web.1\nweb.2'

	# logplexd: once it is back, every line sent reaches the history
	kill -KILL "$(pf_pid logplexd)"
	pf_start logplexd logplexd
	local i
	for i in $(seq 50); do
		pf_get "$APPNAME.localhost" "/mark-$i" >/dev/null
	done
	wait_for 20 bash -c "[ \$(dyno-logs $APPNAME -n 1500 --dyno router | grep -c 'path=\"/mark-') -eq 50 ]"
	run -0 dyno-logs "$APPNAME" -n 1500 --dyno router
	for i in $(seq 50); do
		assert_output --partial "path=\"/mark-$i\" "
	done

	# the traffic that ran through all of it ends on successes
	kill "$TRAFFIC" 2>/dev/null || true
	TRAFFIC=
	traffic 10
	run tail -n 10 "$DYNO_TEST_DIR/codes"
	assert_output "$(printf '200\n%.0s' $(seq 10) | head -c -1)"
	assert_equal "$(app_pids "$APPNAME" '^python3 faultapp.py' | wc -l)" 2
}
