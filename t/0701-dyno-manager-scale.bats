#!/usr/bin/env bats
# dyno-manager scale and ps: the formation file, its rules and errors.
bats_require_minimum_version 1.5.0
load helper/common

APPNAME=dynotest-scale

setup() {
	dyno_setup
	SLUG="$DYNO_TEST_DIR/slug"
	mkdir -p "$SLUG"
	printf 'web: a\nworker: b\nclock: c\nrelease: true\n' >"$SLUG/Procfile"
	APPDIR="$DYNO_ROOT/apps/$APPNAME"
	release create "$APPNAME" --slug "$SLUG" >/dev/null 2>&1 || skip "release failed"
}

teardown() {
	dyno_teardown
}

@test "the first release runs one web dyno" {
	run cat "$APPDIR/formation"
	assert_output "web=1"
}

@test "scale: =, +, -, sizes, and only named types change" {
	run dyno-manager scale "$APPNAME" worker=2 clock=1:standard-2x
	assert_success
	assert_output "Scaled $APPNAME to clock@1:Standard-2X web@1:Standard-1X worker@2:Standard-1X"
	run dyno-manager scale "$APPNAME" worker+3 web-1
	assert_output "Scaled $APPNAME to clock@1:Standard-2X web@0:Standard-1X worker@5:Standard-1X"
	run dyno-manager scale "$APPNAME" clock=3
	assert_output --partial "clock@3:Standard-2X"
	run dyno-manager scale "$APPNAME" worker=performance-m
	assert_output --partial "worker@5:Performance-M"
	run cat "$APPDIR/formation"
	assert_output $'web=0\nworker=5:performance-m\nclock=3:standard-2x'
}

@test "scale refuses what the Procfile does not declare, release, and bad input" {
	run -64 --separate-stderr dyno-manager scale "$APPNAME" nosuch=1
	assert_equal "$stderr" "dyno-manager: $APPNAME: no process type \"nosuch\" in the Procfile of v1"
	run -64 --separate-stderr dyno-manager scale "$APPNAME" release=1
	assert_equal "$stderr" "dyno-manager: $APPNAME: no process type \"release\" in the Procfile of v1"
	run -64 --separate-stderr dyno-manager scale "$APPNAME" web=many
	assert_equal "$stderr" "dyno-manager: \"many\": unknown dyno size"
	run -64 --separate-stderr dyno-manager scale "$APPNAME" web=1:huge-9x
	assert_equal "$stderr" "dyno-manager: \"huge-9x\": unknown dyno size"
	run -64 --separate-stderr dyno-manager scale "$APPNAME" web=101
	assert_equal "$stderr" "dyno-manager: $APPNAME: web=101: at most 100 dynos per app (max_dynos in dyno.conf)"
	run -64 --separate-stderr dyno-manager scale "$APPNAME" web=60 worker=41
	assert_equal "$stderr" "dyno-manager: $APPNAME: 101 dynos: at most 100 dynos per app (max_dynos in dyno.conf)"
	printf '[manager]\nmax_dynos = 3\n' >>"$DYNO_CONF"
	run -64 --separate-stderr dyno-manager scale "$APPNAME" web+3
	assert_equal "$stderr" "dyno-manager: $APPNAME: web=4: at most 3 dynos per app (max_dynos in dyno.conf)"
	run -64 --separate-stderr dyno-manager scale "$APPNAME"
	run -66 --separate-stderr dyno-manager scale dynotest-nosuch web=1
	assert_equal "$stderr" "dyno-manager: dynotest-nosuch: no such app"
	run -64 --separate-stderr dyno-manager scale BadName web=1
	# nothing changed by the failures
	run cat "$APPDIR/formation"
	assert_output "web=1"
}

@test "parallel scales of different types all land" {
	local i
	for i in 1 2 3 4 5; do
		dyno-manager scale "$APPNAME" worker+1 >/dev/null &
		dyno-manager scale "$APPNAME" clock+1 >/dev/null &
	done
	wait
	# the order of the lines is whichever type landed first
	run sort "$APPDIR/formation"
	assert_output $'clock=5\nweb=1\nworker=5'
}

@test "ps shows each type with its command and count" {
	dyno-manager scale "$APPNAME" worker=2 >/dev/null
	run dyno-manager ps "$APPNAME"
	assert_success
	assert_output $'=== web (Standard-1X): a (1)\n\n=== worker (Standard-1X): b (2)'
	run -66 dyno-manager ps dynotest-nosuch
}

@test "-n checks the app and the configuration" {
	run -0 dyno-manager -n "$APPNAME"
	run -66 --separate-stderr dyno-manager -n dynotest-nosuch
	printf '[manager]\nrestart_backoff = soon\n' | conf_put
	run -78 dyno-manager -n "$APPNAME"
}
