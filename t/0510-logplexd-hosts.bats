#!/usr/bin/env bats
# Logs across hosts: three logplexd on loopback, each with its own
# DYNO_ROOT and DYNO_RUNDIR, h1 the log owner of myapp, h2 and h3
# forwarding to it (apps/myapp/log-owner).  One stream: a tail and a drain
# see each line once, in order per source; the owner down then back; the
# input port refuses whoever has no token.
bats_require_minimum_version 1.5.0
load helper/common
load helper/logplexd

setup() {
	dyno_setup
	TOK_APP=t.$(cat /proc/sys/kernel/random/uuid)
	TOK_HEROKU=t.$(cat /proc/sys/kernel/random/uuid)
	local h
	for h in h1 h2 h3; do
		mkdir -p "$DYNO_TEST_DIR/$h/root/apps/myapp" "$DYNO_TEST_DIR/$h/run"
		printf '%s app\n%s heroku\n' "$TOK_APP" "$TOK_HEROKU" \
			>"$DYNO_TEST_DIR/$h/root/apps/myapp/log-tokens"
		printf '[logs]\n' >"$DYNO_TEST_DIR/$h/dyno.conf"
	done
	P1=$(free_port)
	P2=$(free_port)
	P3=$(free_port)
	owner h2 h1 "$P1"
	owner h3 h1 "$P1"
}
teardown() { lp_cleanup; dyno_teardown; }

# on HOST CMD...: run CMD with HOST's state directories.
on() {
	local h=$1
	shift
	DYNO_ROOT="$DYNO_TEST_DIR/$h/root" DYNO_RUNDIR="$DYNO_TEST_DIR/$h/run" \
		DYNO_CONF="$DYNO_TEST_DIR/$h/dyno.conf" "$@"
}

# owner HOST OWNER PORT: HOST forwards myapp's lines to OWNER.
owner() {
	printf '%s 127.0.0.1:%s\n' "$2" "$3" \
		>"$DYNO_TEST_DIR/$1/root/apps/myapp/log-owner"
}

# host_start HOST PORT: HOST's logplexd listening on PORT; PID_HOST.
host_start() {
	local h=$1 fifo="$DYNO_TEST_DIR/ready.$1.$RANDOM"
	mkfifo "$fifo"
	# env execs logplexd: $! is the daemon's pid, for kill -9.
	env DYNO_ROOT="$DYNO_TEST_DIR/$h/root" DYNO_RUNDIR="$DYNO_TEST_DIR/$h/run" \
		DYNO_CONF="$DYNO_TEST_DIR/$h/dyno.conf" \
		logplexd -v --listen "127.0.0.1:$2" --ready-fd 4 4>"$fifo" 3>&- \
		2>>"$DYNO_TEST_DIR/$h.err" &
	printf -v "PID_$h" %s "$!"
	lp_track $!
	read -r -t 30 _ <"$fifo" || { cat "$DYNO_TEST_DIR/$h.err" >&2; return 1; }
	rm -f "$fifo"
}

# send HOST N DYNO [SOURCE]: N lines "line 1".."line N" from DYNO on HOST.
send() {
	on "$1" logplex-send -n "$2" myapp "${4:-app}" "$3"
}

# lp_log_has_on HOST TEXT: HOST's dyno-logs shows TEXT.
lp_log_has_on() {
	on "$1" dyno-logs myapp -n 1500 | grep -qF -- "$2"
}

# owner_has TEXT: the owner's history shows TEXT.
owner_has() {
	on h1 dyno-logs myapp -n 1500 | grep -qF -- "$1"
}

# count_in FILE TEXT: lines of FILE holding TEXT.
count_in() {
	grep -cF -- "$2" "$1" || true
}

# in_order FILE DYNO N: FILE has DYNO's "line 1".."line N", each once, in
# order: a tail's "app[DYNO]: line 1" or rsyslog's "|DYNO|-|-|line 1".
in_order() {
	local got
	got=$(grep -e "$2]: line " -e "|$2|" "$1" | sed 's/.*line //' | tr '\n' ' ')
	[ "$got" = "$(seq -s ' ' 1 "$3") " ]
}

# marker_shows: a line sent from h2 now reaches the tail.
marker_shows() {
	send h2 1 web.0
	sleep 0.2
	grep -qF 'app[web.0]: line 1' "$DYNO_TEST_DIR/tail"
}

