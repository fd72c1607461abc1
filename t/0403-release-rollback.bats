#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# release rollback, and slug retention (keep_slugs).
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
	APP="$DYNO_TEST_DIR/app"
	mkdir -p "$APP"
	printf 'web: ./server\n' >"$APP/Procfile"
	echo one >"$APP/version"
	A="$DYNO_ROOT/apps/dynotest-r"
}

teardown() {
	dyno_teardown
}

@test "rollback restores the old slug and config" {
	release create dynotest-r --slug "$APP" >/dev/null 2>&1          # v1
	release config set dynotest-r DB=old >/dev/null 2>&1              # v2
	echo two >"$APP/version"
	release create dynotest-r --slug "$APP" >/dev/null 2>&1          # v3
	release config set dynotest-r DB=new EXTRA=1 >/dev/null 2>&1      # v4
	run --separate-stderr release rollback dynotest-r v2
	assert_success
	assert_output v5
	[[ "$stderr" == *"app[api]: Rollback to v2 by user $(id -un)"* ]]
	[[ "$stderr" == *"app[api]: Release v5 created by user"* ]]
	run release config get dynotest-r DB
	assert_output old
	run release config get dynotest-r EXTRA
	assert_failure 1
	[ "$(cat "$A/current/slug/version")" = one ]
	grep -qx 'description=Rollback to v2' "$A/releases/v5/release"
	[ "$(grep slug_sha256 "$A/releases/v5/release")" = \
	    "$(grep slug_sha256 "$A/releases/v2/release")" ]
}

@test "rollback without a version goes to the release before current" {
	release create dynotest-r --slug "$APP" >/dev/null 2>&1
	release config set dynotest-r X=1 >/dev/null 2>&1
	run --separate-stderr release rollback dynotest-r
	assert_output v3
	grep -qx 'description=Rollback to v1' "$A/releases/v3/release"
	run release config get dynotest-r X
	assert_failure 1
	run --separate-stderr release rollback dynotest-r
	assert_output v4
	grep -qx 'description=Rollback to v2' "$A/releases/v4/release"
}

@test "rollback refusals" {
	release create dynotest-r --slug "$APP" >/dev/null 2>&1
	run --separate-stderr release rollback dynotest-r
	assert_failure 66
	[[ "$stderr" == *"no earlier release"* ]]
	run release rollback dynotest-r v7
	assert_failure 66
	run release rollback dynotest-r vx
	assert_failure 64
	run release rollback dynotest-r v0
	assert_failure 64
	run release rollback dynotest-r v1 v2
	assert_failure 64
}

@test "keep_slugs keeps the newest slugs and every release file" {
	local i
	printf '[release]\nkeep_slugs = 2\n' | conf_put
	release create dynotest-r --slug "$APP" >/dev/null 2>&1
	for i in 1 2 3 4; do
		release config set dynotest-r "N=$i" >/dev/null 2>&1
	done
	# v5 current, v4 the one it replaced and among the 2 newest.
	[ -d "$A/releases/v5/slug" ] && [ -d "$A/releases/v4/slug" ]
	[ ! -e "$A/releases/v3/slug" ] && [ ! -e "$A/releases/v1/slug" ]
	for i in 1 2 3 4 5; do
		[ -f "$A/releases/v$i/release" ] && [ -f "$A/releases/v$i/env" ]
	done
	run release show dynotest-r v1
	assert_line 'Slug:        removed (keep_slugs)'
	run --separate-stderr release rollback dynotest-r v2
	assert_failure 66
	[[ "$stderr" == *"slug of v2 was removed"* ]]
	run release list dynotest-r
	assert_success
	assert_line --regexp '^v1 '
}
