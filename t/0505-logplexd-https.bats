#!/usr/bin/env bats
# https:// drains into a real HTTPS server on loopback: logplex-1 batches,
# headers, retries with the same frame id, drops, L10.
bats_require_minimum_version 1.5.0
load helper/common
load helper/logplexd

TOKEN=d.fc6b856b-3332-4546-93de-7d0ee272c3bd

setup() {
	dyno_setup
	lp_app myapp
	make_cert server
	lp_conf "drain_ca_file = $DYNO_TEST_DIR/server.pem"
	https_start
	printf '%s https://user:s3cret@127.0.0.1:%s/logs?x=1\n' "$TOKEN" \
		"$HTTPS_PORT" >"$DYNO_ROOT/apps/myapp/drains"
}
teardown() { lp_cleanup; dyno_teardown; }

# frames_have TEXT: some recorded frame contains TEXT.
frames_have() {
	frames | grep -qF -- "$1"
}

@test "batches: logplex-1 frames and headers, byte for byte" {
	lp_start
	printf 'State changed from starting to up\n' | logplex-send myapp heroku web.1
	printf 'Listening on 5000\n' | logplex-send myapp app web.1
	wait_for 20 frames_have 'Listening on 5000'
	run frames
	assert_line --index 0 --regexp "^REQUEST 1 STATUS 200 COUNT [12] ID [0-9A-F]{32} TOKEN $TOKEN UA Logplex/v1 AUTH Basic dXNlcjpzM2NyZXQ= TYPE application/logplex-1 PATH /logs\?x=1$"
	assert_line --regexp '^93\|<45>1 [0-9-]{10}T[0-9:]{8}\.[0-9]{6}\+00:00 host heroku web\.1 - State changed from starting to up\\n$'
	assert_line --regexp '^75\|<190>1 [0-9-]{10}T[0-9:]{8}\.[0-9]{6}\+00:00 host app web\.1 - Listening on 5000\\n$'
	# Each request's count matches its frames.
	run bash -c 'frames | awk "/^REQUEST/ { if (n != c) exit 1; c = \$6; n = 0; next } { n++ } END { exit n != c }"'
	assert_success
}

@test "a 500 is retried with the same frame id and body" {
	echo 500 >"$DYNO_TEST_DIR/https/statuses"
	lp_start
	printf 'try me\n' | logplex-send myapp app web.1
	wait_for 20 requests_at_least 2
	run frames
	assert_line --index 0 --regexp '^REQUEST 1 STATUS 500 COUNT 1 ID [0-9A-F]{32} '
	assert_line --index 2 --regexp '^REQUEST 2 STATUS 200 COUNT 1 ID [0-9A-F]{32} '
	id1=$(awk '/^REQUEST 1 /{ print $8 }' <<<"$output")
	id2=$(awk '/^REQUEST 2 /{ print $8 }' <<<"$output")
	assert_equal "$id1" "$id2"
	assert_equal "${lines[1]}" "${lines[3]}"
	assert_line --index 1 --partial ' host app web.1 - try me\n'
}

@test "after three failures, or a 400, the batch is dropped and L10 says so" {
	printf '400\n503\n429\n500\n' >"$DYNO_TEST_DIR/https/statuses"
	lp_start
	printf 'rejected\n' | logplex-send myapp app web.1
	wait_for 20 requests_at_least 1
	printf 'retried away\n' | logplex-send myapp app web.1
	wait_for 20 requests_at_least 4
	printf 'delivered\n' | logplex-send myapp app web.1
	wait_for 20 frames_have 'delivered'
	run frames
	assert_line --index 0 --regexp '^REQUEST 1 STATUS 400 COUNT 1 '
	# 400 is final: the next request carries new lines under a new id.
	assert_line --index 2 --regexp '^REQUEST 2 STATUS 503 COUNT 2 '
	assert_line --index 3 --regexp '^[0-9]+\|<172>1 [0-9-]{10}T[0-9:]{8}\+00:00 host heroku logplex - Error L10 \(output buffer overflow\): 1 messages dropped since [0-9-]{10}T[0-9:]{8}\+00:00\.\\n$'
	assert_line --index 4 --partial ' - retried away\n'
	assert_line --index 5 --regexp '^REQUEST 3 STATUS 429 COUNT 2 '
	assert_line --index 8 --regexp '^REQUEST 4 STATUS 500 COUNT 2 '
	# Three tries lost "retried away" and the loss the L10 reported.
	assert_line --index 11 --regexp '^REQUEST 5 STATUS 200 COUNT 2 '
	assert_line --index 12 --partial 'Error L10 (output buffer overflow): 2 messages dropped since'
	assert_line --index 13 --partial ' - delivered\n'
}