@test "three hosts: one tail and one syslog drain see every line once, in order per source" {
	local port h
	port=$(free_port)
	rsyslog_start "$port"
	# Every host has the drain (as a cluster would copy it): only the
	# owner's may deliver, or the drain sees lines twice.
	for h in h1 h2 h3; do
		printf 'd.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 syslog://127.0.0.1:%s\n' \
			"$port" >"$DYNO_TEST_DIR/$h/root/apps/myapp/drains"
	done
	host_start h1 "$P1"
	host_start h2 "$P2"
	host_start h3 "$P3"
	# A tail from a forwarder reaches the owner (dyno-logs goes there).
	env DYNO_ROOT="$DYNO_TEST_DIR/h3/root" DYNO_RUNDIR="$DYNO_TEST_DIR/h3/run" \
		DYNO_CONF="$DYNO_TEST_DIR/h3/dyno.conf" dyno-logs myapp --tail -n 0 \
		>"$DYNO_TEST_DIR/tail" 2>"$DYNO_TEST_DIR/tail.err" 3>&- &
	lp_track $!
	# The session is up once a marker sent after it shows.
	wait_for 20 marker_shows
	markers=$(count_in "$DYNO_TEST_DIR/tail" 'app[web.0]: line 1')
	for h in h1 h2 h3; do
		send "$h" 300 "web.$h"
		send "$h" 100 router heroku
	done
	wait_for 30 in_order "$DYNO_TEST_DIR/tail" "web.h3" 300
	wait_for 30 in_order "$DYNO_TEST_DIR/tail" "web.h2" 300
	wait_for 30 in_order "$DYNO_TEST_DIR/tail" "web.h1" 300
	# Every line once, with its source kept (the heroku token).
	assert_equal "$(count_in "$DYNO_TEST_DIR/tail" 'heroku[router]: line ')" 300
	assert_equal "$(count_in "$DYNO_TEST_DIR/tail" 'app[router]')" 0
	assert_equal "$(wc -l <"$DYNO_TEST_DIR/tail")" $((1200 + markers))
	# The drain: the owner's only, each line once.
	wait_for 30 in_order "$DYNO_TEST_DIR/received" "web.h1" 300
	wait_for 30 in_order "$DYNO_TEST_DIR/received" "web.h2" 300
	wait_for 30 in_order "$DYNO_TEST_DIR/received" "web.h3" 300
	sleep 0.5
	# The drain also has the markers sent before the tail was up.
	markers=$(count_in "$DYNO_TEST_DIR/received" '|web.0|')
	assert_equal "$(count_in "$DYNO_TEST_DIR/received" '|line ')" $((1200 + markers))
	# History on the owner; the forwarders keep none and send tails away.
	run --separate-stderr on h2 dyno-logs myapp -n 1500
	assert_success
	assert_equal "${#lines[@]}" $((1200 + markers))
	run --separate-stderr on h2 dyno-logs myapp -n 1500 -s heroku -d router
	assert_equal "${#lines[@]}" 300
	# h2 keeps the log itself once the file is gone and it is told (HUP).
	rm "$DYNO_TEST_DIR/h2/root/apps/myapp/log-owner"
	kill -HUP "$PID_h2"
	wait_for 10 on h2 dyno-logs myapp -n 1500
	send h2 1 web.local
	wait_for 10 lp_log_has_on h2 'app[web.local]: line 1'
	run --separate-stderr on h2 dyno-logs myapp -n 1500
	assert_equal "${#lines[@]}" 1
}

@test "the owner down then back: lines queued and delivered; beyond the bound dropped with L10" {
	local h
	for h in h1 h2; do
		printf '[logs]\ndrain_buffer = 100\n' >"$DYNO_TEST_DIR/$h/dyno.conf"
	done
	host_start h1 "$P1"
	host_start h2 "$P2"
	send h2 10 web.1
	wait_for 20 owner_has 'app[web.1]: line 10'
	# The owner dies: within the bound, nothing is lost.
	kill -KILL "$PID_h1"
	wait_status "$PID_h1"
	send h2 60 web.2
	host_start h1 "$P1"
	wait_for 20 owner_has 'app[web.2]: line 60'
	run --separate-stderr on h1 dyno-logs myapp -n 1500
	assert_equal "$(count_in <(printf '%s\n' "$output") 'app[web.2]: line ')" 60
	refute_output --partial 'L10'
	# Beyond the bound: the oldest go, the owner's stream says how many.
	kill -KILL "$PID_h1"
	wait_status "$PID_h1"
	send h2 250 web.3
	host_start h1 "$P1"
	wait_for 20 owner_has 'app[web.3]: line 250'
	run --separate-stderr on h1 dyno-logs myapp -n 1500
	assert_line --partial 'heroku[logplex]: Error L10 (output buffer overflow): 150 messages dropped since'
	assert_equal "$(count_in <(printf '%s\n' "$output") 'app[web.3]: line ')" 100
	assert_output --partial 'app[web.3]: line 151'
	refute_output --partial 'app[web.3]: line 150'
}

