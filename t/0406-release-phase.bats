#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# The release phase: a one-off dyno release.N through dyno-run (root).
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
	[ -x "$TOP/bin/dyno-run" ] || skip "dyno-run not built yet"
	require_root
	APP="$DYNO_TEST_DIR/app"
	mkdir -p "$APP"
	A="$DYNO_ROOT/apps/dynotest-p"
}

teardown() {
	dyno_teardown
}

procfile() {
	printf 'web: ./server\nrelease: %s\n' "$1" >"$APP/Procfile"
}

@test "a release command that succeeds: output in the log, then current moves" {
	procfile 'echo migrating $MODE; test -f /app/Procfile'
	release create dynotest-p --slug "$APP" >/dev/null 2>&1 || true
	run --separate-stderr release create dynotest-p --slug "$APP"
	assert_success
	assert_output v2
	[ "$(readlink "$A/current")" = releases/v2 ]
	grep -qx 'status=succeeded' "$A/releases/v2/release"
	[[ "$stderr" == *"app[api]: Running release v2 commands by user $(id -un)"* ]]
	[[ "$stderr" =~ app\[release\.[0-9]{4}\]:\ migrating ]]
	[[ "$stderr" == *"app[api]: Release v2 created by user"* ]]
}

@test "config vars reach the release command, which runs on config set" {
	procfile 'echo "mode=$MODE"'
	release create dynotest-p --slug "$APP" >/dev/null 2>&1
	run --separate-stderr release config set dynotest-p MODE=prod
	assert_success
	[[ "$stderr" =~ app\[release\.[0-9]{4}\]:\ mode=prod ]]
}

@test "a failing release command leaves current where it was" {
	procfile 'true'
	release create dynotest-p --slug "$APP" >/dev/null 2>&1
	release config set dynotest-p KEEP=1 >/dev/null 2>&1
	procfile 'echo boom >&2; exit 3'
	run --separate-stderr release create dynotest-p --slug "$APP"
	assert_failure 1
	assert_output ''
	[ "$(readlink "$A/current")" = releases/v2 ]
	grep -qx 'status=failed' "$A/releases/v3/release"
	[[ "$stderr" =~ app\[release\.[0-9]{4}\]:\ boom ]]
	[[ "$stderr" == *"app[api]: Release v3 command failed by user $(id -un)"* ]]
	[[ "$stderr" != *"Release v3 created"* ]]
	run release list dynotest-p
	assert_line --regexp '^v3 .* failed$'
	assert_line --regexp '^v2 .*\(current\)$'
	# The next change builds on v2, not on the failed v3.
	run --separate-stderr release config set dynotest-p MORE=1
	assert_output v4
	run release config get dynotest-p KEEP
	assert_output 1
	grep -qx 'web: ./server' "$A/releases/v4/slug/Procfile"
	grep -qx 'release: true' "$A/releases/v4/slug/Procfile"
}

@test "a release command past release_timeout fails" {
	printf '[release]\nrelease_timeout = 2s\n[dyno]\ngrace = 1s\n' | conf_put
	procfile 'true'
	release create dynotest-p --slug "$APP" >/dev/null 2>&1
	procfile 'sleep 300'
	run --separate-stderr release create dynotest-p --slug "$APP"
	assert_failure 1
	[[ "$stderr" == *"release phase timed out"* ]]
	[ "$(readlink "$A/current")" = releases/v1 ]
	grep -qx 'status=failed' "$A/releases/v2/release"
}

@test "rollback runs the release phase too" {
	procfile 'echo phase-ran'
	release create dynotest-p --slug "$APP" >/dev/null 2>&1
	release config set dynotest-p A=1 >/dev/null 2>&1
	run --separate-stderr release rollback dynotest-p
	assert_success
	assert_output v3
	[[ "$stderr" =~ app\[release\.[0-9]{4}\]:\ phase-ran ]]
}
