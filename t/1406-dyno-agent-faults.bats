#!/usr/bin/env bats
# dyno-agent: the faults t/1401 lacks.  A host frozen whole (agent,
# managers, dyno-runs and dynos: the cgroup freezer, v1 or v2), an agent
# killed while the etcd leader is killed, and the placer's host killed
# while it writes a big placement.  Each ends with the formation back,
# the routes right and no dyno name on two hosts.  Figures are printed,
# not asserted; waits are generous (2 loaded cores, etcd elections).
bats_require_minimum_version 1.5.0
load helper/common
load helper/etcd

APPNAME=dynotest-flt
HOSTS="h1 h2 h3"
declare -gA FROZEN

setup() {
	cluster_begin
	local h hex
	# one release, made on h1; the others make the same vN from etcd's
	# record, the slug from their store (fetching it is t/1403's part)
	tar czf "$DYNO_TEST_DIR/slug.tgz" -C "$TOP/t/data/dyno-manager/app" .
	hex=$(sha256sum "$DYNO_TEST_DIR/slug.tgz" | cut -d' ' -f1)
	for h in $HOSTS; do
		# room for the placer test's 1000 dynos on two hosts
		host_setup "$h" "capacity = 600"
		mkdir -p "$DYNO_TEST_DIR/$h/root/slugs"
		cp "$DYNO_TEST_DIR/slug.tgz" "$DYNO_TEST_DIR/$h/root/slugs/sha256-$hex.tgz"
	done
	on h1 release create "$APPNAME" --slug "sha256:$hex" >/dev/null 2>&1 ||
		fail "release create on h1"
	for h in h2 h3; do
		on "$h" release follow "$APPNAME" >/dev/null 2>&1 ||
			fail "release follow on $h"
	done
	for h in $HOSTS; do agent_start "$h"; done
}

teardown() {
	local h
	for h in $HOSTS; do host_thaw "$h"; done
	cpu_slow_end
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		for h in $HOSTS; do
			echo "# == $h" >&3
			tail -n 30 "$DYNO_TEST_DIR/$h/agent.log" | sed 's/^/# /' >&3
		done
	fi
	cluster_end
}

# --- a host frozen whole ---------------------------------------------------