@test "a host's death mid-stream loses at most the lines in flight (measured)" {
	local sent=20000 port got l10 lost
	port=$(free_port)
	rsyslog_start "$port"
	# The owner's drain outlives it: it counts what the owner delivered
	# before its death and after its restart.
	printf 'd.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 syslog://127.0.0.1:%s\n' \
		"$port" >"$DYNO_TEST_DIR/h1/root/apps/myapp/drains"
	host_start h1 "$P1"
	host_start h2 "$P2"
	# About 10000 lines a second, so the owner dies mid-stream.
	python3 -c 'import sys, time
for i in range(1, int(sys.argv[1]) + 1):
    print("line %d" % i)
    if i % 100 == 0:
        sys.stdout.flush(); time.sleep(0.01)' "$sent" |
		on h2 logplex-send myapp app web.1 &
	local sender=$!
	wait_for 20 owner_has 'app[web.1]: line 2000'
	kill -KILL "$PID_h1"
	wait_status "$PID_h1"
	wait_status "$sender"
	host_start h1 "$P1"
	wait_for 30 received_has "|web.1|-|-|line $sent"
	sleep 0.5
	got=$(grep -F '|web.1|' "$DYNO_TEST_DIR/received" | sort -u | wc -l)
	l10=$(sed -n 's/.*L10 (output buffer overflow): \([0-9]*\) messages.*/\1/p' \
		"$DYNO_TEST_DIR/received" | paste -sd+ | bc)
	lost=$((sent - got - ${l10:-0}))
	echo "# sent=$sent delivered=$got counted_L10=${l10:-0} lost_in_flight=$lost" >&3
	# No line twice; the uncounted loss is what was in flight: the
	# owner's unread socket and its drain's queue, bounded by the buffers.
	assert_equal "$(grep -cF '|web.1|' "$DYNO_TEST_DIR/received")" "$got"
	[ "$lost" -ge 0 ] && [ "$lost" -le 2048 ]
}

@test "forwarders and tails without the app's token are refused, one line per case" {
	local bad=t.$(cat /proc/sys/kernel/random/uuid)
	printf '%s app\n%s heroku\n' "$bad" "$bad" >"$DYNO_TEST_DIR/h2/root/apps/myapp/log-tokens"
	host_start h1 "$P1"
	host_start h2 "$P2"
	send h2 5 web.9
	wait_for 20 grep -qF 'frame without a valid token refused' "$DYNO_TEST_DIR/h1.err"
	run --separate-stderr on h1 dyno-logs myapp -n 1500
	refute_output --partial 'web.9'
	tail_req() { printf '%s\n' "$1" | nc -q 2 127.0.0.1 "$P1"; }
	run tail_req "tail myapp lines=10 follow=0";            assert_output 'error unauthorized'
	run tail_req "tail myapp lines=10 follow=0 token=$bad"; assert_output 'error unauthorized'
	run tail_req "tail myapp lines=10 follow=0 token=${TOK_APP%?}"; assert_output 'error unauthorized'
	run tail_req "tail myapp lines=10 follow=0 token=${TOK_APP^^}"; assert_output 'error unauthorized'
	run tail_req "tail other lines=10 follow=0 token=$TOK_APP"; assert_output 'error unauthorized'
	run tail_req "tail myapp lines=10 follow=0 token=$TOK_APP x=1"; assert_output 'error unknown option'
	run tail_req "tail myapp lines=10 follow=0 token=$TOK_APP";  assert_output 'ok'
	# dyno-logs on a forwarder without tokens says why, and a local tail
	# of a forwarded app is refused.
	rm "$DYNO_TEST_DIR/h3/root/apps/myapp/log-tokens"
	run --separate-stderr on h3 dyno-logs myapp
	assert_failure 78
	assert_equal "$stderr" 'dyno-logs: myapp: the log is kept on h1, and the app has no input token to reach it (dyno-logs tokens add myapp app)'
	printf 'h1 not-an-address\n' >"$DYNO_TEST_DIR/h3/root/apps/myapp/log-owner"
	run --separate-stderr on h3 dyno-logs myapp
	assert_failure 65
	run -0 on h2 sh -c 'printf "tail myapp lines=1 follow=0\n" | nc -q 2 -U "$DYNO_RUNDIR/logplexd.tail"'
	assert_output 'error the log is kept on another host'
}