@test "a full drain buffer drops the oldest; L10 leads the next batch" {
	lp_conf "drain_ca_file = $DYNO_TEST_DIR/server.pem" 'drain_buffer = 10'
	echo hold >"$DYNO_TEST_DIR/https/statuses"
	lp_start
	printf 'first\n' | logplex-send myapp app web.1
	wait_for 20 requests_at_least 1
	logplex-send -n 50 myapp app web.1
	wait_for 20 lp_log_has myapp 'line 50'
	touch "$DYNO_TEST_DIR/https/release"
	wait_for 20 frames_have 'line 50'
	run frames
	assert_line --index 0 --regexp '^REQUEST 1 STATUS 200 COUNT 1 '
	assert_line --index 1 --partial ' - first\n'
	assert_line --index 2 --regexp '^REQUEST 2 STATUS 200 COUNT 11 '
	assert_line --index 3 --partial 'Error L10 (output buffer overflow): 40 messages dropped since'
	assert_line --index 4 --partial ' - line 41\n'
	assert_line --index 13 --partial ' - line 50\n'
}

@test "an untrusted certificate is a failed try, never a delivery" {
	make_cert other
	lp_conf "drain_ca_file = $DYNO_TEST_DIR/other.pem"
	lp_start -v
	printf 'secret line\n' | logplex-send myapp app web.1
	wait_for 30 lp_err_has 'batch of 1 dropped'
	[ ! -e "$DYNO_TEST_DIR/https/requests" ]
}

# peers: the client port of each recorded request, one a line.
peers() {
	python3 -c 'import json, sys; [print(json.loads(l)["peer"]) for l in sys.stdin]' \
		<"$DYNO_TEST_DIR/https/requests"
}

# dump_has TEXT: a SIGUSR1 dump on logplexd's stderr shows TEXT.
dump_has() {
	kill -USR1 "$LP_PID"
	lp_err_has "$1"
}

@test "an idle connection is closed, and the next batch opens a new one" {
	lp_conf "drain_ca_file = $DYNO_TEST_DIR/server.pem" 'http_drain_idle = 1s'
	lp_start
	printf 'first\n' | logplex-send myapp app web.1
	wait_for 20 requests_at_least 1
	# The receiver sees the close without logplexd sending anything else.
	wait_for 20 test -s "$DYNO_TEST_DIR/https/closed"
	assert_equal "$(peers)" "$(cat "$DYNO_TEST_DIR/https/closed")"
	printf 'second\n' | logplex-send myapp app web.1
	wait_for 20 requests_at_least 2
	run peers
	assert_not_equal "${lines[0]}" "${lines[1]}"
}

@test "a connection older than drain_max_ttl is replaced" {
	lp_conf "drain_ca_file = $DYNO_TEST_DIR/server.pem" 'drain_max_ttl = 1s'
	lp_start
	printf 'first\n' | logplex-send myapp app web.1
	wait_for 20 requests_at_least 1
	sleep 1.5	# a deliberate delay: the connection outlives its TTL
	printf 'second\n' | logplex-send myapp app web.1
	wait_for 20 requests_at_least 2
	# Kept alive (http_drain_idle is 144s), yet replaced.
	run peers
	assert_not_equal "${lines[0]}" "${lines[1]}"
}

@test "no delivery for drain_degraded_after cuts the buffer to 10 until one succeeds" {
	lp_conf "drain_ca_file = $DYNO_TEST_DIR/server.pem" \
		'drain_degraded_after = 1s'
	printf '500\n500\n500\n500\n500\n500\n' >"$DYNO_TEST_DIR/https/statuses"
	lp_start
	printf 'early\n' | logplex-send myapp app web.1
	wait_for 20 requests_at_least 3
	sleep 1.2	# a deliberate delay: longer than drain_degraded_after
	printf 'late\n' | logplex-send myapp app web.1
	wait_for 20 dump_has 'buffer=10 '
	assert lp_err_has 'buffer cut to 10 messages'
	wait_for 20 requests_at_least 6
	printf 'back\n' | logplex-send myapp app web.1
	wait_for 20 frames_have 'back'
	wait_for 20 dump_has 'buffer=1024 '
}

@test "SIGUSR1 and -v never show a drain's password" {
	lp_start -v
	wait_for 20 dump_has "drain $TOKEN https://user:***@127.0.0.1:$HTTPS_PORT/logs?x=1 state="
	assert lp_err_has "added: https://user:***@127.0.0.1:"
	run ! lp_err_has 's3cret'
}
