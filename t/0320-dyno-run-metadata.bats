#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-run: the dyno metadata variables (release labs enable
# runtime-dyno-metadata), as Heroku's labs feature sets them.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-run

setup() {
	dyno_setup
	require_root
	DR_APP="dynotest-meta-$$-${BATS_TEST_NUMBER:-0}"
	DR_PIDS=()
	mkdir -p "$DYNO_TEST_DIR/app"
	printf 'web: ./server\n' >"$DYNO_TEST_DIR/app/Procfile"
	release create "$DR_APP" --slug "$DYNO_TEST_DIR/app" \
	    --commit 0123456789abcdef0123456789abcdef01234567 >/dev/null 2>&1
}

teardown() {
	dr_teardown
	dyno_teardown
}

meta() {
	timeout -k 5 60 dyno-run --app "$DR_APP" --net none "$@" -- \
	    'env | grep ^HEROKU_ | sort'
}

@test "off by default: no HEROKU_ variable" {
	run --separate-stderr meta
	assert_success
	assert_output ''
}

@test "on: app, release, slug and dyno ids, in Heroku's formats" {
	release labs enable "$DR_APP" runtime-dyno-metadata
	release config set "$DR_APP" FOO=1 >/dev/null 2>&1
	id=$(sed -n 's/^id=//p' "$DYNO_ROOT/apps/$DR_APP/app.conf")
	created=$(sed -n 's/^created=//p' "$DYNO_ROOT/apps/$DR_APP/releases/v2/release")
	run --separate-stderr meta
	assert_success
	assert_line "HEROKU_APP_ID=$id"
	assert_line "HEROKU_APP_NAME=$DR_APP"
	assert_line "HEROKU_RELEASE_VERSION=v2"
	assert_line "HEROKU_RELEASE_CREATED_AT=$created"
	assert_line --regexp '^HEROKU_RELEASE_CREATED_AT=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
	assert_line "HEROKU_SLUG_DESCRIPTION=Set FOO config vars"
	assert_line --regexp '^HEROKU_DYNO_ID=[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
	# The dyno id is the dyno's own: its hostname, new for every dyno.
	first=$(printf '%s\n' "$output" | sed -n 's/^HEROKU_DYNO_ID=//p')
	run --separate-stderr meta
	second=$(printf '%s\n' "$output" | sed -n 's/^HEROKU_DYNO_ID=//p')
	[ -n "$first" ] && [ "$first" != "$second" ]
	run --separate-stderr timeout 60 dyno-run --app "$DR_APP" --net none \
	    -- 'echo "$HEROKU_DYNO_ID" = "$(hostname)"'
	assert_output --regexp '^([0-9a-f-]{36}) = \1$'
}

@test "the commit of the release the dyno runs" {
	release labs enable "$DR_APP" runtime-dyno-metadata
	run --separate-stderr meta
	assert_line "HEROKU_SLUG_COMMIT=0123456789abcdef0123456789abcdef01234567"
	assert_line "HEROKU_SLUG_DESCRIPTION=Deploy 01234567"
	assert_line "HEROKU_RELEASE_VERSION=v1"
	run --separate-stderr meta --release "$DYNO_ROOT/apps/$DR_APP/releases/v1"
	assert_line "HEROKU_RELEASE_VERSION=v1"
}

@test "an app cannot fake them with config vars" {
	printf 'HEROKU_APP_NAME=evil\nHEROKU_RELEASE_VERSION=v999\n' \
	    >"$DYNO_TEST_DIR/env"
	release labs enable "$DR_APP" runtime-dyno-metadata
	run --separate-stderr meta --env-file "$DYNO_TEST_DIR/env"
	assert_line "HEROKU_APP_NAME=$DR_APP"
	assert_line "HEROKU_RELEASE_VERSION=v1"
	refute_line --partial evil
}

@test "disabled again: gone at the next start" {
	release labs enable "$DR_APP" runtime-dyno-metadata
	release labs disable "$DR_APP" runtime-dyno-metadata
	run --separate-stderr meta
	assert_output ''
}
