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
	assert_output $'config\ncreate\nfetch\nfollow\nlabs\nlist\nmaintenance\nrollback\nshow'
	run complete_line release fetch ''
	assert_output ''
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

@test "labs and maintenance: subcommands, apps and features" {
	run complete_line release ''
	assert_line labs
	assert_line maintenance
	run complete_line release labs ''
	assert_output $'disable\ndynotest-x\nenable'
	run complete_line release labs enable ''
	assert_output dynotest-x
	run complete_line release labs disable dynotest-x ''
	assert_output $'log-runtime-metrics\nruntime-dyno-metadata'
	run complete_line release maintenance ''
	assert_output $'dynotest-x\noff\non'
	run complete_line release maintenance on ''
	assert_output dynotest-x
}

# complete_mgr WORDS...: what dyno-manager's bash completion offers.
complete_mgr() {
	bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_dyno_manager dyno-manager "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort' _ \
	    "$TOP/completions/bash/dyno-manager" "$@"
}

@test "dyno-manager stop and kill: apps, then dynos, types and one-offs" {
	mkdir -p "$DYNO_ROOT/apps/dynotest-x/dynos/web.1" \
	    "$DYNO_ROOT/apps/dynotest-x/dynos/web.2" \
	    "$DYNO_ROOT/apps/dynotest-x/dynos/worker.1" \
	    "$DYNO_RUNDIR/apps/dynotest-x/oneoff"
	: >"$DYNO_RUNDIR/apps/dynotest-x/oneoff/run.4520"
	run complete_mgr dyno-manager ''
	assert_line stop
	assert_line kill
	run complete_mgr dyno-manager stop ''
	assert_output dynotest-x
	run complete_mgr dyno-manager kill --wait dynotest-x ''
	assert_output $'run\nrun.4520\nweb\nweb.1\nweb.2\nworker\nworker.1'
	run complete_mgr dyno-manager stop dynotest-x web.1 w
	assert_output $'web\nweb.1\nweb.2\nworker\nworker.1'
	run complete_mgr dyno-manager stop --w
	assert_output --wait
}
