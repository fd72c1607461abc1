#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-route: requests two parsers could read differently are refused (400).
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-route

setup() {
	dyno_setup
	route_backend ok web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
}
teardown() { route_cleanup; dyno_teardown; }

# refused BYTES [STATUS]: the router answers 400 (or STATUS) and the dyno
# never sees it.
refused() {
	run --separate-stderr route_raw "$1"
	assert_output --regexp "^HTTP/1.1 ${2:-400} "
	refute_output --partial "dyno="
}

H='Host: myapp.localhost\r\n'

@test "Content-Length with Transfer-Encoding" {
	refused "POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	wait_for 10 route_log_has 'code=H26 desc="Request Error" cause="content-length with transfer-encoding"'
}

@test "conflicting and multi-valued Content-Length" {
	refused "POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"
	refused "POST / HTTP/1.1\r\n${H}Content-Length: 15,24\r\n\r\nabcde"
	refused "POST / HTTP/1.1\r\n${H}Content-Length: +4\r\n\r\nabcd"
}

@test "identical duplicate Content-Length is merged" {
	run --separate-stderr route_raw "POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd"
	assert_output --regexp '^HTTP/1.1 200 '
	assert_output --partial "body=abcd"
}

@test "obs-fold, bare LF, bare CR, space before colon" {
	refused "GET / HTTP/1.1\r\n${H}X-A: 1\r\n  folded\r\n\r\n"
	refused "GET / HTTP/1.1\n${H}\r\n"
	refused "GET / HTTP/1.1\r\n${H}X-A: 1\n\r\n"
	refused "GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n"
	refused "GET / HTTP/1.1\r\n${H}X-A : 1\r\n\r\n"
}

@test "bad transfer codings and bad chunks" {
	refused "POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n" 501
	refused "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"
	refused "POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	run --separate-stderr route_raw "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
	assert_output --regexp '^HTTP/1.1 400 '
	wait_for 10 route_log_has 'cause="bad chunk"'
}

@test "bad request lines, missing or repeated Host, CONNECT, HTTP/0.9 and /2" {
	refused "GET  / HTTP/1.1\r\n${H}\r\n"
	refused "GET / HTTP/1.2\r\n${H}\r\n"
	refused "GET /\r\n\r\n"
	refused "GET / HTTP/1.1\r\n\r\n"
	refused "GET / HTTP/1.0\r\n\r\n"
	refused "GET / HTTP/1.1\r\n${H}${H}\r\n"
	refused "CONNECT myapp.localhost:443 HTTP/1.1\r\n${H}\r\n"
	refused "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	refused "GET / HTTP/1.1\r\n${H}Connection: ,\r\n\r\n"
}

@test "oversized request line, header line and header name" {
	long=$(printf 'a%.0s' $(seq 1 8200))
	refused "GET /$long HTTP/1.1\r\n${H}\r\n"
	refused "GET / HTTP/1.1\r\n${H}X-Long: $long\r\n\r\n"
	name=$(printf 'n%.0s' $(seq 1 1001))
	refused "GET / HTTP/1.1\r\n${H}$name: 1\r\n\r\n"
	ok=$(printf 'a%.0s' $(seq 1 8000))
	run --separate-stderr route_raw "GET / HTTP/1.1\r\n${H}X-Long: $ok\r\nConnection: close\r\n\r\n"
	assert_output --regexp '^HTTP/1.1 200 '
}

@test "transfer codings: a lone chunked or 501, never passed on" {
	refused "POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" 501
	refused "POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" 501
	refused "POST / HTTP/1.1\r\n${H}Transfer-Encoding: x-custom,chunked\r\n\r\n0\r\n\r\n" 501
	refused "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n"
	wait_for 10 route_log_has 'code=H26 desc="Request Error" cause="unsupported transfer-encoding" .* status=501 '
	run --separate-stderr route_raw "POST / HTTP/1.1\r\n${H}Transfer-Encoding: \t ChUnKeD \r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	assert_output --regexp '^HTTP/1.1 200 '
	assert_line "body=abc"
}

@test "absolute-form: its authority routes, the dyno gets origin-form and that Host" {
	route_backend ok other.1
	route_app other other.example
	route_routes other "other.1 $BACKEND_PORT"
	run --separate-stderr route_raw "GET http://Other.Example/x?y=1 HTTP/1.1\r\n${H}Connection: close\r\n\r\n"
	assert_output --regexp '^HTTP/1.1 200 '
	assert_line "dyno=other.1"
	assert_line "GET /x?y=1 HTTP/1.1"
	assert_line "Host: Other.Example"
	refute_output --partial "myapp.localhost"
	wait_for 10 route_log_has 'method=GET path="/x\?y=1" host=Other.Example .* dyno=other.1 '
	run --separate-stderr route_raw "GET https://myapp.localhost HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n"
	assert_line "dyno=web.1"
	assert_line "GET / HTTP/1.1"
	assert_line "Host: myapp.localhost"
}

@test "malformed request targets" {
	refused "GET http://user@myapp.localhost/x HTTP/1.1\r\n${H}\r\n"
	refused "GET http:///x HTTP/1.1\r\n${H}\r\n"
	refused "GET http://myapp.localhost:99999/ HTTP/1.1\r\n${H}\r\n"
	refused "GET http://myapp.localhost?q HTTP/1.1\r\n${H}\r\n"
	refused "GET ftp://myapp.localhost/x HTTP/1.1\r\n${H}\r\n"
	refused "GET x/y HTTP/1.1\r\n${H}\r\n"
	refused "GET * HTTP/1.1\r\n${H}\r\n"
	wait_for 10 route_log_has 'cause="bad request target"'
}
