#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-route answers ACME HTTP-01 challenges from DYNO_RUNDIR/acme-challenge
# before any Host lookup, and nothing else from that path.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-route

P=/.well-known/acme-challenge

setup() {
	dyno_setup
	route_backend ok web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	mkdir -p "$DYNO_RUNDIR/acme-challenge"
	printf 'tok_en-1.thumb' >"$DYNO_RUNDIR/acme-challenge/tok_en-1"
	echo secret >"$DYNO_TEST_DIR/secret"
	route_start
}
teardown() { route_cleanup; dyno_teardown; }

# hostile BYTES: the router answers 4xx itself; no dyno, no file leaks.
hostile() {
	run --separate-stderr route_raw "$1"
	assert_output --regexp '^HTTP/1.1 4[0-9][0-9] '
	refute_output --partial 'dyno='
	refute_output --partial 'secret'
	refute_output --partial 'root:'
}

@test "a stored token is answered for any Host, before the Host lookup" {
	run --separate-stderr route_curl unknown.example.test "$P/tok_en-1" -i
	assert_success
	assert_output --regexp '^HTTP/1.1 200 '
	assert_output --partial 'Content-Type: text/plain'
	assert_line --regexp '^tok_en-1\.thumb$'
	run --separate-stderr route_curl myapp.localhost "$P/tok_en-1"
	assert_output 'tok_en-1.thumb'
	run --separate-stderr route_curl myapp.localhost "$P/tok_en-1" -I
	assert_output --partial 'Content-Length: 14'
}

@test "an unknown token is 404 from the router, never the app" {
	run --separate-stderr route_curl myapp.localhost "$P/nope" -i
	assert_output --regexp '^HTTP/1.1 404 '
	refute_output --partial 'dyno='
}

@test "other methods and paths still reach the app" {
	run --separate-stderr route_curl myapp.localhost "$P/tok_en-1" -X POST -d x
	assert_output --partial 'dyno=web.1'
	run --separate-stderr route_curl myapp.localhost "/.well-known/other"
	assert_output --partial 'dyno=web.1'
}

@test "hostile tokens: one line per attack" {
	ln -s "$DYNO_TEST_DIR/secret" "$DYNO_RUNDIR/acme-challenge/link"
	mkfifo "$DYNO_RUNDIR/acme-challenge/fifo"
	long=$(printf 'a%.0s' $(seq 200))
	hostile "GET $P/.. HTTP/1.1\r\nHost: x\r\n\r\n"
	hostile "GET $P/../../secret HTTP/1.1\r\nHost: x\r\n\r\n"
	hostile "GET $P/%2e%2e/%2e%2e/secret HTTP/1.1\r\nHost: x\r\n\r\n"
	hostile "GET $P/$long HTTP/1.1\r\nHost: x\r\n\r\n"
	hostile "GET $P/tok_en-1\x00 HTTP/1.1\r\nHost: x\r\n\r\n"
	hostile "GET $P/tok_en-1%00 HTTP/1.1\r\nHost: x\r\n\r\n"
	hostile "GET $P/link HTTP/1.1\r\nHost: x\r\n\r\n"
	hostile "GET $P/fifo HTTP/1.1\r\nHost: x\r\n\r\n"
	hostile "GET $P/ HTTP/1.1\r\nHost: x\r\n\r\n"
	hostile "GET $P/tok_en-1/ HTTP/1.1\r\nHost: x\r\n\r\n"
	hostile "GET $P/tok_en-1?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"
	# the router is still up and answering
	run --separate-stderr route_curl myapp.localhost "$P/tok_en-1"
	assert_output 'tok_en-1.thumb'
}
