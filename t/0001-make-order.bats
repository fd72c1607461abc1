#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# On a fresh machine the README's commands install the packages before
# anything compiles: checked on make's plan (-n -B: every step, in order).
bats_require_minimum_version 1.5.0

setup() {
	load helper/common
}

# first_step GOAL [VAR=VALUE...]: "deps" or "compile", whichever make's
# plan for GOAL does first.
first_step() {
	local goal=$1
	shift
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u NODEPS make -C "$TOP" -n -B -j1 \
		"$@" "$goal" 2>/dev/null |
		awk '/t\/helper\/deps\.sh/ { print "deps"; exit }
		     /-c -o [^ ]+\.o / { print "compile"; exit }'
}

@test "make check installs the packages before it compiles anything" {
	run first_step check
	assert_output deps
}

@test "make demo installs the packages before it compiles anything" {
	run first_step demo
	assert_output deps
}

@test "make bench installs the packages before it compiles anything" {
	run first_step bench
	assert_output deps
}

@test "NODEPS=1 installs nothing, for packagers" {
	run first_step check NODEPS=1
	assert_output compile
}
