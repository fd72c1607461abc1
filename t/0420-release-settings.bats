#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# release labs and release maintenance: app.conf settings, the app id.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
	release_app dynotest-s
}

teardown() {
	dyno_teardown
}

uuid_re='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'

@test "a new app gets a stable id in app.conf" {
	id=$(sed -n 's/^id=//p' "$A/app.conf")
	[[ "$id" =~ $uuid_re ]]
	release config set dynotest-s A=1 >/dev/null 2>&1
	release labs enable dynotest-s runtime-dyno-metadata
	[ "$(sed -n 's/^id=//p' "$A/app.conf")" = "$id" ]
}

@test "labs enable and disable set app.conf keys, keep the rest" {
	printf '; mine\n[app]\nspace=\nhostnames=a.example\n[other]\nx=1\n' \
	    >"$A/app.conf"
	run --separate-stderr release labs dynotest-s
	assert_success
	assert_output $'log-runtime-metrics off\nruntime-dyno-metadata off'
	run --separate-stderr release labs enable dynotest-s log-runtime-metrics
	assert_success
	assert_output ''
	run --separate-stderr release labs dynotest-s
	assert_output $'log-runtime-metrics on\nruntime-dyno-metadata off'
	# [other] is not release's: kept, and named in a warning.
	assert_equal "$stderr" "release: warning: $A/app.conf:7: unknown section [other], ignored"
	# An app made before ids gets one when a feature needs it.
	grep -Eq '^id=[0-9a-f-]{36}$' "$A/app.conf"
	# Comments, other keys and other sections stay where they were.
	run cat "$A/app.conf"
	assert_line --index 0 '; mine'
	assert_line --index 1 '[app]'
	assert_line 'hostnames=a.example'
	assert_line --index 6 '[other]'
	release labs disable dynotest-s log-runtime-metrics
	run --separate-stderr release labs dynotest-s
	assert_output $'log-runtime-metrics off\nruntime-dyno-metadata off'
	[ "$(grep -c '^log-runtime-metrics=' "$A/app.conf")" = 1 ]
	# No release is made.
	[ "$(readlink "$A/current")" = releases/v1 ]
}

@test "maintenance on, off and show" {
	run release maintenance dynotest-s
	assert_success
	assert_output off
	run --separate-stderr release maintenance on dynotest-s
	assert_success
	grep -qx 'maintenance=true' "$A/app.conf"
	run release maintenance dynotest-s
	assert_output on
	release maintenance off dynotest-s
	run release maintenance dynotest-s
	assert_output off
}

@test "bad labs and maintenance usage" {
	run --separate-stderr release labs enable dynotest-s nope
	assert_failure 64
	[[ "$stderr" == *"nope: no such feature"* ]]
	run --separate-stderr release maintenance enable dynotest-s
	assert_failure 64
	run --separate-stderr release labs on dynotest-s log-runtime-metrics
	assert_failure 64
	run --separate-stderr release labs enable dynotest-s
	assert_failure 64
	run --separate-stderr release maintenance on dynotest-nope
	assert_failure 66
	run --separate-stderr release maintenance on ../etc
	assert_failure 64
}

@test "labs enable tells the running manager (SIGHUP)" {
	mkdir -p "$DYNO_RUNDIR/apps/dynotest-s"
	bash -c 'trap "echo hup >'"$DYNO_TEST_DIR"'/hup; exit 0" HUP
	    echo $$ >'"$DYNO_RUNDIR"'/apps/dynotest-s/manager.pid
	    for i in $(seq 100); do sleep 0.1; done' 3>&- &
	wait_for 5 test -s "$DYNO_RUNDIR/apps/dynotest-s/manager.pid"
	release labs enable dynotest-s log-runtime-metrics
	wait_for 5 test -f "$DYNO_TEST_DIR/hup"
	wait
}
