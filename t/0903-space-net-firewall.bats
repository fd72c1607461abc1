#!/usr/bin/env bats
# space-net's firewall: the reachability matrix of heroku.md section 7.
bats_require_minimum_version 1.5.0
load helper/common
load helper/space-net

# This file's ranges: two private spaces, a common-mode one, and a /30 for
# a namespace playing a client outside the host, routed through the host.
A=dynotest-fwa
B=dynotest-fwb
C=dynotest-fwc
OUT=dynotest-fwout
OUTLINK=dtfwout

setup() {
	sn_files_setup "$A" "$B" "$C"
}

teardown() {
	sn_files_teardown
}

# outside: the namespace $OUT at 10.213.3.254, its route via the host.
outside() {
	sn_netns "$OUT"
	sn_link "$OUTLINK"
	ip link add "$OUTLINK" type veth peer name eth0 netns "$OUT"
	ip addr add 10.213.3.253/30 dev "$OUTLINK"
	ip link set "$OUTLINK" up
	ip -n "$OUT" addr add 10.213.3.254/30 dev eth0
	ip -n "$OUT" link set eth0 up
	ip -n "$OUT" link set lo up
	ip -n "$OUT" route add default via 10.213.3.253
}

@test "common: the host reaches a web dyno on PORT only; dynos never reach each other" {
	local web1 web1a web2 web2a worker workera
	space-net create "$C" --cidr 10.213.3.128/26 --mode common
	sn_dyno "$C" web.1 --app myapp --port 5000
	web1=$SN_PID web1a=$ADDR
	sn_dyno "$C" web.2 --app myapp --port 5000
	web2=$SN_PID web2a=$ADDR
	sn_dyno "$C" worker.1 --app myapp
	worker=$SN_PID workera=$ADDR
	sn_listen "$web1" tcp "$web1a" 5000
	sn_listen "$web1" tcp "$web1a" 6000
	sn_listen "$web1" udp "$web1a" 5000
	sn_listen "$worker" tcp "$workera" 5000
	sn_listen "$web2" tcp "$web2a" 5000

	run sn_probe host tcp "$web1a" 5000
	assert_success
	run sn_probe host tcp "$web1a" 6000
	assert_failure
	run sn_probe host udp "$web1a" 5000
	assert_failure
	run sn_probe host tcp "$workera" 5000
	assert_failure
	run sn_probe "$web2" tcp "$web1a" 5000
	assert_failure
	run sn_probe "$worker" tcp "$web1a" 5000
	assert_failure
	run sn_probe "$web1" tcp "$web2a" 5000
	assert_failure
	# Inside one dyno, anything goes.
	run sn_probe "$web1" tcp "$web1a" 6000
	assert_success
}

# veth_of ADDR: the host end of the veth of $C's dyno at ADDR.
veth_of() {
	sn_veth "$C" "$1"
}

@test "common: the bridge isolates dyno ports, nftables or not; an older space's ports at the next attach" {
	local web1 web1a other othera
	space-net create "$C" --cidr 10.213.3.128/26 --mode common
	sn_dyno "$C" web.1 --app myapp --port 5000
	web1=$SN_PID web1a=$ADDR
	sn_listen "$web1" tcp "$web1a" 5000
	sn_listen "$web1" udp "$web1a" 5000
	# as an older space-net left it: no rules in space.conf, a plain port
	sed -i '/^rules/d' "$DYNO_ROOT/spaces/$C/space.conf"
	bridge link set dev "$(veth_of "$web1a")" isolated off
	sn_dyno "$C" worker.1 --app other
	other=$SN_PID othera=$ADDR
	run -0 bridge -d link show dev "$(veth_of "$web1a")"
	assert_output --partial "isolated on"
	run -0 bridge -d link show dev "$(veth_of "$othera")"
	assert_output --partial "isolated on"
	run -0 grep -x "rules = 2" "$DYNO_ROOT/spaces/$C/space.conf"
	# Rules flushed by hand: still no frame from one dyno to another.
	nft delete table inet "$(sn_table "$C")"
	run sn_probe "$other" tcp "$web1a" 5000
	assert_failure
	run sn_probe "$other" udp "$web1a" 5000
	assert_failure
	# while the bridge itself (the host, the router) still reaches it
	run sn_probe host tcp "$web1a" 5000
	assert_success
}

