#!/bin/bash
# SPDX-License-Identifier: ISC
# space-net benchmark: attach and detach 100 dynos with space-net (web
# dynos in a private space, then workers in a common one), then the
# same steps (veth into the netns, address, links up, default route, the
# web port in an nftables set) with ip(8) and nft(8) commands; print both
# and the ratio.  Needs root; run by `make bench`.
set -eu

N=${N:-100}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PATH="$TOP/bin:$PATH"
SPACE=dynotest-bench
BR=dynotest-bbr
TABLE=dynotest-bench-ip

# shellcheck source=t/helper/bench.bash
. "$(dirname "$0")/../helper/bench.bash"
bench_root
bench_build

DYNO_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/dynotest-bench-XXXXXX")
export DYNO_ROOT DYNO_CONF=/dev/null
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	space-net destroy "$SPACE" --force 2>/dev/null || true
	ip link delete "$BR" 2>/dev/null || true
	nft delete table inet "$TABLE" 2>/dev/null || true
	rm -rf "$DYNO_ROOT"
}
trap cleanup EXIT

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# N dyno stand-ins, each alone in a network namespace.
start_dynos() {
	local i self
	pids=()
	self=$(readlink /proc/self/ns/net)
	for ((i = 0; i < N; i++)); do
		unshare -n sleep 600 </dev/null >/dev/null 2>&1 &
		pids+=("$!")
	done
	for p in "${pids[@]}"; do
		for ((i = 0; i < 200; i++)); do
			[ "$(readlink "/proc/$p/ns/net")" != "$self" ] && break
			sleep 0.01
		done
	done
}

stop_dynos() {
	kill "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	pids=()
}

# bench_space_net MODE TYPE: N dynos of TYPE (web: with a PORT, so the
# rules change; worker: none) attached to a space of MODE, then detached.
bench_space_net() {
	local i t0 t1 t2 port=()
	[ "$2" = web ] && port=(--port 5000)
	space-net create "$SPACE" --cidr 10.213.200.0/24 --mode "$1"
	start_dynos
	t0=$(now_ms)
	for ((i = 0; i < N; i++)); do
		space-net attach "$SPACE" "$2.$((i + 1))" --pid "${pids[i]}" \
			--app bench "${port[@]}" >/dev/null
	done
	t1=$(now_ms)
	for ((i = 0; i < N; i++)); do
		space-net detach "$SPACE" "$2.$((i + 1))" --app bench
	done
	t2=$(now_ms)
	stop_dynos
	space-net destroy "$SPACE" --force
	echo $((t1 - t0)) $((t2 - t1))
}

bench_ip_nft() {
	local i t0 t1 t2 addr veth
	ip link add "$BR" type bridge
	ip addr add 10.213.201.1/24 dev "$BR"
	ip link set "$BR" up
	nft add table inet "$TABLE"
	nft add set inet "$TABLE" web '{ type ipv4_addr . inet_service; }'
	start_dynos
	t0=$(now_ms)
	for ((i = 0; i < N; i++)); do
		addr=10.213.201.$((i + 2)) veth=dvb$i
		ip link add "$veth" master "$BR" up type veth peer name eth0 \
			netns "${pids[i]}"
		nsenter -t "${pids[i]}" -n ip addr add "$addr/24" dev eth0
		nsenter -t "${pids[i]}" -n ip link set lo up
		nsenter -t "${pids[i]}" -n ip link set eth0 up
		nsenter -t "${pids[i]}" -n ip route add default via 10.213.201.1
		nft add element inet "$TABLE" web "{ $addr . 5000 }"
	done
	t1=$(now_ms)
	for ((i = 0; i < N; i++)); do
		ip link delete "dvb$i"
		nft delete element inet "$TABLE" web "{ 10.213.201.$((i + 2)) . 5000 }"
	done
	t2=$(now_ms)
	stop_dynos
	ip link delete "$BR"
	nft delete table inet "$TABLE"
	echo $((t1 - t0)) $((t2 - t1))
}

report() {
	echo "$1: $N attaches ${2} ms, $N detaches ${3} ms, total $(($2 + $3)) ms" \
		"($((($2 + $3) * 1000 / N / 2)) us per operation)"
}

read -r sn_a sn_d < <(bench_space_net private web)
read -r cw_a cw_d < <(bench_space_net common worker)
read -r raw_a raw_d < <(bench_ip_nft)
report "space-net, web dynos, private space" "$sn_a" "$sn_d"
report "space-net, workers, common space   " "$cw_a" "$cw_d"
report "ip + nft, web dynos                " "$raw_a" "$raw_d"
awk -v a="$sn_a" -v d="$sn_d" -v ra="$raw_a" -v rd="$raw_d" 'BEGIN {
	printf "ratio (ip+nft / space-net): attach %.2f, detach %.2f, total %.2f\n",
	    ra / a, rd / d, (ra + rd) / (a + d) }'
