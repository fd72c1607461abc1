#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# release's bash completion: subcommands, apps, versions, config keys.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
	[ -f /usr/share/bash-completion/bash_completion ] ||
		skip "needs bash-completion"
	mkdir -p "$DYNO_TEST_DIR/app"
	printf 'web: ./server\n' >"$DYNO_TEST_DIR/app/Procfile"
	release create dynotest-x --slug "$DYNO_TEST_DIR/app" >/dev/null 2>&1
	release config set dynotest-x ALPHA=1 BETA=2 >/dev/null 2>&1
}

teardown() {
	dyno_teardown
}

# complete_line WORDS...: the completions bash offers for the last word.
complete_line() {
	bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_release release "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$TOP/completions/bash/release" "$@"
}

@test "subcommands, apps, versions and keys" {
	run complete_line release ''
	assert_output $'config\ncreate\nlist\nrollback\nshow'
	run complete_line release show ''
	assert_output dynotest-x
	run complete_line release rollback dynotest-x ''
	assert_output $'v1\nv2'
	run complete_line release config ''
	assert_output $'dynotest-x\nget\nset\nunset'
	run complete_line release config get dynotest-x ''
	assert_output $'ALPHA\nBETA'
	run complete_line release config unset dynotest-x ALPHA B
	assert_output BETA
	run complete_line release list dynotest-x --n
	assert_output --num
}
