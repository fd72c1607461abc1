# SPDX-License-Identifier: ISC
# Loaded by the cluster tests after helper/common: a 3-member etcd on
# 127.0.0.1 (data on tmpfs: etcd 3.4 cannot turn fsync off) and dyno
# "hosts" as agents with their own DYNO_ROOT, DYNO_RUNDIR and DYNO_CONF.
# shellcheck shell=bash

# Client ports 23410, 23420, 23430; peers one above each (the 234x0 range
# is this helper's alone, and one test file at a time has it: resource_lock).
ETCD_BASE=23400
# The members' address: 127.0.0.1, or the test bridge's root address when
# the hosts are network namespaces (helper/hosts.bash).
ETCD_IP=127.0.0.1
ETCD_PIDS=()
ETCD_DATA=

etcd_url() { echo "http://$ETCD_IP:$((ETCD_BASE + $1 * 10))"; }
etcd_peer() { echo "http://$ETCD_IP:$((ETCD_BASE + $1 * 10 + 1))"; }
etcd_endpoints() { echo "$(etcd_url 1),$(etcd_url 2),$(etcd_url 3)"; }

# etcd_member I: start member I (1..3) of the cluster, in the background.
etcd_member() {
	local i=$1 cluster
	cluster="m1=$(etcd_peer 1),m2=$(etcd_peer 2),m3=$(etcd_peer 3)"
	# in a subshell with no fd but 0-2: the test lock's must not outlive us
	(
		for fd in "/proc/$BASHPID/fd/"*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done
		exec etcd --name "m$i" --data-dir "$ETCD_DATA/m$i" \
		--listen-client-urls "$(etcd_url "$i")" \
		--advertise-client-urls "$(etcd_url "$i")" \
		--listen-peer-urls "$(etcd_peer "$i")" \
		--initial-advertise-peer-urls "$(etcd_peer "$i")" \
		--initial-cluster "$cluster" --initial-cluster-state new \
		--initial-cluster-token "dynotest-$$" \
		>>"$ETCD_DATA/m$i.log" 2>&1
	) &
	ETCD_PIDS[i]=$!
}

# etcd_healthy I: member I answers and has a leader.
etcd_healthy() {
	curl -sf -m 2 "$(etcd_url "$1")/health" | grep -q '"health":"true"'
}

# etcd_setup: the three members, healthy.  Skips without etcd.
etcd_setup() {
	require_cmd etcd etcdctl curl
	resource_lock etcd || return 1
	ETCD_DATA=$(mktemp -d /dev/shm/dynotest-etcd-XXXXXX)
	local i
	for i in 1 2 3; do etcd_member "$i"; done
	for i in 1 2 3; do wait_for 30 etcd_healthy "$i"; done
}

# etcd_kill I: kill -9 member I.
etcd_kill() {
	kill -KILL "${ETCD_PIDS[$1]}" 2>/dev/null
	wait "${ETCD_PIDS[$1]}" 2>/dev/null || true
	ETCD_PIDS[$1]=
}

etcd_teardown() {
	local i
	for i in 1 2 3; do
		[ -n "${ETCD_PIDS[i]:-}" ] && etcd_kill "$i"
	done
	[ -n "$ETCD_DATA" ] && rm -rf "$ETCD_DATA"
	resource_unlock etcd
}

# ectl ARGS...: etcdctl on the test cluster.
ectl() {
	ETCDCTL_API=3 etcdctl --endpoints "$(etcd_endpoints)" "$@"
}

# host_env H: the environment of host H (h1, h2, ...) for a command.
host_env() {
	echo "DYNO_ROOT=$DYNO_TEST_DIR/$1/root" \
		"DYNO_RUNDIR=$DYNO_TEST_DIR/$1/run" \
		"DYNO_CONF=$DYNO_TEST_DIR/$1/dyno.conf"
}

# on H CMD...: run CMD as host H.
on() {
	local h=$1
	shift
	# shellcheck disable=SC2046
	env $(host_env "$h") "$@"
}

