#!/usr/bin/env bats
# dyno-agent: one log per app across hosts, wired by the agents: three hosts
# (folders, each with its logplexd on loopback and its agent) on a 3-member
# etcd; a worker per host prints numbered lines.  A tail on h2 sees every
# host's lines once, in order per dyno; a syslog drain added on h2 gets each
# line once; the owner's death moves the log to a live host.
bats_require_minimum_version 1.5.0
load helper/common
load helper/etcd
load helper/logplexd

APPNAME=dynotest-clogs
HOSTS="h1 h2 h3"
N=40

setup() {
	command -v rsyslogd >/dev/null || skip "rsyslogd is not installed"
	cluster_begin
	mkdir -p "$DYNO_TEST_DIR/app"
	# shellcheck disable=SC2016
	printf 'worker: i=1; while [ $i -le %s ]; do echo "line $i"; i=$((i+1)); done; exec sleep 4242.105\n' \
		"$N" >"$DYNO_TEST_DIR/app/Procfile"
	# release create's formation is web=1: scaled to 0 below
	echo 'web: exec sleep 4242.106' >>"$DYNO_TEST_DIR/app/Procfile"
	local h
	for h in $HOSTS; do printf -v "PORT_$h" %s "$(free_port)"; done
	cluster_up "$DYNO_TEST_DIR/app" log_conf log_start
}

teardown() {
	lp_cleanup
	cluster_end
}

# log_conf H: H's log_addr; log_start H: its logplexd there.
log_conf() { local p="PORT_$1"; echo "log_addr = 127.0.0.1:${!p}"; }
log_start() { local p="PORT_$1"; logplexd_on "$1" "${!p}"; }

# logplexd_on H PORT: H's logplexd, its --listen on PORT; PID_H.
logplexd_on() {
	local fifo="$DYNO_TEST_DIR/ready.$1"
	mkfifo "$fifo"
	# shellcheck disable=SC2046
	env $(host_env "$1") logplexd -v --listen "127.0.0.1:$2" --ready-fd 4 \
		4>"$fifo" 3>&- 2>>"$DYNO_TEST_DIR/$1.logplexd.err" &
	printf -v "PID_$1" %s "$!"
	lp_track $!
	read -r -t 30 _ <"$fifo" || fail "logplexd of $1 not ready"
	rm -f "$fifo"
}

loghost() { ectl get "/dyno/apps/$APPNAME/loghost" --print-value-only | tr -d '"'; }

# wired: every host but the owner has a log-owner file naming it, every
# host the same log-tokens.
wired() {
	local o h t
	o=$(loghost)
	[ -n "$o" ] || return 1
	t=$(cat "$DYNO_TEST_DIR/$o/root/apps/$APPNAME/log-tokens") || return 1
	for h in ${LIVE:-$HOSTS}; do
		[ "$(cat "$DYNO_TEST_DIR/$h/root/apps/$APPNAME/log-tokens")" = "$t" ] || return 1
		if [ "$h" = "$o" ]; then
			[ ! -e "$DYNO_TEST_DIR/$h/root/apps/$APPNAME/log-owner" ] || return 1
		else
			grep -q "^$o 127.0.0.1:" "$DYNO_TEST_DIR/$h/root/apps/$APPNAME/log-owner" || return 1
		fi
	done
}

# drains_everywhere TEXT: every host's drains file has TEXT.
drains_everywhere() {
	local h
	for h in $HOSTS; do
		grep -qF -- "$1" "$DYNO_TEST_DIR/$h/root/apps/$APPNAME/drains" || return 1
	done
}

workers_up() {
	[ "$(ectl get --prefix "/dyno/status/$APPNAME/worker." --print-value-only |
		grep -c '"state":"up"')" -eq 3 ]
}

# in_order FILE PATTERN: FILE's lines with PATTERN are "line 1".."line N",
# each once, in order.
in_order() {
	local got
	got=$(grep -F -- "$2" "$1" | sed 's/.*line //' | tr '\n' ' ')
	[ "$got" = "$(seq -s ' ' 1 "$N") " ]
}

# every_dyno_once FILE FORMAT: each worker's lines once, in order; FORMAT
# is printf's, given the dyno's name.
every_dyno_once() {
	local d pat
	for d in worker.1 worker.2 worker.3; do
		# shellcheck disable=SC2059
		printf -v pat "$2" "$d"
		in_order "$1" "$pat" || return 1
	done
}

@test "a tail on h2 and a drain added on h2 see every host's lines once, in order per dyno" {
	local port
	port=$(free_port)
	rsyslog_start "$port"
	wait_for 30 wired
	run --separate-stderr on h2 dyno-logs drains add "$APPNAME" "syslog://127.0.0.1:$port"
	assert_success
	wait_for 20 drains_everywhere "syslog://127.0.0.1:$port"
	# env execs dyno-logs: $! is its pid, for lp_cleanup
	# shellcheck disable=SC2046
	env $(host_env h2) dyno-logs "$APPNAME" --tail -n 0 \
		>"$DYNO_TEST_DIR/tail" 2>"$DYNO_TEST_DIR/tail.err" 3>&- &
	lp_track $!
	sleep 1
	run --separate-stderr on h1 dyno-manager scale "$APPNAME" web=0 worker=3
	assert_success
	wait_for 60 workers_up
	# one worker per host
	local h
	for h in $HOSTS; do
		run ectl get --prefix "/dyno/assign/$h/$APPNAME/worker" --keys-only
		assert_equal "$(grep -c worker <<<"$output")" 1
	done
	wait_for 30 every_dyno_once "$DYNO_TEST_DIR/tail" 'app[%s]: line '
	wait_for 30 every_dyno_once "$DYNO_TEST_DIR/received" '|%s|-|-|line '
	# the history, asked from any host, is the owner's: each line once
	run --separate-stderr on h3 dyno-logs "$APPNAME" -n 1500
	assert_success
	printf '%s\n' "${lines[@]}" >"$DYNO_TEST_DIR/history"
	every_dyno_once "$DYNO_TEST_DIR/history" 'app[%s]: line '
}

@test "the log owner's host dies: the log moves to a live host, wired again" {
	run --separate-stderr on h1 dyno-manager scale "$APPNAME" web=0
	assert_success
	wait_for 30 wired
	local o
	o=$(loghost)
	agent_kill "$o" KILL
	eval "kill -KILL \$PID_$o"
	wait_for 40 bash -c "[ -n \"\$(ETCDCTL_API=3 etcdctl --endpoints $(etcd_endpoints) get /dyno/apps/$APPNAME/loghost --print-value-only | tr -d '\"' | grep -v '^$o\$')\" ]"
	LIVE=${HOSTS/$o/}
	wait_for 30 wired
}
