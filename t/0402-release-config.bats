#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# release config: get, set, unset, --shell, name rules, limits, concurrency.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
	release_app dynotest-c
}

teardown() {
	dyno_teardown
}

@test "set, get and unset each make a release" {
	run --separate-stderr release config set dynotest-c FOO=bar EMPTY=
	assert_success
	assert_output v2
	[[ "$stderr" == *"app[api]: Set FOO, EMPTY config vars by user $(id -un)"* ]]
	[[ "$stderr" == *"app[api]: Release v2 created by user"* ]]
	grep -qx 'description=Set FOO, EMPTY config vars' "$A/releases/v2/release"
	run release config get dynotest-c FOO
	assert_success
	assert_output bar
	run release config get dynotest-c EMPTY
	assert_success
	assert_output ''
	run release config get dynotest-c NOPE
	assert_failure 1
	run --separate-stderr release config unset dynotest-c FOO
	assert_output v3
	[[ "$stderr" == *"app[api]: Remove FOO config vars by user"* ]]
	run release config get dynotest-c FOO
	assert_failure 1
	# The old release keeps its config.
	grep -qx 'FOO=bar' "$A/releases/v2/env"
	[ "$(readlink "$A/current")" = releases/v3 ]
	# The slug is shared, not copied.
	[ "$(stat -c %i "$A/releases/v1/slug/Procfile")" = \
	    "$(stat -c %i "$A/releases/v3/slug/Procfile")" ]
}

@test "env files are private and in the release format" {
	release config set dynotest-c 'MULTI=a
b' >/dev/null 2>&1
	run stat -c %a "$A/releases/v2/env"
	assert_output 600
	run cat "$A/releases/v2/env"
	assert_output 'MULTI=a\nb'
}

@test "config lists sorted vars; --shell round-trips through eval" {
	release config set dynotest-c "ZED=last" "QUOTE=it's \"q\" \$HOME \`x\`" \
	    'NL=a
b' 'SP=  two  ' >/dev/null 2>&1
	run --separate-stderr release config dynotest-c
	assert_success
	assert_line --index 0 '=== dynotest-c Config Vars'
	assert_line --index 1 'NL:    a'
	assert_line --index 5 'ZED:   last'
	run --separate-stderr release config dynotest-c --shell
	assert_success
	assert_line --index 0 --regexp "^export NL="
	eval "$output"
	assert_equal "$QUOTE" "it's \"q\" \$HOME \`x\`"
	assert_equal "$NL" $'a\nb'
	assert_equal "$SP" '  two  '
	assert_equal "$ZED" last
}

@test "bad names are refused and make no release" {
	local n
	for n in 1ABC __X HEROKU_FOO 'A-B' 'A B' ''; do
		run --separate-stderr release config set dynotest-c "$n=v"
		[ "$status" -eq 65 ] || { echo "$n: $status"; false; }
		[[ "$stderr" == "release: $n: bad config var name: "* ]]
	done
	run release config set dynotest-c NOEQUALS
	assert_failure 64
	run release config unset dynotest-c 9X
	assert_failure 65
	run release config set dynotest-c
	assert_failure 64
	run ls "$A/releases"
	assert_output v1
}

@test "the 64 kB limit on all config vars" {
	big=$(head -c 40000 /dev/zero | tr '\0' x)
	run release config set dynotest-c "A=$big"
	assert_success
	run --separate-stderr release config set dynotest-c "B=$big"
	assert_failure 65
	[[ "$stderr" == *"over the 65536-byte limit" ]]
	run release config get dynotest-c B
	assert_failure 1
	printf '[release]\nconfig_max = 100\n' | conf_put
	run release config set dynotest-c C=1
	assert_failure 65
}

@test "unset of vars that are not set" {
	release config set dynotest-c A=1 >/dev/null 2>&1
	run --separate-stderr release config unset dynotest-c NOPE
	assert_failure 1
	[[ "$stderr" == *"NOPE: no such config var"* ]]
	run --separate-stderr release config unset dynotest-c NOPE A
	assert_success
	assert_output v3
}

@test "config on an unknown app, or an app without releases" {
	run release config dynotest-none
	assert_failure 66
	run release config set dynotest-none A=1
	assert_failure 66
	[ ! -e "$DYNO_ROOT/apps/dynotest-none" ]
	mkdir -p "$DYNO_ROOT/apps/dynotest-e"
	run --separate-stderr release config set dynotest-e A=1
	assert_failure 66
	[[ "$stderr" == *"no releases yet"* ]]
}

@test "20 parallel config sets: 20 keys, 20 new versions" {
	local i pids=()
	for i in $(seq 1 20); do
		release config set dynotest-c "K$i=v$i" >"$DYNO_TEST_DIR/out.$i" 2>&1 3>&- &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	run --separate-stderr release config dynotest-c --shell
	for i in $(seq 1 20); do
		assert_line "export K$i='v$i'"
	done
	# v2..v21, each reported once.
	run bash -c "grep -h '^v[0-9]*\$' '$DYNO_TEST_DIR'/out.* | sort -V | uniq | wc -l"
	assert_output 20
	[ "$(readlink "$A/current")" = releases/v21 ]
	run ls "$A/releases"
	assert_equal "$(echo "$output" | wc -l)" 21
}
