# SPDX-License-Identifier: ISC
# Cluster tests: N "hosts" on one machine, each a network namespace
# dynotest-hN with its eth0 on one switch (HOSTS_NET.0/24), with its own
# DYNO_ROOT, DYNO_RUNDIR and DYNO_CONF under the test dir.  The root
# namespace is on the switch too, as dynotest-cbr0 (HOSTS_NET.254), so an
# etcd member started there on that address is reachable from every host
# (a namespace cannot reach the root namespace's 127.0.0.1).
#
# The switch is a bridge inside a namespace of its own, dynotest-sw, not in
# the root namespace: there br_netfilter (bridge-nf-call-iptables = 1)
# would put every frame between two hosts through the root's nftables,
# whose rules other suites change at any time (a masquerade of 172.16/16
# rewrote the hosts' common-space traffic).  Everything made here is named
# dynotest-* and removed by hosts_teardown, even after a failure.
#
#   hosts_setup 3                  # dynotest-h1..h3, 10.250.0.1..3
#   in_host 2 space-net list       # runs in h2's namespace, with h2's state
#   host_bg 1 dyno-agent           # background, killed at teardown
#   hosts_teardown
# shellcheck shell=bash

HOSTS_NET=10.250.0
HOSTS_BRIDGE=dynotest-cbr0
HOSTS_SWITCH=dynotest-sw
HOSTS_ROOT_ADDR=$HOSTS_NET.254
HOSTS_MAX=9

# hosts_setup N: skip unless root with ip(8); make hosts 1..N, once no
# other test file has them (resource_lock).  Leftovers of a run that died
# (same names) go first.
hosts_setup() {
	local n=$1 i
	require_root
	require_cmd ip nsenter
	if [ "$n" -lt 1 ] || [ "$n" -gt "$HOSTS_MAX" ]; then
		echo "hosts_setup: 1 to $HOSTS_MAX hosts" >&2
		return 1
	fi
	resource_lock hosts || return 1
	HOSTS_LOG="$DYNO_TEST_DIR/hosts.cleanup"
	: >"$HOSTS_LOG"
	hosts_remove_links
	ip netns add "$HOSTS_SWITCH" || return 1
	ip -n "$HOSTS_SWITCH" link add br0 type bridge || return 1
	ip -n "$HOSTS_SWITCH" link set br0 up
	ip link add "$HOSTS_BRIDGE" type veth peer name root \
	    netns "$HOSTS_SWITCH" || return 1
	ip -n "$HOSTS_SWITCH" link set root master br0 up
	ip addr add "$HOSTS_ROOT_ADDR/24" dev "$HOSTS_BRIDGE"
	ip link set "$HOSTS_BRIDGE" up
	for ((i = 1; i <= n; i++)); do
		host_make "$i" || return 1
	done
}

# host_make I: the namespace, its veth on the bridge, its state folders.
host_make() {
	local i=$1 ns=dynotest-h$1 d="$DYNO_TEST_DIR/h$1"
	ip netns add "$ns" || return 1
	ip -n "$HOSTS_SWITCH" link add "h$i" type veth peer name eth0 \
	    netns "$ns" || return 1
	ip -n "$HOSTS_SWITCH" link set "h$i" master br0 up
	ip -n "$ns" addr add "$HOSTS_NET.$i/24" dev eth0
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
	mkdir -p "$d/root" "$d/run"
	# The host's share of every space (space-net(8), dyno.conf(5)).  Other
	# helpers append their [cluster] keys (etcd, host, address).
	printf '[cluster]\nindex = %s\n' "$i" >"$d/dyno.conf"
}

# host_addr I: host I's underlay address.
host_addr() {
	echo "$HOSTS_NET.$1"
}

# host_dir I: host I's folder (root/, run/, dyno.conf).
host_dir() {
	echo "$DYNO_TEST_DIR/h$1"
}

# in_host I CMD...: run CMD in host I's network namespace (and a mount
# namespace of its own: ip netns exec remounts /sys) with host I's state.
in_host() {
	local i=$1 d="$DYNO_TEST_DIR/h$1"
	shift
	ip netns exec "dynotest-h$i" env DYNO_ROOT="$d/root" \
	    DYNO_RUNDIR="$d/run" DYNO_CONF="$d/dyno.conf" "$@"
}

