#!/usr/bin/env bats
# space-net's command line: usage, checks before anything is touched,
# exit codes, and the bash completion of subcommands and space names.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
}

teardown() {
	dyno_teardown
}

@test "no subcommand, an unknown one, or a misplaced option is a usage error" {
	run --separate-stderr space-net
	assert_failure 64
	assert_equal "${stderr_lines[0]}" \
		"usage: space-net create SPACE --cidr CIDR [--outbound ADDR] [--mode MODE]"
	run --separate-stderr space-net frobnicate
	assert_failure 64
	run --separate-stderr space-net detach dynotest-x web.1 --port 1
	assert_failure 64
	run --separate-stderr space-net list extra
	assert_failure 64
	run --separate-stderr space-net attach dynotest-x web.1 --pid nope
	assert_failure 64
	assert_equal "$stderr" "space-net: nope: not a valid pid"
	run --separate-stderr space-net create dynotest-x --cidr 10.1.0.0/16 --mode public
	assert_failure 64
}

@test "--help prints the synopsis and options on stdout" {
	run --separate-stderr space-net --help
	assert_success
	assert_line --index 0 --partial "usage: space-net create SPACE"
	assert_line "       space-net destroy SPACE [--force]"
	assert_line --partial "--outbound ADDR"
}

@test "bad names and ranges are refused before anything is made" {
	run --separate-stderr space-net create Bad_Name --cidr 10.213.9.0/24
	assert_failure 64
	assert_equal "$stderr" \
		"space-net: Bad_Name: space names use lowercase letters, digits and single inner dashes"
	run --separate-stderr space-net create dynotest-x
	assert_failure 64
	assert_equal "$stderr" "space-net: dynotest-x: a new space needs --cidr"
	run --separate-stderr space-net create dynotest-x --cidr 8.8.8.0/24
	assert_failure 65
	assert_equal "$stderr" \
		"space-net: 8.8.8.0/24: not inside an RFC 1918 private range"
	run --separate-stderr space-net create dynotest-x --cidr 10.213.9.1/24
	assert_failure 65
	run --separate-stderr space-net create dynotest-x --cidr 10.213.9.0/31
	assert_failure 65
	run --separate-stderr space-net attach dynotest-x web --pid 1
	assert_failure 64
	assert [ ! -e "$DYNO_ROOT/spaces/dynotest-x" ]
}

@test "a missing space: show and detach say so (66), list shows nothing" {
	run --separate-stderr space-net show dynotest-x
	assert_failure 66
	assert_equal "$stderr" "space-net: dynotest-x: no such space"
	run --separate-stderr space-net detach dynotest-x web.1
	assert_failure 66
	run --separate-stderr space-net list
	assert_success
	assert_output ""
}

@test "a broken space.conf is a configuration error (78)" {
	mkdir -p "$DYNO_ROOT/spaces/dynotest-x"
	printf '[space]\ncidr = banana\n' >"$DYNO_ROOT/spaces/dynotest-x/space.conf"
	run --separate-stderr space-net show dynotest-x
	assert_failure 78
	assert_equal "$stderr" \
		"space-net: $DYNO_ROOT/spaces/dynotest-x/space.conf:2: bad setting"
}

@test "bash completion offers subcommands, then space names" {
	[ -f /usr/share/bash-completion/bash_completion ] ||
		skip "needs bash-completion"
	mkdir -p "$DYNO_ROOT/spaces/dynotest-one" "$DYNO_ROOT/spaces/dynotest-two"
	complete_words() {
		bash -c '
			source /usr/share/bash-completion/bash_completion
			source "$1"; shift
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
			COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
			_space_net space-net "${COMP_WORDS[COMP_CWORD]}" \
				"${COMP_WORDS[COMP_CWORD - 1]}"
			printf "%s\n" "${COMPREPLY[@]}"' _ \
			"$TOP/completions/bash/space-net" "$@"
	}
	run complete_words space-net de
	assert_output "$(printf 'destroy\ndetach')"
	run complete_words space-net show dynotest-t
	assert_output "dynotest-two"
	run complete_words space-net create dynotest-x --m
	assert_output "--mode"
	run complete_words space-net create dynotest-x --mode c
	assert_output "common"
}

@test "completions offer --pid for detach; --help names the short options" {
	[ -f /usr/share/bash-completion/bash_completion ] || skip "needs bash-completion"
	run bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$1"
		COMP_WORDS=(space-net detach sp web.1 --); COMP_CWORD=4
		COMP_LINE="space-net detach sp web.1 --"; COMP_POINT=${#COMP_LINE}
		_space_net space-net -- web.1
		printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$TOP/completions/bash/space-net"
	assert_output $'--app\n--help\n--pid'
	run grep -c -- "--pid=\[only the instance" "$TOP/completions/zsh/_space-net"
	assert_output 1
	run -0 space-net --help
	assert_line --partial "-p, --pid=PID"
	assert_line --partial "(attach); only that instance (detach)"
}

@test "a create that cannot bring its space up leaves no space behind" {
	require_root
	require_cmd ip
	local sp=dynotest-undo br
	space-net create "$sp" --cidr 10.213.121.0/24 >/dev/null
	br=$(space-net show "$sp" | awk '$1 == "bridge" { print $2 }')
	space-net destroy "$sp" --force
	# Another interface holds the bridge's name: the bridge cannot be made.
	ip link add "$br" type veth peer name dtundop
	run --separate-stderr space-net create "$sp" --cidr 10.213.121.0/24
	local rc=$status err=$stderr
	ip link show "$br" >/dev/null 2>&1 && local kept=yes
	ip link delete "$br" 2>/dev/null || true
	assert_equal "$rc" 73
	assert_equal "$err" "space-net: $sp: interface $br exists and is not this space's bridge"
	assert_equal "${kept:-}" yes
	[ ! -e "$DYNO_ROOT/spaces/$sp" ]
	run --separate-stderr space-net show "$sp"
	assert_failure 66
}
