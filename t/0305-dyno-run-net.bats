#!/usr/bin/env bats
# dyno-run --net=space:NAME through space-net, and its failure modes.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-run
load helper/space-net

SP=dynotest-drs
NET=10.213.37

setup() {
	dyno_setup
	dr_setup
}

teardown() {
	dr_teardown
	sn_teardown
	dyno_teardown
}

@test "space:NAME: an address from space-net, the private-space env, released after" {
	[ -x "$TOP/bin/space-net" ] || skip "bin/space-net is not built"
	sn_setup
	sn_space "$SP"
	run space-net create "$SP" --cidr "$NET.0/24"
	assert_success
	local info="$DYNO_TEST_DIR/info"
	run --separate-stderr timeout 60 dyno-run --app "$DR_APP" --name web.1 \
		--port 5000 --net "space:$SP" --info-file "$info" -- \
		'echo $HEROKU_PRIVATE_IP; echo $HEROKU_DNS_FORMATION_NAME; echo $HEROKU_DNS_DYNO_NAME; echo $HEROKU_DNS_APP_NAME; grep -c eth0 /proc/net/dev; readlink /etc/hosts'
	assert_success
	assert_line --index 0 --regexp "^$NET\.[0-9]+$"
	assert_line --index 1 "web.$DR_APP.app.localspace"
	assert_line --index 2 "1.web.$DR_APP.app.localspace"
	assert_line --index 3 "$DR_APP.app.localspace"
	assert_line --index 4 "1"
	assert_line --index 5 "/etc/dyno-dns/hosts"
	run ls -A "$DYNO_ROOT/spaces/$SP/leases"
	assert_output ""
}

@test "space:NAME of a common-mode space: an address, no private-space env nor names" {
	[ -x "$TOP/bin/space-net" ] || skip "bin/space-net is not built"
	sn_setup
	sn_space "$SP"
	run space-net create "$SP" --cidr "$NET.0/24" --mode common
	assert_success
	run --separate-stderr timeout 60 dyno-run --app "$DR_APP" --name web.1 \
		--port 5000 --net "space:$SP" -- \
		'echo "ip=${HEROKU_PRIVATE_IP-unset} dns=${HEROKU_DNS_FORMATION_NAME-unset}${HEROKU_DNS_DYNO_NAME-}${HEROKU_DNS_APP_NAME-}"; grep -c eth0 /proc/net/dev; readlink /etc/hosts || echo own-hosts'
	assert_success
	assert_line --index 0 "ip=unset dns=unset"
	assert_line --index 1 "1"
	assert_line --index 2 "own-hosts"
}

@test "space:NAME without space-net fails with 69 instead of pretending" {
	mkdir "$DYNO_TEST_DIR/bin"
	cp "$TOP/bin/dyno-run" "$DYNO_TEST_DIR/bin/"
	run --separate-stderr env PATH=/usr/bin:/bin "$DYNO_TEST_DIR/bin/dyno-run" \
		--app "$DR_APP" --net space:dynotest-nospace -- true
	assert_equal "$status" 69
	assert_equal "$stderr" "dyno-run: --net=space:dynotest-nospace: space-net not found next to dyno-run or on PATH"
	run dr_cgroups
	assert_output ""
}

@test "space:NAME of a space that does not exist fails with 69" {
	[ -x "$TOP/bin/space-net" ] || skip "bin/space-net is not built"
	run --separate-stderr timeout 60 dyno-run --app "$DR_APP" \
		--net space:dynotest-nosuch -- true
	assert_equal "$status" 69
	err_has "dyno-run: space-net attach dynotest-nosuch run."
	run dr_cgroups
	assert_output ""
}
