#!/usr/bin/env bats
# space-net's input policy: a dyno reaches no service of the host itself,
# only the DNS it is given; the router still reaches web dynos.
bats_require_minimum_version 1.5.0
load helper/common
load helper/space-net

P=dynotest-inp
C=dynotest-inc
PNET=10.213.117
CNET=10.213.118
# A host address outside every space, on a veth of its own: "any address".
HOSTLINK=dtinphost
HOSTADDR=10.213.119.1

setup() {
	sn_files_setup "$P" "$C"
}

teardown() {
	sn_files_teardown
}

# host_services GATEWAY: TCP and UDP listeners on the host, on the space's
# gateway and on another host address, as logplexd --listen or sshd would be.
host_services() {
	sn_link "$HOSTLINK"
	ip link add "$HOSTLINK" type veth peer name "${HOSTLINK}p"
	ip addr add "$HOSTADDR/32" dev "$HOSTLINK"
	ip link set "$HOSTLINK" up
	ip link set "${HOSTLINK}p" up
	sn_listen host tcp "$1" 6514
	sn_listen host udp "$1" 5514
	sn_listen host tcp "$HOSTADDR" 6514
}

# attacks SPACE-NET: every way in is shut; the router's way out is open.
attacks() {
	local web=$SN_PID web_a=$ADDR gw=$1.1
	sn_listen "$web" tcp "$web_a" 5000
	run sn_probe "$web" tcp "$gw" 6514
	assert_failure
	run sn_probe "$web" udp "$gw" 5514
	assert_failure
	run sn_probe "$web" tcp "$HOSTADDR" 6514
	assert_failure
	# The router, on the host, reaches the web dyno on PORT.
	run sn_probe host tcp "$web_a" 5000
	assert_success
	# The rule is in the space's own table (outbound: t/0903).
	run nft list chain inet "$(sn_table "$2")" input
	assert_success
	assert_output --partial "iifname \"$(sn_bridge "$2")\" drop"
}

@test "private space: a dyno reaches no host port; the router still reaches it" {
	space-net create "$P" --cidr "$PNET.0/26"
	host_services "$PNET.1"
	sn_dyno "$P" web.1 --app myapp --port 5000
	attacks "$PNET" "$P"
}

@test "common runtime: a dyno reaches no host port; the router still reaches it" {
	space-net create "$C" --cidr "$CNET.0/26" --mode common
	host_services "$CNET.1"
	sn_dyno "$C" web.1 --app myapp --port 5000
	attacks "$CNET" "$C"
}

@test "the DNS server the dyno is given stays reachable when it is on the host" {
	# The host's resolver on the gateway address, as a dnsmasq would be:
	# resolv.conf says so (in a private mount namespace, for the test).
	printf 'nameserver %s.1\nnameserver 192.0.2.53\n' "$PNET" \
		>"$DYNO_TEST_DIR/resolv.conf"
	unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf &&
		space-net create "$2" --cidr "$3"' _ \
		"$DYNO_TEST_DIR/resolv.conf" "$P" "$PNET.0/26"
	sn_dyno "$P" web.1 --app myapp --port 5000
	sn_listen host udp "$PNET.1" 53
	sn_listen host tcp "$PNET.1" 53
	sn_listen host udp "$PNET.1" 54
	run sn_probe "$SN_PID" udp "$PNET.1" 53
	assert_success
	run sn_probe "$SN_PID" tcp "$PNET.1" 53
	assert_success
	run sn_probe "$SN_PID" udp "$PNET.1" 54
	assert_failure
}
