#!/usr/bin/env bats
# A release made on one host runs on the others: release follow (from
# dyno-agent) makes the same vN there, its slug fetched from the first
# host's dyno-slugd and checked, its config vars from etcd.
bats_require_minimum_version 1.5.0
load helper/common
load helper/etcd

APPNAME=dynotest-fol
HOSTS="h1 h2"

setup() {
	require_root
	[ -x "$TOP/bin/dyno-run" ] || skip "dyno-run is not built"
	dyno_setup
	etcd_setup
	slug_hosts_setup
}

teardown() { slug_hosts_end /dyno/; }

@test "a release made on h1 runs on h2: same version, slug fetched and checked, config from etcd" {
	run --separate-stderr on h1 release create "$APPNAME" --slug "$DYNO_TEST_DIR/slug.tgz"
	assert_success
	assert_output v1
	run --separate-stderr on h1 release config set "$APPNAME" GREETING=bonjour
	assert_success
	[ -d "$DYNO_TEST_DIR/h2/root/apps/$APPNAME" ] && fail "h2 has the app already"
	agent_start h1
	agent_start h2
	run --separate-stderr on h2 dyno-manager scale "$APPNAME" web=2
	# h2 has no copy of the app: scale from h1, the host that made it
	run --separate-stderr on h1 dyno-manager scale "$APPNAME" web=2
	assert_success
	wait_for 40 routes_say h2 2 bonjour
	wait_for 10 routes_say h1 2 bonjour
	run readlink "$DYNO_TEST_DIR/h2/root/apps/$APPNAME/current"
	assert_output releases/v2
	[ -f "$DYNO_TEST_DIR/h2/root/slugs/sha256-$(sha256sum "$DYNO_TEST_DIR/slug.tgz" | cut -d' ' -f1).tgz" ]
	# once per release: no release phase, no api lines on h2 (none to log)
	run --separate-stderr on h2 release follow "$APPNAME"
	assert_success
	assert_output v2
}

@test "release follow: a slug whose bytes are not its sha256 is refused (R17), nothing made" {
	run --separate-stderr on h1 release create "$APPNAME" --slug "$DYNO_TEST_DIR/slug.tgz"
	assert_success
	local hex
	hex=$(sha256sum "$DYNO_TEST_DIR/slug.tgz" | cut -d' ' -f1)
	# h1 as its agent registers it (no agent: no dynos in this test)
	slug_host_register
	# the served archive is swapped for other bytes under its name
	printf 'not a slug' >"$DYNO_TEST_DIR/h1/root/slugs/sha256-$hex.tgz"
	run --separate-stderr on h2 release follow "$APPNAME"
	assert_failure
	assert_equal "$(grep -c R17 <<<"$stderr")" 1
	[ ! -d "$DYNO_TEST_DIR/h2/root/apps/$APPNAME/releases/v1" ]
	run --separate-stderr env DYNO_CONF=/dev/null release follow "$APPNAME"
	assert_failure 78
}
