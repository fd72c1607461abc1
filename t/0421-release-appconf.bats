#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# app.conf: what release writes, and one policy in every tool that reads it
# (lib/appconf, dyno-state(5)).  Nothing here starts a dyno.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
	release_app dynotest-ac
}

teardown() {
	dyno_teardown
}

# conf TEXT: app.conf is TEXT (printf escapes).
# shellcheck disable=SC2059 # the text is the format, on purpose
conf() {
	printf "$1" >"$A/app.conf"
}

# refused TOOL ARGS...: exits 78 and says the file, line and why ($why).
refused() {
	run -78 --separate-stderr "$@"
	assert_equal "$stderr" "$1: $A/app.conf:$why"
}

@test "release writes a new app's app.conf byte for byte as the golden file" {
	id=$(sed -n 's/^id=//p' "$A/app.conf")
	[[ "$id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]
	sed "s/^id=.*/id=0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9/" "$A/app.conf" |
		cmp - "$TOP/t/data/appconf/new.out"
}

@test "unknown sections and keys: a warning naming file:line, and the app runs" {
	conf '[app]\nsize=\ncolour=blue\n[other]\nx=1\n'
	# dyno-manager refused any section but [app] with 78 before.
	run -0 --separate-stderr dyno-manager ps dynotest-ac
	assert_line --partial '=== web'
	assert_equal "$stderr" "dyno-manager: warning: $A/app.conf:3: unknown key \"colour\" in [app], ignored
dyno-manager: warning: $A/app.conf:4: unknown section [other], ignored"
	run -0 --separate-stderr release labs dynotest-ac
	assert_output $'log-runtime-metrics off\nruntime-dyno-metadata off'
}

@test "a bad line or value is 78 in every tool, naming file:line" {
	why='2: expected key=value, a [section] or a comment'
	conf '[app]\nsize standard-2x\n'
	refused dyno-manager ps dynotest-ac
	refused dyno-run --app dynotest-ac -- true
	refused release labs dynotest-ac
	refused release maintenance dynotest-ac
	why='3: size= again (first on line 2)'
	conf '[app]\nsize=standard-1x\nsize=standard-2x\n'
	refused dyno-manager ps dynotest-ac
	refused dyno-run --app dynotest-ac -- true
	why='2: preboot=: not true or false'
	conf '[app]\npreboot=maybe\n'
	refused dyno-manager ps dynotest-ac
	refused dyno-run --app dynotest-ac -- true
	why='2: control character'
	conf '[app]\nhostnames=a.example\033[2J\n'
	refused dyno-manager ps dynotest-ac
}

@test "a value too long is an error, never cut short" {
	# dyno-run truncated id= to 63 bytes and ran with that HEROKU_APP_ID.
	why='2: id=: too long'
	conf "[app]\nid=$(printf '%064d' 0)\n"
	refused dyno-run --app dynotest-ac -- true
	refused dyno-manager ps dynotest-ac
	why='2: size=: too long'
	conf "[app]\nsize=$(printf 'x%.0s' {1..40})\n"
	refused dyno-run --app dynotest-ac -- true
}

@test "release never rewrites a broken app.conf" {
	conf '[app]\nspace=Not_A_Space\n'
	cp "$A/app.conf" "$DYNO_TEST_DIR/before"
	why='2: space=: space names use lowercase letters, digits and single inner dashes'
	refused release maintenance on dynotest-ac
	refused release labs enable dynotest-ac log-runtime-metrics
	cmp "$A/app.conf" "$DYNO_TEST_DIR/before"
}
