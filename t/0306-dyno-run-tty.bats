#!/usr/bin/env bats
# dyno-run with a terminal: the dyno gets its own controlling terminal.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-run

setup() {
	dyno_setup
	dr_setup
	require_cmd script
}

teardown() {
	dr_teardown
	dyno_teardown
}

# in_tty CMD: run CMD with a pseudo-terminal on its stdin/stdout.
in_tty() {
	TERM=xterm-dynotest timeout -k 5 60 script -qec "$1" /dev/null
}

@test "with a terminal, the command has a controlling terminal and TERM" {
	run --separate-stderr in_tty "dyno-run --app $DR_APP --net none -- 'test -t 0 && echo stdin-tty; (exec </dev/tty) && echo ctty; echo \$TERM'" </dev/null
	assert_success
	assert_line --partial "stdin-tty"
	assert_line --partial "ctty"
	assert_line --partial "xterm-dynotest"
}

@test "the terminal is the dyno's /dev/pts/0, the dyno user's, with our size" {
	run --separate-stderr in_tty "stty rows 33 cols 99; dyno-run --app $DR_APP --net none -- 'tty; stat -c %U /dev/pts/0; stty size'" </dev/null
	assert_success
	assert_line --partial "/dev/pts/0"
	assert_line --partial "nobody"
	assert_line --partial "33 99"
}

@test "with --userns the terminal works the same" {
	run --separate-stderr in_tty "dyno-run --app $DR_APP --net none --userns -- 'tty; id -u; exit 4'" </dev/null
	assert_equal "$status" 4
	assert_line --partial "/dev/pts/0"
	assert_line --partial "65534"
}

@test "an interactive shell reads what is typed and exits with its status" {
	run --separate-stderr in_tty "dyno-run --app $DR_APP --net none -- sh" \
		<<<'echo typed-$((40+2)); exit 3'
	assert_equal "$status" 3
	assert_output --partial "typed-42"
}

@test "without a terminal there is none in the dyno either" {
	run --separate-stderr dr_run -- 'test -t 0 || echo no-tty; (exec </dev/tty) 2>/dev/null || echo no-ctty; echo "TERM=$TERM"' </dev/null
	assert_success
	# bash, which runs the command as on Heroku, says TERM=dumb
	assert_output --regexp $'^no-tty\nno-ctty\nTERM=(dumb)?$'
}
