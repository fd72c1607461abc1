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
