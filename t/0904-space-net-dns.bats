#!/usr/bin/env bats
# space-net: service discovery names (heroku.md 7.3), list and show.
bats_require_minimum_version 1.5.0
load helper/common
load helper/space-net

SP=dynotest-dns
NET=10.213.5

setup() {
	dyno_setup
	sn_setup
	sn_space "$SP"
}

teardown() {
	sn_teardown
	dyno_teardown
}

@test "the space's hosts file names every dyno, type and app; detach updates it" {
	local w1 w2
	space-net create "$SP" --cidr "$NET.0/24"
	sn_sleeper
	w1=$SN_PID
	space-net attach "$SP" web.1 --pid "$w1" --app myapp --port 5000
	sn_sleeper
	w2=$SN_PID
	space-net attach "$SP" web.2 --pid "$w2" --app myapp --port 5000
	sn_sleeper
	space-net attach "$SP" worker.1 --pid "$SN_PID" --app other
	run cat "$DYNO_ROOT/spaces/$SP/dns/hosts"
	assert_line "127.0.0.1	localhost"
	assert_line "$NET.2	1.web.myapp.app.localspace web.myapp.app.localspace myapp.app.localspace"
	assert_line "$NET.3	2.web.myapp.app.localspace web.myapp.app.localspace myapp.app.localspace"
	assert_line "$NET.4	1.worker.other.app.localspace worker.other.app.localspace other.app.localspace"
	space-net detach "$SP" web.1 --app myapp
	run cat "$DYNO_ROOT/spaces/$SP/dns/hosts"
	refute_line --partial "1.web.myapp"
	assert_line --partial "$NET.3	2.web.myapp.app.localspace"
}

@test "inside a dyno, with the dns folder as /etc/hosts, the names resolve" {
	require_cmd getent
	local w1
	space-net create "$SP" --cidr "$NET.0/24"
	sn_sleeper
	w1=$SN_PID
	space-net attach "$SP" web.1 --pid "$w1" --app myapp --port 5000
	sn_sleeper
	space-net attach "$SP" web.2 --pid "$SN_PID" --app myapp --port 5000
	# What dyno-run does: the space's hosts file is the dyno's /etc/hosts.
	# An /etc of our own holds it (the host may have no /etc/hosts to
	# bind over, and its own is never touched).
	mkdir "$DYNO_TEST_DIR/etc"
	cp "$DYNO_ROOT/spaces/$SP/dns/hosts" "$DYNO_TEST_DIR/etc/hosts"
	# as a stack's /etc says them, whatever the host's are (a bare root
	# has no host.conf, and without `multi on` a name gives one address)
	printf 'hosts: files dns\n' >"$DYNO_TEST_DIR/etc/nsswitch.conf"
	printf 'multi on\n' >"$DYNO_TEST_DIR/etc/host.conf"
	run nsenter -t "$w1" -n unshare -m --propagation private sh -c '
		mount --bind "$1" /etc || exit 1
		getent ahostsv4 web.myapp.app.localspace | cut -d" " -f1 | sort -u
		getent hosts 2.web.myapp.app.localspace
		getent hosts localhost' _ "$DYNO_TEST_DIR/etc"
	assert_success
	assert_line --index 0 "$NET.2"
	assert_line --index 1 "$NET.3"
	assert_line --partial "$NET.3 "
	assert_line --regexp '^(127\.0\.0\.1|::1) +localhost'
}

@test "list and show describe the spaces and their topology" {
	space-net create "$SP" --cidr "$NET.0/24"
	sn_sleeper
	space-net attach "$SP" web.1 --pid "$SN_PID" --app myapp --port 5000
	run --separate-stderr space-net list
	assert_success
	assert_output "$SP	private	$NET.0/24	1"
	run --separate-stderr space-net show "$SP"
	assert_success
	assert_line --index 0 "space $SP"
	assert_line "mode private"
	assert_line "cidr $NET.0/24"
	assert_line "gateway $NET.1"
	assert_line "outbound masquerade"
	assert_line "trusted 0.0.0.0/0"
	assert_line "dynos 1"
	assert_line "dyno $NET.2 myapp web.1 $SN_PID 5000 1.web.myapp.app.localspace"
	assert_line "rules"
	assert_line --regexp "^table inet dyno-${SP}_[0-9a-v]{4} \{"
	assert_line --partial "elements = { $NET.2 . 5000 }"
	run --separate-stderr space-net show dynotest-none
	assert_failure 66
}
