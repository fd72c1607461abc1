#!/usr/bin/env bats
# Every completion offers exactly the options its tool's --help lists.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
}

teardown() {
	dyno_teardown
}

# long_opts FILE: the sorted --options named in FILE (without "=").
long_opts() {
	grep -o -- '--[a-z][a-z0-9-]*' "$1" | sort -u
}

@test "each tool's bash and zsh completions list the options of its --help" {
	local f tool n=0
	for f in "$TOP"/completions/bash/*; do
		tool=$(basename "$f")
		[ -x "$TOP/bin/$tool" ] || continue
		"$tool" --help >"$DYNO_TEST_DIR/help"
		assert_equal "$(long_opts "$f")" "$(long_opts "$DYNO_TEST_DIR/help")"
		assert [ -f "$TOP/completions/zsh/_$tool" ]
		assert_equal "$(long_opts "$TOP/completions/zsh/_$tool")" \
			"$(long_opts "$DYNO_TEST_DIR/help")"
		n=$((n + 1))
	done
	[ "$n" -ge 1 ]
}

@test "the bash completions complete --help and nothing outside --help" {
	local f tool reply
	[ -f /usr/share/bash-completion/bash_completion ] ||
		skip "needs bash-completion"
	for f in "$TOP"/completions/bash/*; do
		tool=$(basename "$f")
		[ -x "$TOP/bin/$tool" ] || continue
		reply=$(bash -c '
			source /usr/share/bash-completion/bash_completion
			source "$1"
			COMP_WORDS=("$2" "--h"); COMP_CWORD=1; COMP_LINE="$2 --h"
			COMP_POINT=${#COMP_LINE}
			fn=$(complete -p "$2" | sed -E "s/.*-F ([^ ]+) .*/\1/")
			"$fn" "$2" "--h" "$2"
			printf "%s\n" "${COMPREPLY[@]}"' _ "$f" "$tool")
		assert_equal "$reply" "--help"
	done
}

@test "the zsh completions parse" {
	require_cmd zsh
	local f
	for f in "$TOP"/completions/zsh/_*; do
		zsh -n "$f"
	done
}

@test "share/dyno.conf documents keys that all parse" {
	sed 's/^;\([a-z_]* = \)/\1/; s/^;\[size/[size/' "$TOP/share/dyno.conf" |
		grep -v '^stack =' | conf_put
	run -0 dyno-manager check -d "$TOP/examples/python-web"
}

@test "space-net's bash completion offers peer's verbs, then space names" {
	[ -f /usr/share/bash-completion/bash_completion ] ||
		skip "needs bash-completion"
	mkdir -p "$DYNO_ROOT/spaces/shop"
	comp() {
		DYNO_ROOT="$DYNO_ROOT" bash -c '
			source /usr/share/bash-completion/bash_completion
			source "$1"; shift
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"
			COMP_POINT=${#COMP_LINE}
			_space_net space-net "${@: -1}" "${@: -2:1}"
			printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP/completions/bash/space-net" "$@"
	}
	run comp space-net pe
	assert_output peer
	run comp space-net peer ''
	assert_output "$(printf 'add\ndel\nlist\nnames')"
	run comp space-net peer add sh
	assert_output shop
}
