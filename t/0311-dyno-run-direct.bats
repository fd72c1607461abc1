#!/usr/bin/env bats
# dyno-run: a lone simple command is exec'd without the shell (one exec
# less per start), and the command sees exactly what the shell gave it.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-run

setup() {
	dyno_setup
	dr_setup
	TRACE="$BATS_TEST_TMPDIR/execve"
}

teardown() {
	dr_teardown
	dyno_teardown
}

# execs CMD: the files exec'd below dyno-run running CMD, one a line.
execs() {
	command -v strace >/dev/null || skip "needs strace"
	timeout -k 5 60 strace -f -qq -e trace=execve -e signal=none \
		-o "$TRACE" dyno-run --app "$DR_APP" --net none -- "$1" \
		>/dev/null 2>&1 || true
	sed -n 's/^[0-9]* *execve("\([^"]*\)".*= 0$/\1/p' "$TRACE" | sed 1d
}

# direct CMD FILE: CMD runs FILE with no shell; shell CMD: through bash.
direct() { assert_equal "$(execs "$1")" "$2"; }
shell() { assert_equal "$(execs "$1" | head -1)" /bin/bash; }

@test "a lone simple command is exec'd directly, with or without exec" {
	direct 'exec sleep 0' /usr/bin/sleep
	direct 'uname' /usr/bin/uname
	shell 'true'
	direct "/bin/echo 'a b' c\\ d --x=1,2:3@%" /bin/echo
	direct "exec 'sleep' 0" /usr/bin/sleep
}

@test "anything the shell must read goes through the shell" {
	shell 'echo $PORT'
	shell 'sleep 0; true'
	shell 'sleep 0 && true'
	shell 'sleep 0 >/dev/null'
	shell 'FOO=1 env'
	shell 'cd /'
	shell 'exec -a x sleep 0'
	shell 'ls *'
	shell 'ls ~'
	shell 'echo "a"'
	shell 'sleep {0,0}'
	shell "sleep 0 'unclosed"
	shell 'sleep 0 # comment'
	shell 'dynotest-no-such-command'
	shell 'exec'
	# variables that change what bash does, or what it leaves set
	echo 'BASH_ENV=/dev/null' >"$DR_REL/env"
	shell 'uname'
	echo 'BASH_FUNC_uname%%=() { false; }' >"$DR_REL/env"
	shell 'uname'
	echo 'SHLVL=x' >"$DR_REL/env"
	shell 'uname'
	echo 'OLDPWD=/nonexistent' >"$DR_REL/env"
	shell 'uname'
	echo 'PWD=/tmp' >"$DR_REL/env"
	shell 'uname'
	printf 'PWD=/app\nSHLVL=3\n' >"$DR_REL/env"
	direct 'uname' /usr/bin/uname
}

@test "the command's words and environment are the shell's" {
	run --separate-stderr dr_run -- "/usr/bin/printf '[%s]' a\\ b 'c d' '' e'f'g"
	assert_success
	assert_output "[a b][c d][][efg]"
	# what bash adds when it execs a lone command: PWD, SHLVL, _
	run --separate-stderr dr_run -- 'env'
	assert_success
	assert_line PWD=/app
	assert_line SHLVL=0
	assert_line _=/usr/bin/env
	run --separate-stderr dr_run -- 'exec env'
	assert_success
	assert_line SHLVL=0
	refute_line --partial _=
	echo 'SHLVL=7' >"$DR_REL/env"
	run --separate-stderr dr_run -- 'exec env'
	assert_line SHLVL=7
}

@test "failures read as the shell's: 127 not found, 126 not runnable" {
	run -127 --separate-stderr dr_run -- 'dynotest-no-such-command x'
	err_has "dynotest-no-such-command: command not found"
	mkdir -p "$DR_SLUG/bin"
	printf 'x\n' >"$DR_SLUG/bin/noexec"
	run -126 --separate-stderr dr_run -- '/app/bin/noexec'
	err_has "Permission denied"
	printf 'echo from-a-script-without-shebang\n' >"$DR_SLUG/bin/plain"
	chmod 755 "$DR_SLUG/bin/plain"
	run --separate-stderr dr_run -- '/app/bin/plain'
	assert_success
	assert_output from-a-script-without-shebang
}