# host_bg I CMD...: in_host in the background; the pid is in HOST_PID and
# killed by hosts_teardown.  ip netns exec, env and unshare exec what they
# run, so HOST_PID is CMD's own pid.  fd 3 is closed, or bats waits for it.
host_bg() {
	local i=$1 d="$DYNO_TEST_DIR/h$1"
	shift
	ip netns exec "dynotest-h$i" env DYNO_ROOT="$d/root" \
	    DYNO_RUNDIR="$d/run" DYNO_CONF="$d/dyno.conf" "$@" 3>&- &
	HOST_PID=$!
	echo "pid $HOST_PID" >>"$HOSTS_LOG"
}

# host_dyno I: a dyno stand-in on host I (a sleeper alone in a new network
# namespace, started from host I's); its pid is in HOST_PID.
host_dyno() {
	host_bg "$1" unshare -n sleep 600 </dev/null >/dev/null 2>&1
	local deadline=$((SECONDS + 10))
	until host_own_netns "$1" "$HOST_PID"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# host_own_netns I PID: PID's network namespace is neither the root's nor
# host I's (the unshare is done).
host_own_netns() {
	local ns h
	ns=$(readlink "/proc/$2/ns/net" 2>/dev/null) || return 1
	h=$(ip netns exec "dynotest-h$1" readlink /proc/self/ns/net)
	[ "$ns" != "$h" ] && [ "$ns" != "$(readlink /proc/self/ns/net)" ]
}

# host_pids I: the processes in host I's network namespace.
host_pids() {
	ip netns pids "dynotest-h$1" 2>/dev/null || true
	return 0
}

# hosts_teardown: kill what host_bg started and whatever still lives in a
# host's namespace (only our tests put processes there), then remove the
# namespaces (their links go with them) and the bridge.
hosts_teardown() {
	hosts_clean
	resource_unlock hosts
}

# hosts_clean: every process, namespace and link of the hosts gone; the
# names stay this test file's until hosts_teardown.
hosts_clean() {
	local kind what i
	# the names are another test file's unless this one holds them
	[ -n "${RESOURCE_LOCKS[hosts]:-}" ] || return 0
	if [ -n "${HOSTS_LOG:-}" ] && [ -f "$HOSTS_LOG" ]; then
		while read -r kind what; do
			[ "$kind" = pid ] || continue
			# shellcheck disable=SC2046
			kill -9 "$what" $(netns_pids "$what") 2>/dev/null || true
		done <"$HOSTS_LOG"
	fi
	for ((i = 1; i <= HOSTS_MAX; i++)); do
		# shellcheck disable=SC2046
		kill -9 $(host_pids "$i") 2>/dev/null || true
	done
	hosts_remove_links
}

# netns_pids PID: the other processes in PID's network namespace when it
# is not the root's (a dyno stand-in's: listeners entered with nsenter).
netns_pids() {
	local ns f
	ns=$(readlink "/proc/$1/ns/net" 2>/dev/null) || return 0
	[ "$ns" != "$(readlink /proc/self/ns/net)" ] || return 0
	for f in /proc/[0-9]*/ns/net; do
		[ "$(readlink "$f" 2>/dev/null)" = "$ns" ] || continue
		f=${f#/proc/}
		echo "${f%%/*}"
	done
}

hosts_remove_links() {
	local i
	for ((i = 1; i <= HOSTS_MAX; i++)); do
		ip netns delete "dynotest-h$i" 2>/dev/null || true
		ip link delete "dynotest-h$i" 2>/dev/null || true
	done
	ip netns delete "$HOSTS_SWITCH" 2>/dev/null || true
	ip link delete "$HOSTS_BRIDGE" 2>/dev/null || true
	return 0
}

# hosts_leftovers: print whatever of ours is still there (empty when clean).
hosts_leftovers() {
	ip netns list | grep -E "^(dynotest-h[0-9]|$HOSTS_SWITCH)" || true
	ip -o link show | grep -E ": (dynotest-h[0-9]|$HOSTS_BRIDGE)[@:]" || true
}