# host_setup H [CONF]: host H's state tree and dyno.conf ([cluster] and
# short dyno times, plus CONF lines).
host_setup() {
	local h=$1
	mkdir -p "$DYNO_TEST_DIR/$h/root" "$DYNO_TEST_DIR/$h/run"
	cat >"$DYNO_TEST_DIR/$h/dyno.conf" <<-C
	[dyno]
	grace = 2s
	boot_timeout = 20s
	[manager]
	restart_backoff = 0, 4s, 1h
	network = host
	[cluster]
	etcd = $(etcd_endpoints)
	host = $h
	address = 127.0.0.1
	${2:-}
	C
}

declare -gA AGENT_PIDS

# agent_start H [OPTION...]: dyno-agent of host H in the background,
# registered.
agent_start() {
	local h=$1
	# shellcheck disable=SC2046
	env $(host_env "$h") dyno-agent "${@:2}" run \
		>>"$DYNO_TEST_DIR/$h/agent.log" 2>&1 3>&- &
	AGENT_PIDS[$h]=$!
	wait_for 20 bash -c "ETCDCTL_API=3 etcdctl --endpoints $(etcd_endpoints) get /dyno/hosts/$h | grep -q ."
}

agent_kill() {
	local h=$1 sig=${2:-KILL}
	kill -"$sig" "${AGENT_PIDS[$h]}" 2>/dev/null
}

# host_teardown H: its agent and managers, and what is left of its dynos.
host_teardown() {
	local h=$1 pid f
	[ -n "${AGENT_PIDS[$h]:-}" ] && kill -CONT "${AGENT_PIDS[$h]}" 2>/dev/null
	[ -n "${AGENT_PIDS[$h]:-}" ] && kill -KILL "${AGENT_PIDS[$h]}" 2>/dev/null
	for f in "$DYNO_TEST_DIR/$h"/run/apps/*/manager.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2>/dev/null
	done
	for f in "$DYNO_TEST_DIR/$h"/run/apps/*/manager.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		wait_for 15 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null
	done
	return 0
}

# --- a cluster of HOSTS running APPNAME (t/1401, t/1405, t/1406) ------------

# cluster_begin: the test's tree and the 3-member etcd (root and dyno-run
# needed).
cluster_begin() {
	require_root
	[ -x "$TOP/bin/dyno-run" ] || skip "dyno-run is not built"
	dyno_setup
	etcd_setup
}

# cluster_up SLUG [CONF_OF [AFTER]]: each host of HOSTS set up (CONF_OF H
# prints its extra dyno.conf lines), APPNAME released there from SLUG (the
# slug on every host: fetching it is t/1403's part), AFTER H run; then
# every host's agent.
cluster_up() {
	local slug=$1 conf_of=${2:-} after=${3:-} h
	for h in $HOSTS; do
		host_setup "$h" "$([ -z "$conf_of" ] || "$conf_of" "$h")"
		on "$h" release create "$APPNAME" --slug "$slug" >/dev/null 2>&1 ||
			fail "release create on $h"
		[ -z "$after" ] || "$after" "$h"
	done
	for h in $HOSTS; do agent_start "$h"; done
}

# cluster_end: every host's agent, managers and dynos of APPNAME; etcd;
# the test's tree.
cluster_end() {
	hosts_end
	etcd_teardown
	dyno_teardown
}

# hosts_end: every host of $HOSTS torn down, then the app's dynos on each.
hosts_end() {
	local h
	for h in $HOSTS; do host_teardown "$h"; done
	for h in $HOSTS; do
		DYNO_ROOT="$DYNO_TEST_DIR/$h/root" stop_app_dynos "$APPNAME"
	done
}

# --- checks of an app's dynos over the hosts: APPNAME, HOSTS ---------------

# up_count [HOST]: how many dynos of the app are up, as etcd says (not
# counting those of HOST).
up_count() {
	ectl get --prefix "/dyno/status/$APPNAME/" --print-value-only |
		grep -v "\"host\":\"${1:-none}\"" | grep -c '"state":"up"' || true
}

