#!/usr/bin/env bats
# dyno-agent on hosts that are network namespaces (helper/hosts.bash): each
# host's spaces reach the other live hosts' parts through space-net peer,
# and a dead host's peer goes.
bats_require_minimum_version 1.5.0
load helper/common
load helper/hosts
load helper/etcd

setup() {
	dyno_setup
	hosts_setup 3
	ETCD_IP=$HOSTS_ROOT_ADDR
	etcd_setup
	local i
	for i in 1 2 3; do
		printf 'etcd = %s\nhost = h%s\naddress = %s\n' "$(etcd_endpoints)" \
			"$i" "$(host_addr "$i")" >>"$(host_dir "$i")/dyno.conf"
		in_host "$i" space-net create dynotest-sp --cidr 10.251.0.0/16 \
			--mode private >/dev/null || fail "space-net create on h$i"
		host_bg "$i" dyno-agent run >>"$(host_dir "$i")/agent.log" 2>&1
	done
}

teardown() {
	hosts_teardown
	etcd_teardown
	dyno_teardown
}

peers_are() {
	[ "$(in_host 1 space-net peer list dynotest-sp | cut -f2-4 | tr '\t\n' ' ')" = "$1" ]
}

@test "every host's space reaches the other hosts' /24 through them; a dead host's peer goes" {
	wait_for 30 peers_are "h2 10.250.0.2 10.251.2.0/24 h3 10.250.0.3 10.251.3.0/24 "
	run --separate-stderr in_host 3 space-net peer list dynotest-sp
	assert_output --partial $'h1\t10.250.0.1\t10.251.1.0/24'
	local p comm
	for p in $(host_pids 3); do
		read -r comm <"/proc/$p/comm" || continue
		[ "$comm" = dyno-agent ] && kill -9 "$p"
	done
	wait_for 25 peers_are "h2 10.250.0.2 10.251.2.0/24 "
}

@test "a host cut off from etcd by nftables fences itself, and comes back with a new lease" {
	wait_for 30 bash -c "ETCDCTL_API=3 etcdctl --endpoints $(etcd_endpoints) get /dyno/hosts/h3 | grep -q ."
	local lease
	lease=$(cat "$(host_dir 3)/run/cluster/lease")
	in_host 3 nft -f - <<-N
	table inet dynotest-part {
		chain out {
			type filter hook output priority 0;
			ip daddr $HOSTS_ROOT_ADDR tcp dport $((ETCD_BASE + 10))-$((ETCD_BASE + 31)) drop
		}
	}
	N
	# silence is not "etcd is down": the host fences, the others see it go
	wait_for 20 grep -q "h3: fenced" "$(host_dir 3)/agent.log"
	run grep -c "etcd is down" "$(host_dir 3)/agent.log"
	assert_output 0
	wait_for 20 bash -c "! ETCDCTL_API=3 etcdctl --endpoints $(etcd_endpoints) get /dyno/hosts/h3 | grep -q ."
	in_host 3 nft delete table inet dynotest-part
	wait_for 20 bash -c "ETCDCTL_API=3 etcdctl --endpoints $(etcd_endpoints) get /dyno/hosts/h3 | grep -q ."
	[ "$(cat "$(host_dir 3)/run/cluster/lease")" != "$lease" ]
}