# host_procs H: host H's processes: its agent, its managers, their
# dyno-runs and dynos (every descendant of each).
host_procs() {
	local h=$1 f roots
	roots="${AGENT_PIDS[$h]:-}"
	for f in "$DYNO_TEST_DIR/$h"/run/apps/*/manager.pid; do
		[ -f "$f" ] && roots+=" $(cat "$f")"
	done
	roots+=" $(DYNO_ROOT="$DYNO_TEST_DIR/$h/root" test_dynoruns | tr '\n' ' ')"
	ps -eo pid=,ppid= | awk -v roots="$roots" '
	BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) want[r[i]] = 1 }
	{ pp[$1] = $2 }
	END {
		for (pass = 0; pass < 64; pass++) {
			more = 0
			for (p in pp)
				if (!(p in want) && (pp[p] in want)) { want[p] = 1; more = 1 }
			if (!more) break
		}
		for (p in want) if (p in pp) print p
	}'
}

FREEZER_V1=/sys/fs/cgroup/freezer
# the v2 mount: /sys/fs/cgroup on a pure v2 host, .../unified on a hybrid
freezer_v2() {
	local m
	for m in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		[ -f "$m/cgroup.controllers" ] && { echo "$m"; return 0; }
	done
	return 1
}

# host_freeze H: every process of host H stopped by the cgroup freezer,
# as a paused VM: the v1 freezer when the machine has it (a cgroup of
# ours, which the dynos' cpu/memory/pids cgroups do not see), else v2's
# cgroup.freeze (the dynos' own cgroups frozen where they are, the rest
# moved into one of ours).  A child forked meanwhile is born in its
# parent's cgroup, so a few passes catch every process.
host_freeze() {
	local h=$1 cg p v2 path
	if [ -d "$FREEZER_V1" ] && [ -f "$FREEZER_V1/cgroup.procs" ] &&
		[ ! -f "$FREEZER_V1/cgroup.controllers" ]; then
		cg=$FREEZER_V1/dynotest-frz-$$-$h
		mkdir -p "$cg" || return 1
		FROZEN[$h]=$cg
		for _ in 1 2 3; do
			for p in $(host_procs "$h"); do
				echo "$p" >"$cg/cgroup.procs" 2>/dev/null || true
			done
		done
		echo FROZEN >"$cg/freezer.state"
		wait_for 20 grep -qx FROZEN "$cg/freezer.state"
		return
	fi
	v2=$(freezer_v2) || skip "no cgroup freezer (v1 or v2)"
	cg=$v2/dynotest-frz-$$-$h
	mkdir -p "$cg" || return 1
	FROZEN[$h]=$cg
	for _ in 1 2 3; do
		for p in $(host_procs "$h"); do
			path=$(sed -n 's/^0:://p' "/proc/$p/cgroup" 2>/dev/null)
			case $path in
			*/dyno/*)
				echo 1 >"$v2$path/cgroup.freeze" 2>/dev/null &&
					FROZEN[$h]+=" $v2$path" ;;
			*)	echo "$p" >"$cg/cgroup.procs" 2>/dev/null || true ;;
			esac
		done
	done
	echo 1 >"$cg/cgroup.freeze"
	wait_for 20 grep -qx 'frozen 1' "$cg/cgroup.events"
}

# host_thaw H: thawed, back in the root cgroup, our cgroup removed.
host_thaw() {
	local h=$1 cg p root
	[ -n "${FROZEN[$h]:-}" ] || return 0
	for cg in ${FROZEN[$h]}; do
		if [ -f "$cg/freezer.state" ]; then
			echo THAWED >"$cg/freezer.state"
		else
			echo 0 >"$cg/cgroup.freeze" 2>/dev/null || true
		fi
	done
	cg=${FROZEN[$h]%% *}
	root=${cg%/*}
	while read -r p; do
		echo "$p" >"$root/cgroup.procs" 2>/dev/null || true
	done 2>/dev/null <"$cg/cgroup.procs"
	rmdir "$cg" 2>/dev/null || true
	FROZEN[$h]=
}

# --- a host slowed down -------------------------------------------------------

# cpu_slow PID: process PID held to 1% of a CPU by a cpu cgroup of ours
# (v1 or v2), so what it does takes time (a starved host).
cpu_slow() {
	local v2
	if [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
		SLOWCG=/sys/fs/cgroup/cpu/dynotest-slow-$$
		mkdir -p "$SLOWCG" || return 1
		echo 100000 >"$SLOWCG/cpu.cfs_period_us"
		echo 1000 >"$SLOWCG/cpu.cfs_quota_us"
	else
		if ! v2=$(freezer_v2) || ! grep -qw cpu "$v2/cgroup.subtree_control"; then
			skip "no cpu cgroup controller"
		fi
		SLOWCG=$v2/dynotest-slow-$$
		mkdir -p "$SLOWCG" || return 1
		echo "1000 100000" >"$SLOWCG/cpu.max"
	fi
	echo "$1" >"$SLOWCG/cgroup.procs"
}

# cpu_slow_end: what is left in the cgroup back in its parent; removed.
cpu_slow_end() {
	local p
	[ -n "${SLOWCG:-}" ] || return 0
	while read -r p; do
		echo "$p" >"${SLOWCG%/*}/cgroup.procs" 2>/dev/null || true
	done 2>/dev/null <"$SLOWCG/cgroup.procs"
	rmdir "$SLOWCG" 2>/dev/null || true
	SLOWCG=
}

# --- checks (and those of helper/etcd) ----------------------------------------

# web_hosts: the hosts that run a web dyno, as etcd says.
web_hosts() {
	ectl get --prefix "/dyno/status/$APPNAME/web." --print-value-only |
		grep -o '"host":"h[0-9]"' | cut -d'"' -f4 | sort -u
}

placer() { ectl get /dyno/placer --print-value-only | tr -d '"'; }

scale_five() {
	run --separate-stderr on h1 dyno-manager scale "$APPNAME" web=3 worker=2
	assert_success
	wait_for 60 formation_up 5
}

ms() { echo $(($(date +%s%N) / 1000000)); }

@test "a host frozen whole: its lease ends, its dynos run elsewhere; thawed, it fences and returns with a new lease" {
	scale_five
	local h p t0 t1 lease i
	# a web host that is not the placer (the placer's death is below)
	p=$(placer)
	for h in $(web_hosts); do [ "$h" != "$p" ] && break; done
	[ "$h" != "$p" ]
	lease=$(cat "$DYNO_TEST_DIR/$h/run/cluster/lease")
	t0=$(ms)
	host_freeze "$h"
	echo "# froze $h: $(host_procs "$h" | wc -l) processes" >&3
	wait_for 60 host_gone "$h"
	t1=$(ms)
	echo "# $h's lease ended $((t1 - t0)) ms after the freeze" >&3
	wait_for 40 formation_up 5 "$h"
	t1=$(ms)
	echo "# formation back elsewhere $((t1 - t0)) ms after the freeze" >&3
	for p in $HOSTS; do
		[ "$p" = "$h" ] && continue
		wait_for 15 routes_ok "$p" 3
	done
	t0=$(ms)
	host_thaw "$h"
	# thawed: it fences first (its dynos stop), then a new lease
	wait_for 20 not_running_on "$h"
	t1=$(ms)
	echo "# $h's dynos stopped $((t1 - t0)) ms after the thaw" >&3
	grep -q "$h: fenced" "$DYNO_TEST_DIR/$h/agent.log"
	wait_for 20 bash -c "[ -s $DYNO_TEST_DIR/$h/run/cluster/lease ] && [ \"\$(cat $DYNO_TEST_DIR/$h/run/cluster/lease)\" != $lease ]"
	wait_for 20 bash -c "ETCDCTL_API=3 etcdctl --endpoints $(etcd_endpoints) get /dyno/hosts/$h | grep -q ."
	# from the fence on, never a dyno name on two hosts (sampled 5 s)
	for ((i = 0; i < 25; i++)); do
		once_each
		sleep 0.2
	done
	wait_for 30 formation_up 5
	for p in $HOSTS; do wait_for 20 routes_ok "$p" 3; done
	once_each
}

# etcd_leader: the index (1..3) of the member that leads, by its status.
etcd_leader() {
	ectl endpoint status -w json | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    s = e["Status"]
    if s["header"]["member_id"] == s["leader"]:
        print((int(e["Endpoint"].rsplit(":", 1)[1]) - '"$ETCD_BASE"') // 10)'
}

@test "an agent killed while the etcd leader is killed: the dynos move once, no other host fences" {
	scale_five
	local leader victim p t0 t1 h
	leader=$(etcd_leader)
	[ -n "$leader" ]
	p=$(placer)
	for victim in $(web_hosts); do [ "$victim" != "$p" ] && break; done
	[ "$victim" != "$p" ]
	t0=$(ms)
	etcd_kill "$leader"
	agent_kill "$victim" KILL
	wait_for 20 not_running_on "$victim"
	# the new leader extends every lease (lessor.Promote): wait longer
	wait_for 90 host_gone "$victim"
	t1=$(ms)
	echo "# leader m$leader killed: $victim's lease ended after $((t1 - t0)) ms" >&3
	wait_for 40 formation_up 5 "$victim"
	t1=$(ms)
	echo "# formation back $((t1 - t0)) ms after both kills" >&3
	[ "$(etcd_leader)" != "$leader" ]
	for h in $HOSTS; do
		[ "$h" = "$victim" ] && continue
		wait_for 15 routes_ok "$h" 3
		run grep -c fenced "$DYNO_TEST_DIR/$h/agent.log"
		assert_output 0
	done
	once_each
}

# assigned APP: "HOST DYNO" of every assignment of APP, sorted.
assigned() {
	ectl get --prefix /dyno/assign/ --keys-only |
		awk -F/ -v app="$1" '$5 == app { print $4, $6 }' | sort
}

@test "the placer's host stopped between its writes of a big placement, killed: the next placer completes it, no dyno twice" {
	# 1000 dynos of an app no host can run (no release record: the hosts'
	# follows fail, nothing starts): placement alone, 10 txns of 100 puts,
	# and two live hosts of capacity 600 can take them all
	local app=dynotest-big n=1000 placer pid caught t0 t1 w h
	placer=$(placer)
	[ -n "$placer" ]
	pid=${AGENT_PIDS[$placer]}
	ectl put "/dyno/apps/$app/current" '"v1"' >/dev/null
	# the placer's agent held to 1% of a CPU, then SIGSTOP'd as soon as
	# a watch sees its first write: the kill lands between its txns
	cpu_slow "$pid"
	(timeout 60 bash -c "ETCDCTL_API=3 etcdctl --endpoints $(etcd_endpoints) watch --prefix /dyno/assign/ | { grep -m1 -q '/$app/w\.'; kill -STOP $pid; }") 3>&- &
	w=$!
	sleep 1
	t0=$(ms)
	ectl put "/dyno/apps/$app/formation" "{\"w\":$n}" >/dev/null
	wait_for 30 grep -q '^State:.*stopped' "/proc/$pid/status"
	t1=$(ms)
	caught=$(assigned "$app" | wc -l)
	echo "# placer $placer stopped $((t1 - t0)) ms after the scale, with $caught of $n written" >&3
	# some of the placement written, not all: the kill lands mid-write
	[ "$caught" -gt 0 ]
	[ "$caught" -lt "$n" ]
	agent_kill "$placer" KILL
	wait_for 60 host_gone "$placer"
	wait_for 30 bash -c "[ -n \"\$(ETCDCTL_API=3 etcdctl --endpoints $(etcd_endpoints) get /dyno/placer --print-value-only)\" ]"
	[ "$(placer)" != "$placer" ]
	wait_for 60 bash -c "[ \"\$(ETCDCTL_API=3 etcdctl --endpoints $(etcd_endpoints) get --prefix /dyno/assign/ --keys-only | grep -c '/$app/w\.')\" -eq $n ]"
	t1=$(ms)
	echo "# $n placed by the new placer $((t1 - t0)) ms after the scale" >&3
	# the watch's etcdctl ends at its first write after grep's exit
	wait_status "$w"
	sleep 1
	run assigned "$app"
	# none on the dead host, each name once (no dyno on two hosts),
	# w.1..w.N, half a live host
	[ "$(grep -c "^$placer " <<<"$output")" -eq 0 ]
	assert_equal "$(wc -l <<<"$output")" "$n"
	assert_equal "$(cut -d' ' -f2 <<<"$output" | sort -u | wc -l)" "$n"
	assert_equal "$(cut -d' ' -f2 <<<"$output" | sort -t. -k2n | sed -n '1p;$p' | tr '\n' ' ')" "w.1 w.$n "
	for h in $HOSTS; do
		[ "$h" = "$placer" ] && continue
		[ "$(grep -c "^$h " <<<"$output")" -eq $((n / 2)) ]
	done
}
