#!/usr/bin/env bats
# The bash completions of dyno-logs and logplexd: apps from DYNO_ROOT.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
	[ -f /usr/share/bash-completion/bash_completion ] ||
		skip "needs bash-completion"
	mkdir -p "$DYNO_ROOT/apps/alpha/dynos/web.1" "$DYNO_ROOT/apps/beta"
}
teardown() { dyno_teardown; }

# complete TOOL FILE WORDS...: the replies for the last word.
complete_words() {
	bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$1"
		shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		fn=$(complete -p "$1" | sed -E "s/.*-F ([^ ]+) .*/\1/")
		"$fn" "$1" "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}

@test "dyno-logs completes apps, drains, sources and dynos" {
	f="$TOP/completions/bash/dyno-logs"
	run complete_words "$f" dyno-logs ''
	assert_output "drains
tokens
alpha
beta"
	run complete_words "$f" dyno-logs drains ''
	assert_output "add
remove
alpha
beta"
	run complete_words "$f" dyno-logs alpha -s ''
	assert_output "app
heroku"
	run complete_words "$f" dyno-logs alpha -d w
	assert_output "web.1
web"
	run complete_words "$f" dyno-logs alpha --ta
	assert_output '--tail'
	run complete_words "$f" dyno-logs alpha --es
	assert_output '--escape'
	run complete_words "$f" dyno-logs tokens add alpha ''
	assert_output "app
heroku"
	echo 't.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 app' >"$DYNO_ROOT/apps/alpha/log-tokens"
	run complete_words "$f" dyno-logs tokens remove alpha ''
	assert_output 't.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162'
}

@test "logplexd completes its options" {
	run complete_words "$TOP/completions/bash/logplexd" logplexd --re
	assert_output '--ready-fd'
}
