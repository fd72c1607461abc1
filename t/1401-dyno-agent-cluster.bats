#!/usr/bin/env bats
# dyno-agent: three hosts on a 3-member etcd: placement, ps, routes, and the
# faults (an agent killed or stopped, an etcd member killed, etcd down
# everywhere, the placer killed mid-placement, a drain).
bats_require_minimum_version 1.5.0
load helper/common
load helper/etcd

APPNAME=dynotest-clu
HOSTS="h1 h2 h3"

setup() {
	cluster_begin
	cluster_up "$TOP/t/data/dyno-manager/app"
}

teardown() { cluster_end; }

# status_of DYNO: "HOST STATE" of the dyno in etcd, or nothing.
status_of() {
	ectl get "/dyno/status/$APPNAME/$1" --print-value-only |
		python3 -c 'import json,sys
for l in sys.stdin:
    if l.strip(): d=json.loads(l); print(d["host"], d["state"])'
}

scale_five() {
	run --separate-stderr on h1 dyno-manager scale "$APPNAME" web=3 worker=2
	assert_success
	wait_for 40 formation_up 5
}

ms() { echo $(($(date +%s%N) / 1000000)); }

@test "placement: each type spread over the hosts, ps shows the hosts, every host routes to every web dyno" {
	scale_five
	local h
	for h in $HOSTS; do
		# web=3 over 3 hosts: one each
		run ectl get --prefix "/dyno/assign/$h/$APPNAME/web" --keys-only
		assert_equal "$(grep -c web <<<"$output")" 1
	done
	run --separate-stderr on h2 dyno-manager ps "$APPNAME"
	assert_success
	assert_output --regexp "web\.1: up .* on h[123]"
	assert_output --partial "=== web (Standard-1X): exec python3 web.py (3)"
	for h in $HOSTS; do wait_for 10 routes_ok "$h" 3; done
	once_each
	run --separate-stderr on h3 dyno-agent hosts
	assert_output --regexp "^h1 127.0.0.1 100 [0-9] up"
	assert_output --partial " placer"
}

@test "kill -9 of an agent: its dynos fence themselves, run elsewhere, routed" {
	scale_five
	local n t0 t1
	n=$(running_on h1)
	[ "$n" -ge 1 ]
	t0=$(ms)
	agent_kill h1 KILL
	# its managers stop its dynos before the lease can end (TTL - 3 s)
	wait_for 12 not_running_on h1
	t1=$(ms)
	echo "# h1 fenced $((t1 - t0)) ms after its agent died" >&3
	wait_for 60 host_gone h1
	wait_for 15 formation_up 5 h1
	t1=$(ms)
	echo "# formation back $((t1 - t0)) ms after the host died" >&3
	wait_for 10 routes_ok h2 3
	wait_for 10 routes_ok h3 3
	t1=$(ms)
	echo "# routed from h2 and h3 $((t1 - t0)) ms after the host died" >&3
	once_each
}

@test "SIGSTOP of an agent: its dynos stop before its lease ends; on SIGCONT a new lease" {
	scale_five
	local t0 t1 lease
	lease=$(cat "$DYNO_TEST_DIR/h2/run/cluster/lease")
	t0=$(ms)
	agent_kill h2 STOP
	wait_for 12 not_running_on h2
	t1=$(ms)
	echo "# h2 fenced $((t1 - t0)) ms after SIGSTOP" >&3
	# its lease runs out while the agent is stopped: the dynos move
	wait_for 60 host_gone h2
	wait_for 15 formation_up 5 h2
	once_each
	agent_kill h2 CONT
	wait_for 15 grep -q "h2: fenced" "$DYNO_TEST_DIR/h2/agent.log"
	wait_for 15 bash -c "[ \"\$(cat $DYNO_TEST_DIR/h2/run/cluster/lease)\" != $lease ]"
	# back in the cluster, a new lease, none of the dynos that moved
	wait_for 10 bash -c "ETCDCTL_API=3 etcdctl --endpoints $(etcd_endpoints) get /dyno/hosts/h2 | grep -q ."
	sleep 2
	once_each
	formation_up 5
	not_running_on h2
}

