#!/usr/bin/env bats
# Two DYNO_ROOTs on one host: each root's bridges, veths and tables carry
# its tag, so the same space layout in both never takes the other's links.
bats_require_minimum_version 1.5.0
load helper/common
load helper/space-net

# This file's ranges: common of root A and of root B.
NA=10.213.7.0/25
NB=10.213.7.128/25

setup() {
	dyno_setup
	sn_setup
	RA="$DYNO_TEST_DIR/root-a" RB="$DYNO_TEST_DIR/root-b"
	mkdir -p "$RA" "$RB"
	sn_root_space "$RA" common
	sn_root_space "$RB" common
	sn_root_space "$RA" dynotest-roots-long-space-name
}

teardown() {
	sn_teardown
	dyno_teardown
}

in_root() {
	DYNO_ROOT=$1 "${@:2}"
}

# attach_bg ROOT PID OUT: space-net attach common web.1 in ROOT, in the
# background (its pid in BG), its address into OUT.
attach_bg() {
	in_root "$1" space-net attach common web.1 --pid "$2" --app myapp \
		--port 5000 >"$3" 2>&1 3>&- &
	BG=$!
}

@test "two roots, one layout: both dynos get their links at once; one torn down leaves the other's" {
	local pa pb ba bb ja jb va vb
	run -0 in_root "$RA" space-net create common --cidr "$NA" --mode common
	run -0 in_root "$RB" space-net create common --cidr "$NB" --mode common
	sn_sleeper
	pa=$SN_PID
	sn_sleeper
	pb=$SN_PID
	attach_bg "$RA" "$pa" "$DYNO_TEST_DIR/a.out"
	ja=$BG
	attach_bg "$RB" "$pb" "$DYNO_TEST_DIR/b.out"
	jb=$BG
	wait_status "$ja"
	assert_equal "$status" 0
	wait_status "$jb"
	assert_equal "$status" 0
	run -0 cat "$DYNO_TEST_DIR/a.out" "$DYNO_TEST_DIR/b.out"
	assert_output "$(printf '10.213.7.2\n10.213.7.130')"
	ba=$(DYNO_ROOT=$RA sn_bridge common)
	bb=$(DYNO_ROOT=$RB sn_bridge common)
	va=$(DYNO_ROOT=$RA sn_veth common 10.213.7.2)
	vb=$(DYNO_ROOT=$RB sn_veth common 10.213.7.130)
	# Different names, none over IFNAMSIZ's 15 characters.
	assert [ "$ba" != "$bb" ] && assert [ "$va" != "$vb" ]
	assert [ "${#ba}" -le 15 ] && assert [ "${#va}" -le 15 ]
	run -0 ip -o link show "$va"
	assert_output --partial "master $ba"
	run -0 ip -o link show "$vb"
	assert_output --partial "master $bb"
	# A run in A converges A only: B's veth is not swept off as an orphan.
	run -0 in_root "$RA" space-net detach common web.1 --app myapp
	run -0 in_root "$RA" space-net destroy common --force
	run ip link show "$ba"
	assert_failure
	run -0 ip -o link show "$vb"
	assert_output --partial "master $bb"
	run -0 nsenter -t "$pb" -n ip -4 -o addr show dev eth0
	assert_output --partial "10.213.7.130/25"
	run -0 nft list table inet "$(DYNO_ROOT=$RB sn_table common)"
	assert_output --partial "10.213.7.130 . 5000"
	# A later run of B (a restart) still finds its dyno's link: same names.
	run -0 in_root "$RB" space-net show common
	assert_line "dynos 1"
	sn_sleeper
	run -0 in_root "$RB" space-net attach common web.2 --pid "$SN_PID" \
		--app myapp --port 5000
	assert_output "10.213.7.131"
	run -0 ip -o link show "$vb"
	assert_output --partial "master $bb"
}

@test "two roots, one range: the second is refused in one line, the first's links untouched" {
	local va
	run -0 in_root "$RA" space-net create common --cidr "$NA" --mode common
	sn_sleeper
	run -0 in_root "$RA" space-net attach common web.1 --pid "$SN_PID"
	va=$(DYNO_ROOT=$RA sn_veth common 10.213.7.2)
	run --separate-stderr in_root "$RB" space-net create common --cidr "$NA" \
		--mode common
	assert_failure 73
	assert_equal "$stderr" \
		"space-net: common: range overlaps the host's route to $NA"
	run -0 ip -o link show "$va"
	assert_output --partial "master $(DYNO_ROOT=$RA sn_bridge common)"
	run -0 nsenter -t "$SN_PID" -n ip -4 -o addr show dev eth0
	assert_output --partial "10.213.7.2/25"
}

@test "a long space name in a tagged root: a hashed bridge name within 15 characters" {
	local br
	run -0 in_root "$RA" space-net create dynotest-roots-long-space-name \
		--cidr 10.213.7.0/26
	br=$(DYNO_ROOT=$RA sn_bridge dynotest-roots-long-space-name)
	assert [ "${#br}" -eq 15 ]
	assert_regex "$br" '^dyno-[0-9a-v]{4}-[0-9a-f]{5}$'
	run -0 ip -o link show "$br"
	assert_output --partial "alias dyno space dynotest-roots-long-space-name $(realpath "$RA")"
}
