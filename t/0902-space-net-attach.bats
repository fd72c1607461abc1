#!/usr/bin/env bats
# space-net create/attach/detach/destroy: leases, veths, crash safety.
bats_require_minimum_version 1.5.0
load helper/common
load helper/space-net

# This file's own range and space; other files use other ranges, so the
# suites can run side by side.  Veth host ends are "dv" + the address in hex
# + the root's tag: 10.213.2.x is dv0ad502xxTAG (sn_veth).
SP=dynotest-att
NET=10.213.2
VETHS=dv0ad502

setup() {
	dyno_setup
	sn_setup
	sn_space "$SP"
}

teardown() {
	sn_teardown
	dyno_teardown
}

# ours: this test's links and tables, as `ip link` and `nft` list them
# (only ours: other suites may add and remove their own meanwhile).
ours() {
	ip -o link show | grep -E ": $VETHS|alias dyno space $SP( |\$)" || true
	nft list tables | grep -F "dyno-$SP" || true
}

@test "attach gives the dyno eth0, an address, a default route, and a lease" {
	run space-net create "$SP" --cidr "$NET.0/24"
	assert_success
	sn_sleeper
	run --separate-stderr space-net attach "$SP" web.1 --pid "$SN_PID" \
		--app myapp --port 5000
	assert_success
	assert_output "$NET.2"
	run nsenter -t "$SN_PID" -n ip -4 -o addr show dev eth0
	assert_output --partial "inet $NET.2/24"
	run nsenter -t "$SN_PID" -n ip route show default
	assert_output --partial "default via $NET.1 dev eth0"
	run nsenter -t "$SN_PID" -n ip -o link show lo
	assert_output --partial "UP"
	run cat "$DYNO_ROOT/spaces/$SP/leases/$NET.2"
	assert_line --index 0 "myapp web.1 $SN_PID"
	run ip -o link show "$(sn_veth "$SP" "$NET.2")"
	assert_output --partial "master $(sn_bridge "$SP")"
	# both ends up with a carrier, one queue each way (ns_attach)
	run ip -d -o link show "$(sn_veth "$SP" "$NET.2")"
	assert_output --partial ",UP,LOWER_UP>"
	assert_output --partial "numtxqueues 1 numrxqueues 1 "
	run nsenter -t "$SN_PID" -n ip -d -o link show eth0
	assert_output --partial ",UP,LOWER_UP>"
	assert_output --partial "numtxqueues 1 numrxqueues 1 "
	run cat "$DYNO_ROOT/spaces/$SP/space.conf"
	assert_line "cidr = $NET.0/24"
	assert_line "mode = private"
}

@test "attach again converges on the same address; detach is idempotent" {
	space-net create "$SP" --cidr "$NET.0/24"
	space-net create "$SP" --cidr "$NET.0/24"
	sn_sleeper
	run space-net attach "$SP" web.1 --pid "$SN_PID" --app myapp --port 5000
	assert_output "$NET.2"
	run space-net attach "$SP" web.1 --pid "$SN_PID" --app myapp --port 5000
	assert_success
	assert_output "$NET.2"
	run ls "$DYNO_ROOT/spaces/$SP/leases"
	assert_output "$NET.2"
	run space-net detach "$SP" web.1 --app myapp
	assert_success
	run space-net detach "$SP" web.1 --app myapp
	assert_success
	assert [ ! -e "$DYNO_ROOT/spaces/$SP/leases/$NET.2" ]
	run ip link show "$(sn_veth "$SP" "$NET.2")"
	assert_failure
	run nsenter -t "$SN_PID" -n ip link show eth0
	assert_failure
}

@test "a dead dyno's lease and a half-made attach are reclaimed by the next run" {
	local dead
	space-net create "$SP" --cidr "$NET.0/24"
	sn_sleeper
	dead=$SN_PID
	run space-net attach "$SP" web.1 --pid "$dead" --app myapp
	assert_output "$NET.2"
	kill -9 "$dead"
	wait_for 10 bash -c "! kill -0 $dead"
	# A crash after the veth was made and before the lease was written:
	# a veth on the bridge that no lease names.
	sn_sleeper
	ip link add "${VETHS}07" master "$(sn_bridge "$SP")" type veth peer name eth0 \
		netns "$SN_PID"
	# A lease whose dyno is gone, with its veth already vanished.
	echo "myapp worker.9 $dead" >"$DYNO_ROOT/spaces/$SP/leases/$NET.9"
	sn_sleeper
	run --separate-stderr space-net attach "$SP" web.2 --pid "$SN_PID" \
		--app myapp
	assert_success
	assert_output "$NET.2"
	run ls "$DYNO_ROOT/spaces/$SP/leases"
	assert_output "$NET.2"
	run ip link show "${VETHS}07"
	assert_failure
}