@test "an etcd member killed: nothing moves, nothing stops" {
	scale_five
	local before
	before=$(ectl get --prefix "/dyno/status/$APPNAME/" --print-value-only | grep -o '"host":"h[0-9]"' | sort | tr '\n' ' ')
	etcd_kill 1
	sleep 14
	run bash -c "cat $DYNO_TEST_DIR/h*/agent.log | grep -c fenced"
	assert_output 0
	formation_up 5
	[ "$(ectl get --prefix "/dyno/status/$APPNAME/" --print-value-only | grep -o '"host":"h[0-9]"' | sort | tr '\n' ' ')" = "$before" ]
}

@test "etcd down everywhere: every host keeps its dynos and says so" {
	scale_five
	local h before
	for h in $HOSTS; do before+="$(running_on "$h") "; done
	etcd_kill 1
	etcd_kill 2
	etcd_kill 3
	sleep 14
	local after=
	for h in $HOSTS; do after+="$(running_on "$h") "; done
	[ "$before" = "$after" ]
	grep -q "etcd is down on every member" "$DYNO_TEST_DIR/h1/agent.log"
}

@test "the placer's host killed mid-placement: another placer finishes it" {
	local placer
	placer=$(ectl get /dyno/placer --print-value-only | tr -d '"')
	[ -n "$placer" ]
	run --separate-stderr on h1 dyno-manager scale "$APPNAME" web=6 worker=6
	assert_success
	agent_kill "$placer" KILL
	wait_for 60 host_gone "$placer"
	wait_for 40 formation_up 12 "$placer"
	[ "$(ectl get /dyno/placer --print-value-only | tr -d '"')" != "$placer" ]
	once_each
}

@test "drain: a host's dynos move away, web ones after their successor is up; undrain" {
	scale_five
	run --separate-stderr on h1 dyno-agent drain h3
	assert_success
	assert_output "Draining h3: its dynos move to the other hosts"
	wait_for 30 not_running_on h3
	wait_for 20 formation_up 5
	run --separate-stderr on h1 dyno-agent hosts
	assert_output --regexp "h3 127.0.0.1 100 0 draining"
	for h in h1 h2; do wait_for 10 routes_ok "$h" 3; done
	once_each
	run --separate-stderr on h1 dyno-agent undrain h3
	assert_success
	run --separate-stderr on h1 dyno-agent drain 'x/y'
	assert_failure 64
}

# etcd_rev: etcd's revision now.
etcd_rev() {
	ectl get /dyno/placer -w json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])'
}

# cut_etcd H: every TCP connection of H's agent (its watch among them)
# destroyed in the kernel (ss -K), as a network fault would end them.
cut_etcd() {
	local pid=${AGENT_PIDS[$1]} ports p filter=""
	ports=$(ss -tnpH state established | grep "pid=$pid," |
		awk '{ n = split($3, a, ":"); print a[n] }')
	[ -n "$ports" ] || return 1
	for p in $ports; do filter+="${filter:+ or }sport = :$p"; done
	ss -K -tn state established "( $filter )" >/dev/null
	! ss -tnpH state established | grep -q "pid=$pid,"
}

# assigned_on H: the app's dynos etcd assigns to host H, sorted.
assigned_on() {
	ectl get --prefix "/dyno/assign/$1/$APPNAME/" --keys-only |
		awk -F/ 'NF { print $NF }' | sort
}

# up_on H: the app's dynos up on host H (by their state files), sorted.
up_on() {
	local d
	for d in "$DYNO_TEST_DIR/$1/root/apps/$APPNAME"/dynos/*/; do
		[ "$(cat "$d/state" 2>/dev/null)" = up ] || continue
		d=${d%/}
		echo "${d##*/}"
	done | sort
}

# runs_assigned: every host runs exactly what etcd assigns to it.
runs_assigned() {
	local h
	for h in $HOSTS; do
		[ "$(up_on "$h")" = "$(assigned_on "$h")" ] || return 1
	done
}

