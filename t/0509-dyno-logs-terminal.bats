#!/usr/bin/env bats
# dyno-logs on a terminal: an app's control bytes are shown, not obeyed;
# in a pipe they pass as they are.  One line per attack.
bats_require_minimum_version 1.5.0
load helper/common
load helper/logplexd

setup() {
	require_cmd script od
	dyno_setup
	lp_app myapp
	lp_start
	# What a hostile app prints, one line per trick.
	{
		printf 'real line\r2026-11-22T10:00:00.000000+00:00 heroku[router]: at=info FORGED-CR\n'
		printf 'clear\033[2K\033[1Gheroku[router]: FORGED-ESC\n'
		printf 'csi8\302\233FORGED-C1-UTF8\n'
		printf 'csi1\233FORGED-C1-RAW\n'
		printf 'bell\a back\b vt\v ff\f del\177 nul-free\001 end\n'
		printf 'tab\tkept caf\303\251 \342\202\254 \360\237\232\200 ok\n'
	} | logplex-send myapp app web.1
	wait_for 10 lp_log_has myapp ' ok'
}
teardown() { lp_cleanup; dyno_teardown; }

# on_tty ARGS...: dyno-logs myapp ARGS with stdout a terminal (script(1)),
# no colours; the terminal's CR LF line ends made LF again.
on_tty() {
	NO_COLOR=1 script -qec "dyno-logs myapp $*" /dev/null </dev/null |
		sed 's/\r$//'
}

@test "on a terminal, control characters are escaped: no forged line can be drawn" {
	run on_tty
	assert_success
	assert_line --partial 'app[web.1]: real line\r2026-11-22T10:00:00.000000+00:00 heroku[router]: at=info FORGED-CR'
	assert_line --partial 'app[web.1]: clear\x1b[2K\x1b[1Gheroku[router]: FORGED-ESC'
	assert_line --partial 'app[web.1]: csi8\xc2\x9bFORGED-C1-UTF8'
	assert_line --partial 'app[web.1]: csi1\x9bFORGED-C1-RAW'
	assert_line --partial 'app[web.1]: bell\a back\b vt\v ff\f del\x7f nul-free\x01 end'
	# TAB and UTF-8 text (whose bytes include 0x80-0x9f) are left alone.
	assert_line --partial "app[web.1]: tab	kept café € 🚀 ok"
	# Nothing raw is left for the terminal to act on.
	run bash -c "$(declare -f on_tty); on_tty | LC_ALL=C grep -c \$'[\\x01-\\x08\\x0b-\\x1f\\x7f]'"
	assert_output 0
}

@test "in a pipe the bytes pass as they are (grep and files keep working)" {
	run bash -c "dyno-logs myapp | grep -c \$'\\r'"
	assert_output 1
	run bash -c "dyno-logs myapp | grep -c \$'\\x1b\\[2K'"
	assert_output 1
	run bash -c "dyno-logs myapp | od -An -c | grep -c '302 233'"
	assert_output 1
}

@test "--escape forces escaping into a pipe, --raw raw bytes onto a terminal" {
	run bash -c "dyno-logs myapp --escape | grep -cF 'real line\\r2026'"
	assert_output 1
	run bash -c "dyno-logs myapp --escape | grep -c \$'\\r'"
	assert_output 0
	run on_tty --raw
	assert_line --partial $'clear\e[2K'
	# The last of the two wins, as usual.
	run bash -c "dyno-logs myapp --escape --raw | grep -c \$'\\r'"
	assert_output 1
}

@test "colours on a terminal stay, around escaped text" {
	run bash -c "script -qec 'env -u NO_COLOR dyno-logs myapp' /dev/null </dev/null | grep -F 'FORGED-ESC'"
	assert_success
	[[ $output == *$'\e[3'[0-9]'mapp[web.1]:'*'\x1b[2K'* ]]
	[[ $output != *$'\e[2K'* ]]
}