# attach_dumps DYNO ADDR DUMPS: a new sleeper attached as DYNO of myapp
# under strace gets ADDR, and the attach asked for DUMPS dumps of links.
attach_dumps() {
	local trace="$BATS_TEST_TMPDIR/strace"
	sn_sleeper
	run strace -f -v -s 256 -e trace=sendmsg -o "$trace" \
		space-net attach "$SP" "$1" --pid "$SN_PID" --app myapp
	assert_success
	assert_output "$2"
	run grep -c 'RTM_GETLINK, nlmsg_flags=[A-Z_|]*NLM_F_DUMP' "$trace"
	assert_output "$3"
}

@test "while every lease's dyno lives an attach dumps no link; a veth in its way makes it sweep" {
	space-net create "$SP" --cidr "$NET.0/24"
	sn_sleeper
	run space-net attach "$SP" web.1 --pid "$SN_PID" --app myapp
	assert_output "$NET.2"
	attach_dumps web.2 "$NET.3" 0
	# A veth on the bridge where the next address's goes, that no lease
	# names (an attach that died after making it): found, swept, and the
	# address taken all the same.
	sn_sleeper
	ip link add "$(sn_veth "$SP" "$NET.4")" master "$(sn_bridge "$SP")" \
		type veth peer name eth0 netns "$SN_PID"
	attach_dumps web.3 "$NET.4" 1
	run nsenter -t "$SN_PID" -n ip -4 -o addr show dev eth0
	assert_output --partial "inet $NET.4/24"
	run ls "$DYNO_ROOT/spaces/$SP/leases"
	assert_output "$(printf '%s\n' "$NET.2" "$NET.3" "$NET.4")"
}

@test "a range full of leases that outlived their veths (pids reused) frees up at the next attach" {
	local i
	space-net create "$SP" --cidr "$NET.0/29"
	# every address leased to a live process that is no dyno of the space
	mkdir -p "$DYNO_ROOT/spaces/$SP/leases"
	sn_sleeper
	for i in 2 3 4 5 6; do
		echo "myapp worker.$i $SN_PID" >"$DYNO_ROOT/spaces/$SP/leases/$NET.$i"
	done
	sn_sleeper
	run --separate-stderr space-net attach "$SP" web.1 --pid "$SN_PID" \
		--app myapp
	assert_success
	assert_output "$NET.2"
	run ls "$DYNO_ROOT/spaces/$SP/leases"
	assert_output "$NET.2"
}

@test "a lease whose attach is still making its veth outlives a sweep; let go, it is reclaimed" {
	local leases="$DYNO_ROOT/spaces/$SP/leases" holder
	space-net create "$SP" --cidr "$NET.0/24"
	sn_sleeper
	run space-net attach "$SP" web.1 --pid "$SN_PID" --app myapp
	assert_output "$NET.2"
	# An attach between its lease and its veth: the lease's file locked.
	sn_sleeper
	echo "myapp web.2 $SN_PID" >"$leases/$NET.3"
	(exec 9<"$leases/$NET.3" && flock 9 && exec sleep 600 3>&-) &
	holder=$!
	echo "pid $holder" >>"$SN_LOG"
	wait_for 10 bash -c "! flock -n '$leases/$NET.3' true"
	# detach sweeps every lease against the links
	run space-net detach "$SP" web.1 --app myapp
	assert_success
	run ls "$leases"
	assert_output "$NET.3"
	# a new attach does not take its address
	sn_sleeper
	run space-net attach "$SP" web.4 --pid "$SN_PID" --app myapp
	assert_output "$NET.2"
	kill "$holder"
	wait_for 10 flock -n "$leases/$NET.3" true
	run space-net detach "$SP" web.4 --app myapp
	assert_success
	run ls "$leases"
	assert_output ""
}

@test "a full range is a clear error (exit 75) and frees up on detach" {
	local i
	space-net create "$SP" --cidr "$NET.0/29"
	for i in 1 2 3 4 5; do
		sn_sleeper
		run space-net attach "$SP" "run.$i" --pid "$SN_PID"
		assert_success
		assert_output "$NET.$((i + 1))"
	done
	sn_sleeper
	run --separate-stderr space-net attach "$SP" run.6 --pid "$SN_PID"
	assert_failure 75
	assert_equal "$stderr" \
		"space-net: $SP: no free address in $NET.0/29: all 5 leased"
	assert_output ""
	run ip link show "${VETHS}07"
	assert_failure
	space-net detach "$SP" run.3
	run space-net attach "$SP" run.6 --pid "$SN_PID"
	assert_success
	assert_output "$NET.4"
}