@test "private: dynos reach each other over TCP and UDP on any port; the host only on PORT" {
	local web web_a worker worker_a
	space-net create "$A" --cidr 10.213.3.0/26
	sn_dyno "$A" web.1 --app myapp --port 5000
	web=$SN_PID web_a=$ADDR
	sn_dyno "$A" worker.1 --app other
	worker=$SN_PID worker_a=$ADDR
	sn_listen "$web" tcp "$web_a" 7000
	sn_listen "$web" tcp "$web_a" 5000
	sn_listen "$worker" udp "$worker_a" 8125
	sn_listen "$worker" tcp "$worker_a" 9000

	run sn_probe "$worker" tcp "$web_a" 7000
	assert_success
	assert_output "$worker_a"
	run sn_probe "$web" udp "$worker_a" 8125
	assert_success
	run sn_probe "$web" tcp "$worker_a" 9000
	assert_success
	run sn_probe host tcp "$web_a" 5000
	assert_success
	run sn_probe host tcp "$web_a" 7000
	assert_failure
	run sn_probe host tcp "$worker_a" 9000
	assert_failure
}

@test "across spaces: no dyno reaches another space's dynos, TCP or UDP" {
	local a a_addr b b_addr
	space-net create "$A" --cidr 10.213.3.0/26
	space-net create "$B" --cidr 10.213.3.64/26
	sn_dyno "$A" web.1 --app appa --port 5000
	a=$SN_PID a_addr=$ADDR
	sn_dyno "$B" web.1 --app appb --port 5000
	b=$SN_PID b_addr=$ADDR
	sn_listen "$a" tcp "$a_addr" 5000
	sn_listen "$b" tcp "$b_addr" 5000
	sn_listen "$b" udp "$b_addr" 5353

	# Both are up: the host (the router) reaches them.
	run sn_probe host tcp "$b_addr" 5000
	assert_success
	run sn_probe host tcp "$a_addr" 5000
	assert_success
	run sn_probe "$a" tcp "$b_addr" 5000
	assert_failure
	run sn_probe "$a" udp "$b_addr" 5353
	assert_failure
	run sn_probe "$b" tcp "$a_addr" 5000
	assert_failure
}

@test "trusted ranges: outside clients reach web dynos only from a trusted range" {
	local web web_a
	space-net create "$A" --cidr 10.213.3.0/26
	outside
	sn_dyno "$A" web.1 --app myapp --port 5000
	web=$SN_PID web_a=$ADDR
	sn_listen "$web" tcp "$web_a" 5000
	sn_listen "$web" tcp "$web_a" 7000
	sn_listen "ns:$OUT" tcp 10.213.3.254 80

	# Default 0.0.0.0/0: the outside client gets in, but only on PORT.
	run sn_probe "ns:$OUT" tcp "$web_a" 5000
	assert_success
	assert_output 10.213.3.254
	run sn_probe "ns:$OUT" tcp "$web_a" 7000
	assert_failure

	run space-net trust "$A" 192.0.2.0/24 198.51.100.7/32
	assert_success
	run space-net show "$A"
	assert_line "trusted 192.0.2.0/24 198.51.100.7/32"
	run sn_probe "ns:$OUT" tcp "$web_a" 5000
	assert_failure
	# The router, on the host, is not subject to them.
	run sn_probe host tcp "$web_a" 5000
	assert_success

	run space-net trust "$A" 10.213.3.252/30
	assert_success
	run sn_probe "ns:$OUT" tcp "$web_a" 5000
	assert_success

	# Outbound: dynos reach the world, which sees the host (masquerade).
	run sn_probe "$web" tcp 10.213.3.254 80
	assert_success
	assert_output 10.213.3.253
}

@test "outbound traffic leaves from the space's --outbound address" {
	local web
	outside
	ip addr add 10.213.3.249/32 dev "$OUTLINK"
	ip -n "$OUT" route add 10.213.3.249/32 dev eth0
	space-net create "$A" --cidr 10.213.3.0/26 --outbound 10.213.3.249
	sn_dyno "$A" web.1 --app myapp --port 5000
	web=$SN_PID
	sn_listen "ns:$OUT" tcp 10.213.3.254 80
	run sn_probe "$web" tcp 10.213.3.254 80
	assert_success
	assert_output 10.213.3.249
	run space-net show "$A"
	assert_line "outbound 10.213.3.249"
}

@test "trust takes at most 20 ranges, and only for private spaces" {
	space-net create "$A" --cidr 10.213.3.0/26
	space-net create "$C" --cidr 10.213.3.128/26 --mode common
	run --separate-stderr space-net trust "$A" $(seq -f '10.%g.0.0/16' 1 21)
	assert_failure 65
	assert_equal "$stderr" "space-net: $A: at most 20 trusted ranges"
	run --separate-stderr space-net trust "$A" 10.1.0.0/33
	assert_failure 65
	run --separate-stderr space-net trust "$C" 10.0.0.0/8
	assert_failure 65
	assert_equal "$stderr" \
		"space-net: $C: only private spaces have trusted ranges"
	run space-net trust "$A" $(seq -f '10.%g.0.0/16' 1 20)
	assert_success
	run --separate-stderr space-net show "$A"
	assert_success
	assert_line "trusted $(seq -f '10.%g.0.0/16' 1 20 | tr '\n' ' ' | sed 's/ $//')"
	run space-net destroy "$A"
	assert_success
}
