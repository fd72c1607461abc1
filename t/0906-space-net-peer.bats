#!/usr/bin/env bats
# space-net peer: a space split over hosts (t/helper/hosts.bash), each host
# its /24, routes between them, and the isolation rules across hosts.
bats_require_minimum_version 1.5.0
load helper/common
load helper/space-net
load helper/hosts

# Ranges of this file (inside the hosts' namespaces only): common is
# 172.16.0.0/16 there, A and B are private.  Host N's part is the Nth /24.
A=dynotest-pa
B=dynotest-pb
ANET=10.251
BNET=10.252

setup() {
	dyno_setup
	sn_setup
	require_cmd python3
	hosts_setup 3
}

teardown() {
	hosts_teardown
	sn_teardown
	dyno_teardown
}

# dyno H SPACE DYNO [ATTACH OPTIONS]: a stand-in on host H attached as DYNO;
# its pid in PID, its address in ADDR.
dyno() {
	local h=$1 space=$2 name=$3
	shift 3
	host_dyno "$h"
	PID=$HOST_PID
	ADDR=$(in_host "$h" space-net attach "$space" "$name" --pid "$PID" "$@")
}

# peers SPACE NET H...: every pair of the hosts peered both ways.
peers() {
	local space=$1 net=$2 h p
	shift 2
	for h in "$@"; do
		for p in "$@"; do
			[ "$h" = "$p" ] && continue
			in_host "$h" space-net peer add "$space" "h$p" \
			    "$(host_addr "$p")" "$net.$p.0/24" || return 1
		done
	done
}

# from_host H: sn_exec's WHERE for host H's own namespace (its router).
from_host() {
	echo "ns:dynotest-h$1"
}

@test "common: a router on another host reaches a web dyno on PORT, from its gateway; nothing else does" {
	peers common 172.16 1 2
	dyno 1 common web.1 --app myapp --port 5000
	assert_equal "$ADDR" 172.16.1.2
	local web=$PID
	sn_listen "$web" tcp 172.16.1.2 5000
	sn_listen "$web" tcp 172.16.1.2 6000
	run --separate-stderr sn_probe "$(from_host 2)" tcp 172.16.1.2 5000
	assert_success
	assert_output 172.16.2.1
	run sn_probe "$(from_host 2)" tcp 172.16.1.2 6000
	assert_failure
	# A dyno on the other host, even of the same app, gets nowhere.
	dyno 2 common web.1 --app other --port 5000
	assert_equal "$ADDR" 172.16.2.2
	run sn_probe "$PID" tcp 172.16.1.2 5000
	assert_failure
	# A host that is no peer has no route; a peer removed is cut off.
	run sn_probe "$(from_host 3)" tcp 172.16.1.2 5000
	assert_failure
	in_host 1 space-net peer del common h2
	run sn_probe "$(from_host 2)" tcp 172.16.1.2 5000
	assert_failure
}

@test "private: the space's dynos on two hosts talk on any port; other spaces' dynos and the hosts' services stay apart" {
	in_host 1 space-net create "$A" --cidr "$ANET.0.0/16"
	in_host 2 space-net create "$A" --cidr "$ANET.0.0/16"
	in_host 1 space-net create "$B" --cidr "$BNET.0.0/16"
	in_host 2 space-net create "$B" --cidr "$BNET.0.0/16"
	peers "$A" "$ANET" 1 2
	peers "$B" "$BNET" 1 2
	peers common 172.16 1 2
	dyno 1 "$A" worker.1 --app shop
	assert_equal "$ADDR" "$ANET.1.2"
	sn_listen "$PID" tcp "$ANET.1.2" 7000
	sn_listen "$PID" udp "$ANET.1.2" 7001
	dyno 2 "$A" worker.1 --app shop-api
	local a2=$PID
	assert_equal "$ADDR" "$ANET.2.2"
	run --separate-stderr sn_probe "$a2" tcp "$ANET.1.2" 7000
	assert_success
	assert_output "$ANET.2.2"
	run sn_probe "$a2" udp "$ANET.1.2" 7001
	assert_success
	# Another private space's dyno, and a common one, on the other host.
	dyno 2 "$B" worker.1 --app intruder
	run sn_probe "$PID" tcp "$ANET.1.2" 7000
	assert_failure
	dyno 2 common worker.1 --app intruder
	run sn_probe "$PID" tcp "$ANET.1.2" 7000
	assert_failure
	# h2's own services are closed to A's dynos on h1, as to its own.
	sn_listen "$(from_host 2)" tcp "$ANET.2.1" 7100
	dyno 1 "$A" worker.2 --app shop
	run sn_probe "$PID" tcp "$ANET.2.1" 7100
	assert_failure
	# A dyno cannot pass for another part's dyno: its spoofed packets stop.
	local br
	br=$(in_host 1 space-net show "$A" | awk '$1 == "bridge" { print $2 }')
	run in_host 1 nft list chain inet \
		"$(in_host 1 space-net show "$A" | awk '$2 == "inet" { print $3 }')" forward
	assert_output --partial "iifname \"$br\" ip saddr != $ANET.1.0/24 drop"
	in_host 2 space-net peer del "$A" h1
	run sn_probe "$a2" tcp "$ANET.1.2" 7000
	assert_failure
}

