#!/usr/bin/env bats
# The README's tour, end to end, with assertions at each step.
bats_require_minimum_version 1.5.0
load helper/common
load helper/platform

APPNAME=dynotest-tour

# The dynos run as the product's default puts them, each on its own address
# in a Common-Runtime-like space, but a test-only one.
SPACE=dynotest-tour

setup() {
	require_root
	dyno_setup
	printf '[dyno]\ngrace = 5s\n[manager]\nnetwork = space:%s\n' "$SPACE" \
		| conf_put
	ROUTER_PORT=$(free_port)
}

teardown() {
	pf_cleanup
	stop_app_dynos "$APPNAME"
	space-net destroy "$SPACE" --force >/dev/null 2>&1 || true
	dyno_teardown
}

@test "deploy, route, log, scale, set config, roll back, cycle, stop" {
	local pids
	run -0 space-net create "$SPACE" --cidr 10.213.61.0/24 --mode common
	pf_start logplexd logplexd
	pf_start dyno-route dyno-route --listen "127.0.0.1:$ROUTER_PORT"

	run -0 release create "$APPNAME" --slug "$TOP/examples/python-web" \
		--description "First deploy"
	assert_equal "$(readlink "$DYNO_ROOT/apps/$APPNAME/current")" releases/v1

	run -0 dyno-manager scale "$APPNAME" web=2 worker=1
	pf_start dyno-manager dyno-manager "$APPNAME"
	wait_for 60 pf_routes "$APPNAME" 2
	# each web dyno has its own address in the space
	run awk '{print $2}' "$DYNO_ROOT/apps/$APPNAME/routes"
	assert_line --index 0 --regexp '^10\.213\.61\.[0-9]+:[0-9]+$'
	assert_line --index 1 --regexp '^10\.213\.61\.[0-9]+:[0-9]+$'
	[ "${lines[0]%:*}" != "${lines[1]%:*}" ]

	# the router spreads requests over both web dynos
	local i seen=""
	for i in $(seq 20); do
		seen="$seen $(pf_get "$APPNAME.localhost" /tour | awk '{print $NF}')"
	done
	[[ $seen == *web.1* ]]
	[[ $seen == *web.2* ]]
	run pf_get "$APPNAME.localhost" /tour
	assert_output --regexp '^Hello: /tour on web\.[12]$'

	# an unknown host gets the router's own 404
	run curl -s -o /dev/null -w '%{http_code}' -H 'Host: nosuch.localhost' \
		"http://127.0.0.1:$ROUTER_PORT/"
	assert_output 404

	# the log has the platform's lines, the app's lines and the router's
	wait_for 60 bash -c "dyno-logs $APPNAME -n 1500 | grep -q 'app\[worker.1\]: worker tick'"
	run -0 dyno-logs "$APPNAME" -n 1500
	assert_output --partial "app[api]: Release v1 created by user"
	assert_output --regexp "heroku\[web\.1\]: State changed from starting to up"
	assert_output --regexp "heroku\[router\]: at=info method=GET path=\"/tour\" host=$APPNAME.localhost .* dyno=web\.[12] .* status=200"
	run -0 dyno-logs "$APPNAME" -n 1500 --dyno web.1
	refute_output --partial "worker.1"

	run -0 dyno-manager ps "$APPNAME"
	assert_line --regexp '^web\.2: up '

	# a config change is a new release, and every dyno restarts onto it
	run -0 release config set "$APPNAME" GREETING=Bonjour
	wait_for 60 pf_on_release "$APPNAME" v2 2
	run pf_get "$APPNAME.localhost" /v2
	assert_output --regexp '^Bonjour: /v2 on web\.[12]$'

	# rollback: a new release with v1's slug and config
	run -0 release rollback "$APPNAME" v1
	wait_for 60 pf_on_release "$APPNAME" v3 2
	run pf_get "$APPNAME.localhost" /v3
	assert_output --regexp '^Hello: /v3 on web\.[12]$'
	run -0 dyno-logs "$APPNAME" -n 1500
	assert_output --partial "app[api]: Rollback to v1 by user"

	# cycling one dyno replaces it and leaves the other alone
	web2=$(cat "$DYNO_ROOT/apps/$APPNAME/dynos/web.2/pid")
	run -0 dyno-cycle --wait "$APPNAME" web.1
	assert_equal "$(cat "$DYNO_ROOT/apps/$APPNAME/dynos/web.2/pid")" "$web2"

	run -0 dyno-manager scale "$APPNAME" web=1
	wait_for 60 pf_routes "$APPNAME" 1
	run pf_get "$APPNAME.localhost" /one
	assert_output "Hello: /one on web.1"

	# stopping: every dyno goes down, nothing is left running
	pids=$(app_pids "$APPNAME" '^python3 app.py')
	[ -n "$pids" ]
	pf_stop dyno-manager
	assert_equal "$(cat "$DYNO_ROOT/apps/$APPNAME/dynos/web.1/state")" down
	# shellcheck disable=SC2086
	pids_gone $pids
	run -0 curl -s -o /dev/null -w '%{http_code}' -H "Host: $APPNAME.localhost" \
		"http://127.0.0.1:$ROUTER_PORT/"
	assert_output 503
	pf_stop dyno-route
	pf_stop logplexd
	run -0 space-net show "$SPACE"
	assert_line "dynos 0"
}

@test "make install gives a tree a Debian package could ship" {
	run -0 make -C "$TOP" install PREFIX=/usr DESTDIR="$DYNO_TEST_DIR/pkg" \
		SYSCONFDIR=/etc
	local d="$DYNO_TEST_DIR/pkg" t
	for t in dyno-manager dyno-run release logplexd dyno-logs dyno-route \
		dyno-cycle space-net; do
		# section-8 tools (daemons, administration) in sbin
		if [ -f "$TOP/man/$t.8" ]; then
			[ -x "$d/usr/sbin/$t" ]
		else
			[ -x "$d/usr/bin/$t" ]
		fi
		[ -f "$d/usr/share/bash-completion/completions/$t" ]
		[ -f "$d/usr/share/zsh/vendor-completions/_$t" ]
	done
	[ -f "$d/usr/share/man/man7/dyno.7" ]
	[ -f "$d/usr/share/man/man5/dyno.conf.5" ]
	[ -f "$d/usr/share/man/man8/dyno-manager.8" ]
	[ -f "$d/usr/share/man/man1/dyno-run.1" ]
	[ -f "$d/etc/dyno/dyno.conf" ]
	[ -f "$d/usr/lib/systemd/system/dyno-manager@.service" ]
	[ -f "$d/usr/lib/systemd/system/dyno-cycle.timer" ]
	[ -f "$d/etc/cron.d/dyno-cycle" ]
	[ -f "$d/usr/lib/tmpfiles.d/dyno.conf" ]
	# the units and the cron line run the binaries where they were installed
	run -0 make -C "$TOP" install PREFIX=/opt/dyno DESTDIR="$DYNO_TEST_DIR/opt" \
		SYSCONFDIR=/etc
	grep -q '^ExecStart=/opt/dyno/sbin/dyno-manager %i$' \
		"$DYNO_TEST_DIR/opt/opt/dyno/lib/systemd/system/dyno-manager@.service"
	grep -q '/opt/dyno/bin/dyno-cycle --daily --all-apps$' \
		"$DYNO_TEST_DIR/opt/etc/cron.d/dyno-cycle"
}
