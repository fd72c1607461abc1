#!/bin/bash
# SPDX-License-Identifier: ISC
# space-net peer benchmark, on two hosts made by t/helper/hosts.bash:
# the time of `peer add` (first, again, and with 100 peers in the space),
# and TCP connect-and-answer round trips to a web dyno on h1 from h1's
# root (the local router's path) and from h2's root (another host's
# router, through the peer route).  Needs root; run by `make bench`.
set -eu

N=${N:-300}

# shellcheck source=t/helper/bench.bash
. "$(dirname "$0")/../helper/bench.bash"
bench_root
bench_build

# What hosts.bash takes from the test helpers.
require_root() { :; }
require_cmd() { :; }
# shellcheck source=t/helper/hosts.bash
. "$BENCH_TOP/t/helper/hosts.bash"

DYNO_TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dynotest-bench-XXXXXX")
cleanup() {
	hosts_teardown
	rm -rf "$DYNO_TEST_DIR"
}
trap cleanup EXIT

now_us() {
	echo $(($(date +%s%N) / 1000))
}

# avg_us N CMD...: the mean wall time of CMD in microseconds.
avg_us() {
	local n=$1 i t0
	shift
	t0=$(now_us)
	for ((i = 0; i < n; i++)); do
		"$@" >/dev/null
	done
	echo $((($(now_us) - t0) / n))
}

# rtt WHERE ADDR: median and 99th percentile (µs) of N connections that
# each read the server's greeting.
rtt() {
	ip netns exec "$1" python3 - "$2" "$N" <<'EOF'
import socket, sys, time
addr, n = sys.argv[1], int(sys.argv[2])
t = []
for _ in range(n):
    t0 = time.perf_counter()
    s = socket.create_connection((addr, 5000), timeout=3)
    s.recv(64)
    s.close()
    t.append((time.perf_counter() - t0) * 1e6)
t.sort()
print(int(t[len(t) // 2]), int(t[len(t) * 99 // 100]))
EOF
}

hosts_setup 2 >/dev/null || bench_fail "cannot make the hosts"
in_host 1 space-net peer add common h2 "$(host_addr 2)" 172.16.2.0/24 ||
	bench_fail "peer add failed"
base=$(avg_us 20 in_host 1 true)
first=$(avg_us 1 in_host 1 space-net peer add common h3 10.250.0.3 172.16.3.0/24)
again=$(avg_us 20 in_host 1 space-net peer add common h3 10.250.0.3 172.16.3.0/24)
for ((i = 4; i <= 100; i++)); do
	in_host 1 space-net peer add common "h$i" "10.250.0.$((i + 100))" \
	    "172.16.$((i + 100)).0/24" 2>/dev/null ||
		bench_fail "peer add h$i failed"
done
many=$(avg_us 20 in_host 1 space-net peer add common h3 10.250.0.3 172.16.3.0/24)
in_host 2 space-net peer add common h1 "$(host_addr 1)" 172.16.1.0/24

host_dyno 1
addr=$(in_host 1 space-net attach common web.1 --pid "$HOST_PID" --app bench --port 5000)
nsenter -t "$HOST_PID" -n python3 - "$addr" 3>&- >/dev/null 2>&1 <<'EOF' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5000))
s.listen(128)
while True:
    c, _ = s.accept()
    c.sendall(b"hello\n")
    c.close()
EOF
echo "pid $!" >>"$HOSTS_LOG"
for ((i = 0; i < 100; i++)); do
	nsenter -t "$HOST_PID" -n ss -Hltn "sport = :5000" | grep -q . && break
	sleep 0.05
done
read -r lmed l99 < <(rtt dynotest-h1 "$addr")
read -r rmed r99 < <(rtt dynotest-h2 "$addr")
printf 'peer add: first %d us, again %d us, with 100 peers %d us (ip netns exec alone: %d us)\n' \
    "$first" "$again" "$many" "$base"
printf 'connect+greeting to a web dyno on h1, %d each: from h1 median %d us (p99 %d), from h2 through the peer median %d us (p99 %d)\n' \
    "$N" "$lmed" "$l99" "$rmed" "$r99"