@test "peer add converges and replaces, peer del is idempotent; the file, the route and show agree" {
	local conf
	in_host 1 space-net peer add common h2 "$(host_addr 2)" 172.16.2.0/24
	run --separate-stderr in_host 1 space-net peer add common h2 "$(host_addr 2)" 172.16.2.0/24
	assert_success
	assert_output ''
	run in_host 1 ip route show 172.16.2.0/24
	assert_output --partial "172.16.2.0/24 via 10.250.0.2 dev eth0 proto 100 src 172.16.1.1"
	conf="$(host_dir 1)/root/spaces/common/space.conf"
	run grep -c '^peer = ' "$conf"
	assert_output 1
	# h2 moved to another address: the route follows.
	in_host 1 space-net peer add common h2 "$(host_addr 3)" 172.16.2.0/24
	run in_host 1 ip route show 172.16.2.0/24
	assert_output --partial "via 10.250.0.3 "
	run --separate-stderr in_host 1 space-net peer list
	assert_output "$(printf 'common\th2\t10.250.0.3\t172.16.2.0/24')"
	run in_host 1 space-net show common
	assert_line "local 172.16.1.0/24"
	assert_line "peer h2 10.250.0.3 172.16.2.0/24"
	in_host 1 space-net peer del common h2
	run --separate-stderr in_host 1 space-net peer del common h2
	assert_success
	run in_host 1 ip route show 172.16.2.0/24
	assert_output ''
	run grep -c '^peer = ' "$conf"
	assert_output 0
	run in_host 1 space-net peer list common
	assert_output ''
}

# bad EXIT ARGS...: peer add on h1 fails with EXIT and one line on stderr.
bad() {
	local want=$1
	shift
	run --separate-stderr in_host 1 space-net peer add "$@"
	[ "$status" -eq "$want" ] || {
		echo "peer add $*: exit $status, not $want: $stderr" >&2
		return 1
	}
	[ "${#stderr_lines[@]}" -eq 1 ] || {
		echo "peer add $*: not one line: $stderr" >&2
		return 1
	}
}

@test "bad peers are refused with one line and nothing changes" {
	in_host 1 space-net peer add common h2 "$(host_addr 2)" 172.16.2.0/24
	ip -n dynotest-h1 route add 172.16.9.0/24 dev eth0
	bad 66 dynotest-nope h3 10.250.0.3 10.9.3.0/24
	bad 64 ../x h3 10.250.0.3 172.16.3.0/24
	bad 64 common 'h3;reboot' 10.250.0.3 172.16.3.0/24
	bad 64 common 'h 3' 10.250.0.3 172.16.3.0/24
	bad 64 common ../h3 10.250.0.3 172.16.3.0/24
	bad 64 common "$(printf 'h%.0s' {1..64})" 10.250.0.3 172.16.3.0/24
	bad 65 common h3 10.250.0 172.16.3.0/24
	bad 65 common h3 127.0.0.1 172.16.3.0/24
	bad 65 common h3 224.0.0.1 172.16.3.0/24
	bad 65 common h3 172.16.3.1 172.16.3.0/24
	bad 65 common h3 10.250.0.2 172.16.3.0/24
	bad 65 common h3 192.0.2.7 172.16.3.0/24
	bad 65 common h3 10.250.0.3 172.16.2.0/24
	bad 65 common h3 10.250.0.3 172.16.2.0/23
	bad 65 common h3 10.250.0.3 172.16.3.1/24
	bad 65 common h3 10.250.0.3 172.16.1.0/24
	bad 65 common h3 10.250.0.3 10.9.3.0/24
	bad 65 common h3 10.250.0.3 172.16.3.0/25
	bad 73 common h3 10.250.0.3 172.16.9.0/24
	run --separate-stderr in_host 1 space-net peer list
	assert_output "$(printf 'common\th2\t10.250.0.2\t172.16.2.0/24')"
	run in_host 1 ip route show proto 100
	assert_output --partial "172.16.2.0/24 via 10.250.0.2"
	refute_output --partial 172.16.3.0
	# A host without a [cluster] index has the whole space: no peers.
	: >"$(host_dir 3)/dyno.conf"
	run --separate-stderr in_host 3 space-net peer add common h1 10.250.0.1 172.16.1.0/24
	assert_failure 78
	run in_host 3 space-net show common
	refute_line --partial local
	assert_line "gateway 172.16.0.1"
}

@test "destroy removes the peers' routes; teardown leaves no namespace, link or table" {
	in_host 1 space-net create "$A" --cidr "$ANET.0.0/16"
	in_host 2 space-net create "$A" --cidr "$ANET.0.0/16"
	peers "$A" "$ANET" 1 2
	in_host 1 space-net destroy "$A"
	run in_host 1 ip route show proto 100
	assert_output ''
	run in_host 1 nft list tables
	refute_output --partial "dyno-$A"
	peers common 172.16 1 2
	dyno 1 common web.1 --app myapp --port 5000
	hosts_clean
	run hosts_leftovers
	assert_output ''
	run ip netns list
	refute_output --partial dynotest-h
	run nft list tables
	refute_output --partial dynotest-p
}
