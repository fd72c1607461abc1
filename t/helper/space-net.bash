# SPDX-License-Identifier: ISC
# space-net tests: dyno stand-ins (sleepers in their own network namespace),
# listeners and clients inside them, and cleanup that runs even on failure.
# Everything made here is named dynotest-* and recorded for sn_teardown.
# shellcheck shell=bash

# sn_setup: skip unless we can make namespaces, links and nftables tables.
sn_setup() {
	require_root
	require_cmd ip nft nc nsenter unshare python3 ss
	SN_LOG="$DYNO_TEST_DIR/space-net.cleanup"
	: >"$SN_LOG"
}

# sn_space NAME: remember a space to destroy --force at teardown.
sn_space() {
	echo "space $1" >>"$SN_LOG"
}

# sn_root_space ROOT NAME: sn_space for a space of another DYNO_ROOT.
sn_root_space() {
	echo "rootspace $1 $2" >>"$SN_LOG"
}

# sn_sleeper: start a dyno stand-in, a process alone in a new network
# namespace; its pid is left in SN_PID.  Returns once the unshare is done.
sn_sleeper() {
	unshare -n sleep 600 3>&- </dev/null >/dev/null 2>&1 &
	SN_PID=$!
	echo "pid $SN_PID" >>"$SN_LOG"
	wait_for 10 sn_own_netns "$SN_PID"
}

sn_own_netns() {
	[ "$(readlink "/proc/$1/ns/net")" != "$(readlink /proc/self/ns/net)" ]
}

# sn_where WHERE: SN_IN, the command that runs its arguments in a dyno's
# namespace (WHERE a pid), in a named one (ns:NAME) or on the host (host),
# replacing itself with them (no fork: a background job's $! is theirs).
sn_where() {
	case $1 in
	host) SN_IN=() ;;
	ns:*) SN_IN=(ip netns exec "${1#ns:}") ;;
	*) SN_IN=(nsenter -t "$1" -n) ;;
	esac
}

# sn_exec WHERE CMD...: run CMD there (sn_where).
sn_exec() {
	sn_where "$1"
	shift
	"${SN_IN[@]}" "$@"
}

# sn_listen WHERE tcp|udp ADDR PORT: an echo server (see sn_where for
# WHERE); TCP says "hello PEER-ADDRESS", UDP echoes.  Started as a simple
# command, so the pid the teardown kills is the server's own (through a
# function it was a subshell's, and every server outlived its test).
sn_listen() {
	sn_where "$1"
	"${SN_IN[@]}" python3 - "$2" "$3" "$4" 3>&- \
	    >/dev/null 2>&1 <<'EOF' &
import socket, sys
proto, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        data, peer = s.recvfrom(512)
        s.sendto(data, peer)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(16)
while True:
    c, peer = s.accept()
    c.sendall(("hello " + peer[0] + "\n").encode())
    c.close()
EOF
	echo "pid $!" >>"$SN_LOG"
	local flag=-Hltn
	[ "$2" = udp ] && flag=-Hlun
	wait_for 10 sn_listening "$1" "$flag" "$4"
}

sn_listening() {
	[ -n "$(sn_exec "$1" ss "$2" "sport = :$3")" ]
}

# sn_probe WHERE tcp|udp ADDR PORT: succeed when the echo server answers
# within 3 seconds (TCP prints the address the server saw).  A dropped
# packet just times out, so keep deadlines low.
sn_probe() {
	sn_exec "$1" python3 - "$2" "$3" "$4" <<'EOF'
import socket, sys
proto, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    if proto == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.sendto(b"ping", (addr, port))
        ok = s.recvfrom(512)[0] == b"ping"
    else:
        s = socket.create_connection((addr, port), timeout=3)
        s.settimeout(3)
        words = s.recv(64).decode().split()
        ok = words[0] == "hello"
        print(words[1])
except (OSError, IndexError):
    ok = False
sys.exit(0 if ok else 1)
EOF
}

# sn_netns NAME: a named namespace (ip netns) removed at teardown.
sn_netns() {
	ip netns add "$1"
	echo "netns $1" >>"$SN_LOG"
}

# sn_link NAME: a host link deleted at teardown (e.g. the outside veth).
sn_link() {
	echo "link $1" >>"$SN_LOG"
}

# sn_teardown: undo everything recorded, newest first, ignoring failures.
sn_teardown() {
	local kind what
	[ -n "${SN_LOG:-}" ] && [ -f "$SN_LOG" ] || return 0
	while read -r kind what; do
		case $kind in
		pid) kill -9 "$what" 2>/dev/null ;;
		esac
	done <"$SN_LOG"
	while read -r kind what; do
		case $kind in
		space) space-net destroy "$what" --force 2>/dev/null ;;
		rootspace) DYNO_ROOT=${what% *} space-net destroy "${what##* }" \
			--force 2>/dev/null ;;
		netns) ip netns delete "$what" 2>/dev/null ;;
		link) ip link delete "$what" 2>/dev/null ;;
		esac
	done < <(tac "$SN_LOG")
	return 0
}

# sn_bridge SPACE: the space's bridge, as `space-net show` names it.
sn_bridge() {
	space-net show "$1" | awk '$1 == "bridge" { print $2 }'
}

# sn_veth SPACE ADDR: the host end of the veth of SPACE's dyno at ADDR:
# "dv", the address in hex, then the DYNO_ROOT's tag (space-net(8) NAMES),
# which a test root's bridge names carry right after "dyno-".
sn_veth() {
	local br IFS=.
	br=$(sn_bridge "$1")
	# shellcheck disable=SC2086 # split on the dots
	printf 'dv%02x%02x%02x%02x%s\n' $2 "${br:5:4}"
}

# sn_table SPACE: the space's nftables table, as `space-net show` lists it.
sn_table() {
	space-net show "$1" | awk '$1 == "table" && $2 == "inet" { print $3; exit }'
}

# sn_files_setup SPACE...: a space-net test file's setup: a test tree, the
# checks of sn_setup, and each SPACE destroyed --force at teardown.
sn_files_setup() {
	local s
	dyno_setup
	sn_setup
	for s in "$@"; do
		sn_space "$s"
	done
}

# sn_files_teardown: what sn_files_setup and the tests made, undone.
sn_files_teardown() {
	sn_teardown
	dyno_teardown
}

# sn_dyno SPACE DYNO [ATTACH OPTIONS]: a sleeper attached as DYNO; its pid
# in SN_PID, its address in ADDR.
sn_dyno() {
	local space=$1 name=$2
	shift 2
	sn_sleeper
	# shellcheck disable=SC2034 # ADDR is read by the test files
	ADDR=$(space-net attach "$space" "$name" --pid "$SN_PID" "$@")
}