# formation_up N [HOST]: N dynos up in etcd (none of them on HOST).
formation_up() { [ "$(up_count "${2:-}")" -eq "$1" ]; }

# host_gone H: H's lease has ended: no hosts/ key, no status of its dynos.
host_gone() {
	[ -z "$(ectl get "/dyno/hosts/$1")" ] &&
		! ectl get --prefix "/dyno/status/$APPNAME/" --print-value-only |
		grep -q "\"host\":\"$1\""
}

# running_on H: how many dyno-run processes host H runs of the app.
running_on() {
	DYNO_ROOT="$DYNO_TEST_DIR/$1/root" test_dynoruns "$APPNAME" | wc -l
}
not_running_on() { [ "$(running_on "$1")" -eq 0 ]; }

# routes_ok H N: host H's routes file names N web dynos, and each address
# answers as its dyno ("web.2 hello").
routes_ok() { routes_say "$1" "$2" hello; }

# once_each: no dyno name runs on two hosts (by their state files).
once_each() {
	local h d seen=" "
	for h in $HOSTS; do
		for d in "$DYNO_TEST_DIR/$h/root/apps/$APPNAME"/dynos/*/; do
			[ -f "$d/state" ] || continue
			case $(cat "$d/state") in up|starting) ;; *) continue ;; esac
			d=${d%/}
			d=${d##*/}
			[[ $seen == *" $d "* ]] && { echo "$d twice"; return 1; }
			seen+="$d "
		done
	done
}

# --- release across hosts: h1 serving its slugs, h2 (t/1403, t/1404, t/1407)

# slug_hosts_setup: hosts h1 (its dyno-slugd on SLUGD_PORT, named by its
# dyno.conf's slug_url) and h2; DYNO_TEST_DIR/slug.tgz, the test app.
slug_hosts_setup() {
	SLUGD_PORT=$(free_port)
	host_setup h1 "slug_url = http://127.0.0.1:$SLUGD_PORT/slugs/"
	host_setup h2
	# shellcheck disable=SC2046
	env $(host_env h1) dyno-slugd --listen "127.0.0.1:$SLUGD_PORT" \
		>>"$DYNO_TEST_DIR/slugd.log" 2>&1 3>&- &
	SLUGD=$!
	wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$SLUGD_PORT/"
	tar czf "$DYNO_TEST_DIR/slug.tgz" -C "$TOP/t/data/dyno-manager/app" .
}

# slug_host_register: h1's host record with its slug_url, as its agent
# publishes it (for tests without agents).
slug_host_register() {
	ectl put /dyno/hosts/h1 "{\"addr\":\"127.0.0.1\",\"slug_url\":\"http://127.0.0.1:$SLUGD_PORT/slugs/\"}" >/dev/null
}

slug_hosts_teardown() {
	[ -n "${SLUGD:-}" ] && kill "$SLUGD" 2>/dev/null
	SLUGD=
	return 0
}

# slug_hosts_end ETCDCTL-GET-ARGS...: the teardown of a test with agents on
# $HOSTS: after a failure their logs and `etcdctl get --prefix ARGS`, then
# the hosts, the app's dynos, the slug server, etcd and the tree.
slug_hosts_end() {
	local h
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		for h in $HOSTS; do
			echo "# == $h" >&3
			sed 's/^/# /' "$DYNO_TEST_DIR/$h/agent.log" >&3 2>/dev/null
		done
		ectl get --prefix "$@" | sed 's/^/# /' >&3
	fi
	hosts_end
	slug_hosts_teardown
	etcd_teardown
	dyno_teardown
}

# routes_say H N WORD: host H's routes name N web dynos of the app, each
# answering as itself with WORD (its GREETING, or what its code says).
routes_say() {
	local f="$DYNO_TEST_DIR/$1/root/apps/$APPNAME/routes" dyno addr
	[ "$(wc -l <"$f")" -eq "$2" ] || return 1
	while read -r dyno addr; do
		[ "$(curl -sf -m 2 "http://$addr/")" = "$dyno $3" ] || return 1
	done <"$f"
}