@test "20 concurrent attaches get 20 different addresses" {
	local i pids=() jobs=()
	space-net create "$SP" --cidr "$NET.0/24"
	for i in $(seq 1 20); do
		sn_sleeper
		pids+=("$SN_PID")
	done
	for i in $(seq 1 20); do
		space-net attach "$SP" "web.$i" --pid "${pids[$((i - 1))]}" \
			--app myapp --port 5000 >"$DYNO_TEST_DIR/addr.$i" 3>&- &
		jobs+=("$!")
	done
	# Only the attaches: a bare `wait` would wait for the sleepers too.
	for i in "${jobs[@]}"; do
		wait "$i"
	done
	run bash -c "cat '$DYNO_TEST_DIR'/addr.* | sort -u | wc -l"
	assert_output 20
	run bash -c "ls '$DYNO_ROOT/spaces/$SP/leases' | wc -l"
	assert_output 20
	for i in $(seq 1 20); do
		run nsenter -t "${pids[$((i - 1))]}" -n ip -4 -o addr show dev eth0
		assert_output --partial "inet $(cat "$DYNO_TEST_DIR/addr.$i")/24"
	done
}

@test "destroy is refused with dynos attached; --force leaves ip link and nft as before" {
	local before after
	before=$(ours)
	assert_equal "$before" ""
	space-net create "$SP" --cidr "$NET.0/24"
	sn_sleeper
	space-net attach "$SP" web.1 --pid "$SN_PID" --app myapp --port 5000
	assert [ -n "$(ours)" ]
	run --separate-stderr space-net destroy "$SP"
	assert_failure 1
	assert_equal "$stderr" \
		"space-net: $SP: 1 dynos attached; detach them or use --force"
	run space-net destroy "$SP" --force
	assert_success
	after=$(ours)
	assert_equal "$after" "$before"
	assert [ ! -e "$DYNO_ROOT/spaces/$SP" ]
	run nsenter -t "$SN_PID" -n ip link show eth0
	assert_failure
}

@test "attach refuses the host's own network namespace and a dead pid" {
	space-net create "$SP" --cidr "$NET.0/24"
	run --separate-stderr space-net attach "$SP" web.1 --pid $$
	assert_failure 65
	assert_equal "$stderr" \
		"space-net: pid $$: shares the host's network namespace"
	run --separate-stderr space-net attach "$SP" web.1 --pid 999999999
	assert_failure 66
	assert_equal "$stderr" \
		"space-net: pid 999999999: No such file or directory"
	sn_sleeper
	run --separate-stderr space-net attach dynotest-nosuch web.1 --pid "$SN_PID"
	assert_failure 66
	assert_equal "$stderr" "space-net: dynotest-nosuch: no such space"
	assert [ ! -e "$DYNO_ROOT/spaces/$SP/leases" ]
}

@test "two instances of one dyno overlap during a restart; each detaches only itself" {
	run -0 space-net create "$SP" --cidr "$NET.0/24"
	sn_sleeper
	a=$SN_PID
	sn_sleeper
	b=$SN_PID
	run -0 space-net attach "$SP" web.1 --pid "$a" --app dynotest-app
	first=$output
	run -0 space-net attach "$SP" web.1 --pid "$b" --app dynotest-app
	second=$output
	[ "$first" != "$second" ]
	# the old instance goes; the new one keeps its address
	run -0 space-net detach "$SP" web.1 --app dynotest-app --pid "$a"
	run -0 space-net show "$SP"
	assert_line "dynos 1"
	assert_output --partial "dyno $second dynotest-app web.1 $b "
	run -0 space-net detach "$SP" web.1 --app dynotest-app
	run -0 space-net show "$SP"
	assert_line "dynos 0"
}

@test "a dyno that takes over a freed address is reached at once: the MAC comes with the address" {
	run -0 space-net create "$SP" --cidr "$NET.0/24"
	sn_sleeper
	a=$SN_PID
	run -0 space-net attach "$SP" web.1 --pid "$a" --app myapp --port 5000
	assert_output "$NET.2"
	# the gateway's MAC is fixed, so it stays put while ports come and go
	# (a bridge's own would follow its lowest port's, and each change
	# flushes the host's ARP cache: only a lone dyno's crash hid the bug)
	br=$(sn_bridge "$SP")
	run -0 cat "/sys/class/net/$br/address"
	assert_output "02:64:0a:d5:02:01"
	ip link set dev "$br" address 02:64:0a:d5:02:01
	sn_listen "$a" tcp 0.0.0.0 5000
	# the host reaches it, so its ARP cache now holds the MAC of $NET.2
	run -0 sn_probe host tcp "$NET.2" 5000
	# a crash: the replacement takes the freed address at once
	run -0 space-net detach "$SP" web.1 --app myapp
	kill -9 "$a"
	sn_sleeper
	b=$SN_PID
	run -0 space-net attach "$SP" web.1 --pid "$b" --app myapp --port 5000
	assert_output "$NET.2"
	sn_listen "$b" tcp 0.0.0.0 5000
	run -0 sn_probe host tcp "$NET.2" 5000
	run -0 nsenter -t "$b" -n ip -o link show eth0
	assert_output --partial "link/ether 02:64:0a:d5:02:02 "
	run -0 ip neigh show "$NET.2" dev "$br"
	assert_output --partial "lladdr 02:64:0a:d5:02:02"
	run -0 cat "/sys/class/net/$br/address"
	assert_output "02:64:0a:d5:02:01"
}
