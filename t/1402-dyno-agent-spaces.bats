#!/usr/bin/env bats
# dyno-agent on hosts that are network namespaces (helper/hosts.bash): each
# host's spaces reach the other live hosts' parts through space-net peer,
# their dynos resolve each other's names across hosts, and a dead host's
# peer goes.
bats_require_minimum_version 1.5.0
load helper/common
load helper/hosts
load helper/etcd
load helper/space-net

setup() {
	dyno_setup
	sn_setup
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
	sn_teardown
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

# has_name I NAME ADDR: host I's space hosts file maps NAME to ADDR.
has_name() {
	grep -qE "^$3	(.* )?$2( |\$)" "$(host_dir "$1")/root/spaces/dynotest-sp/dns/hosts"
}

# by_name PID NAME PORT: from dyno PID, with its space's hosts file as
# /etc/hosts (as dyno-run gives it), connect to NAME:PORT; prints the
# address the name resolved to and what the server saw.
by_name() {
	local etc="$DYNO_TEST_DIR/etc.$1"
	mkdir -p "$etc"
	cp "$HOSTS_FILE" "$etc/hosts"
	printf 'hosts: files\n' >"$etc/nsswitch.conf"
	nsenter -t "$1" -n unshare -m --propagation private sh -c '
		mount --bind "$1" /etc || exit 1
		exec python3 -c "import socket, sys
a = socket.gethostbyname(sys.argv[1])
s = socket.create_connection((a, int(sys.argv[2])), timeout=3)
print(a, s.recv(64).decode().split()[1])" "$2" "$3"' _ "$etc" "$2" "$3"
}

@test "a space's dynos on two hosts resolve each other's names; a dyno gone, its name goes" {
	wait_for 30 peers_are "h2 10.250.0.2 10.251.2.0/24 h3 10.250.0.3 10.251.3.0/24 "
	local w1 a2 p2
	host_dyno 2
	p2=$HOST_PID
	a2=$(in_host 2 space-net attach dynotest-sp web.1 --pid "$p2" --app myapp --port 5000)
	assert_equal "$a2" 10.251.2.2
	sn_listen "$p2" tcp "$a2" 5000
	host_dyno 1
	w1=$HOST_PID
	in_host 1 space-net attach dynotest-sp worker.1 --pid "$w1" --app myapp >/dev/null
	# h2's web.1 in h1's names (and h1's worker in h3's), from etcd
	wait_for 20 has_name 1 1.web.myapp.app.localspace "$a2"
	wait_for 20 has_name 3 1.worker.myapp.app.localspace 10.251.1.2
	has_name 1 web.myapp.app.localspace "$a2"
	HOSTS_FILE="$(host_dir 1)/root/spaces/dynotest-sp/dns/hosts"
	run by_name "$w1" 1.web.myapp.app.localspace 5000
	assert_success
	assert_output "$a2 10.251.1.2"
	# a name another host claims outside its part is refused
	run --separate-stderr in_host 1 space-net peer names dynotest-sp h2 \
		<<<"10.251.1.9 web.9 myapp"
	assert_failure
	# the dyno detached on h2: its name leaves h1's file
	in_host 2 space-net detach dynotest-sp web.1 --app myapp
	wait_for 20 bash -c "! grep -q 1.web.myapp $HOSTS_FILE"
}
