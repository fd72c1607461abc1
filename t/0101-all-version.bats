#!/usr/bin/env bats
# Every tool: the same --version, and getopt's messages in the tools' style.
bats_require_minimum_version 1.5.0
load helper/common

TOOLS="dyno-run dyno-manager dyno-cycle dyno-route logplexd dyno-logs release space-net dyno-build dyno-image dyno-slugd"

setup() {
	dyno_setup
}

teardown() {
	dyno_teardown
}

# The version the Makefile built in: git describe of a v* tag, else VERSION.
want_version() {
	local v
	if [ -e "$TOP/.git" ] &&
		v=$(git -C "$TOP" describe --tags --match 'v[0-9]*' 2>/dev/null); then
		echo "${v#v}"
	else
		cat "$TOP/VERSION"
	fi
}

@test "every tool prints the same version with --version, exit 0" {
	local t want
	want=$(want_version)
	[ -n "$want" ]
	for t in $TOOLS; do
		run -0 --separate-stderr "$TOP/bin/$t" --version
		assert_output "$t $want"
		assert_equal "$stderr" ""
	done
}

@test "getopt's messages name the tool by its basename, as the tools do" {
	local t
	for t in $TOOLS; do
		run -64 --separate-stderr "$TOP/bin/$t" --dynotest-bogus
		[ "${stderr_lines[0]}" != "" ]
		case $t in
		release | space-net | dyno-image)
			assert_equal "${stderr_lines[0]}" "$t: unknown command \"--dynotest-bogus\"" ;;
		*)
			assert_equal "${stderr_lines[0]}" "$t: unrecognized option '--dynotest-bogus'" ;;
		esac
	done
	run -64 --separate-stderr "$TOP/bin/release" list app --dynotest-bogus
	assert_equal "${stderr_lines[0]}" "release: unrecognized option '--dynotest-bogus'"
	run -64 --separate-stderr "$TOP/bin/space-net" create sp --dynotest-bogus
	assert_equal "${stderr_lines[0]}" "space-net: unrecognized option '--dynotest-bogus'"
}

@test "an option that does not apply to a subcommand is named" {
	run -64 --separate-stderr release list app --slug x
	assert_equal "${stderr_lines[0]}" "release: --slug does not apply to list"
	run -64 --separate-stderr space-net list --cidr 10.0.0.0/24
	assert_equal "${stderr_lines[0]}" "space-net: --cidr does not apply to list"
}

@test "every tool's man page documents --help; dyno-run --help describes each option" {
	local t m
	for t in $TOOLS; do
		m=$(ls "$TOP"/man/"$t".[18])
		run grep -c -e 'Fl Fl help' -e 'Fl -help' "$m"
		refute_output 0
	done
	run -0 dyno-run --help
	for o in app name release app-dir app-rw env-file size port net stack grace user userns no-userns detach reclaim info-file help; do
		assert_line --regexp "^  --$o[= ]"
	done
}
