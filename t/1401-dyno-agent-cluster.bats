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

@test "no [cluster] etcd: dyno-agent refuses to run (one host stays one host)" {
	run --separate-stderr env DYNO_CONF=/dev/null dyno-agent run
	assert_failure 78
	assert_equal "$stderr" "dyno-agent: /dev/null: no etcd in [cluster]: this host is not in a cluster"
	run --separate-stderr dyno-agent bogus
	assert_failure 64
}