@test "the watch resumes past a compaction: the agent reads all again, converges and says so" {
	scale_five
	local h p t0 rev
	p=$(ectl get /dyno/placer --print-value-only | tr -d '"')
	for h in $HOSTS; do [ "$h" != "$p" ] && break; done
	# h stopped within its lease (no fence) with its connections cut: on
	# SIGCONT its watch resumes from a revision etcd compacted away
	t0=$(ms)
	agent_kill "$h" STOP
	cut_etcd "$h" || { agent_kill "$h" CONT; skip "ss -K cannot destroy sockets here"; }
	run --separate-stderr on "$p" dyno-manager scale "$APPNAME" web=2 worker=3
	assert_success
	wait_for 5 bash -c "[ \"\$(ETCDCTL_API=3 etcdctl --endpoints $(etcd_endpoints) get --prefix /dyno/assign/ --keys-only | grep -c '/$APPNAME/')\" -eq 5 ]"
	rev=$(etcd_rev)
	ectl compact "$rev" >/dev/null
	agent_kill "$h" CONT
	echo "# $h stopped $(($(ms) - t0)) ms, etcd compacted to $rev" >&3
	wait_for 15 grep -q "$h: watch: etcd compacted its history to revision $rev, past ours" \
		"$DYNO_TEST_DIR/$h/agent.log"
	# web=2 worker=3 up, each host running what it is assigned, routed
	wait_for 40 formation_up 5
	wait_for 20 runs_assigned || {
		for p in $HOSTS; do
			echo "# $p runs $(up_on "$p" | tr '\n' ' '), assigned" \
				"$(assigned_on "$p" | tr '\n' ' ')" >&3
			tail -5 "$DYNO_TEST_DIR/$p/agent.log" | sed 's/^/#   /' >&3
		done
		ectl get --prefix /dyno/assign/ --keys-only | grep . | sed 's/^/# /' >&3
		false
	}
	run ectl get --prefix "/dyno/assign/" --keys-only
	refute_output --partial "/$APPNAME/web.3"
	for p in $HOSTS; do wait_for 15 routes_ok "$p" 2; done
	once_each
	run grep -c "$h: fenced" "$DYNO_TEST_DIR/$h/agent.log"
	assert_output 0
}

@test "release records (their config vars) stay out of the agents' watched copy" {
	local v env
	env=$(for v in $(seq 1 64); do printf 'SECRET_%02d=%060d\n' "$v" 0; done |
		head -c 4096 | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')
	# 20 releases of another app, 4 KiB of config each: 80 KiB in etcd
	for v in $(seq 1 20); do
		ectl put "/dyno/apps/dynotest-clu2/releases/v$v" \
			"{\"version\":$v,\"env\":$env}" >/dev/null
	done
	ectl put /dyno/apps/dynotest-clu2/lock '{"host":"h1","pid":1}' >/dev/null
	# h2's agent again, -v: it says what its copy holds
	agent_kill h2 TERM
	wait_status "${AGENT_PIDS[h2]}"
	agent_start h2 -v
	wait_for 10 grep -q "h2: watch: copy of " "$DYNO_TEST_DIR/h2/agent.log"
	run grep -o "h2: watch: copy of .*" "$DYNO_TEST_DIR/h2/agent.log"
	# the hosts, the placer, this app's keys: a few KiB, never the 80
	[[ $output =~ copy\ of\ [0-9]+\ keys,\ ([0-9]+)\ bytes ]]
	echo "# h2's copy: ${BASH_REMATCH[1]} bytes" >&3
	[ "${BASH_REMATCH[1]}" -lt 16384 ]
	# and it still acts on the rest
	scale_five
}

@test "no [cluster] etcd: dyno-agent refuses to run (one host stays one host)" {
	run --separate-stderr env DYNO_CONF=/dev/null dyno-agent run
	assert_failure 78
	assert_equal "$stderr" "dyno-agent: /dev/null: no etcd in [cluster]: this host is not in a cluster"
	run --separate-stderr dyno-agent bogus
	assert_failure 64
}
