#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-route: HTTP/2 to clients over TLS (ALPN h2), HTTP/1.1 to dynos; every
# router behaviour per stream.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-route

H=myapp.example

setup() {
	dyno_setup
	require_cmd openssl curl nghttp h2load
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -days 2 -subj "/CN=$H" -addext "subjectAltName=DNS:$H" \
		-keyout "$DYNO_TEST_DIR/h.key" -out "$DYNO_TEST_DIR/h.crt" 2>/dev/null
	route_app myapp "$H"
}
teardown() { route_cleanup; dyno_teardown; }

# h2_start MODE: one test dyno of MODE, the router with a TLS listener on TPORT.
h2_start() {
	route_backend "$1" web.1
	route_routes myapp "web.1 $BACKEND_PORT"
	TPORT=$(free_port)
	route_start --tls-listen "127.0.0.1:$TPORT" \
		--tls-cert "$DYNO_TEST_DIR/h.crt" --tls-key "$DYNO_TEST_DIR/h.key"
}

h2_curl() {
	curl -sS --max-time 60 --cacert "$DYNO_TEST_DIR/h.crt" \
		--resolve "$H:$TPORT:127.0.0.1" "$@"
}

h2_url() { echo "https://$H:$TPORT$1"; }

# nghttp and h2load have no --resolve: the address, and the name as :authority.
h2_ip_url() { echo "https://127.0.0.1:$TPORT$1"; }
AUTH=(-H ":authority: $H")

# h2_raw CASE: the raw frame client (t/helper/dyno-route-h2.py).
h2_raw() {
	timeout 60 python3 "$TOP/t/helper/dyno-route-h2.py" "$TPORT" "$H" "$1"
}

# sha1 of N bytes of the bulk dyno's pattern.
pattern_sha1() {
	python3 -c 'import hashlib, sys
n = int(sys.argv[1]); b = bytes(range(251)) * (n // 251 + 1)
print(hashlib.sha1(b[:n]).hexdigest())' "$1"
}

@test "ALPN: h2 when offered, http/1.1 otherwise, and without ALPN" {
	h2_start ok
	run --separate-stderr h2_curl --http2 -o /dev/null -w '%{http_version}\n' "$(h2_url /a)"
	assert_output 2
	run --separate-stderr h2_curl --http1.1 -o /dev/null -w '%{http_version}\n' "$(h2_url /b)"
	assert_output 1.1
	run --separate-stderr h2_curl --no-alpn -o /dev/null -w '%{http_version}\n' "$(h2_url /c)"
	assert_output 1.1
	wait_for 10 route_log_has 'path="/a" .* status=200 .* protocol=http2$'
	wait_for 10 route_log_has 'path="/b" .* status=200 .* protocol=https$'
	wait_for 10 route_log_has 'path="/c" .* status=200 .* protocol=https$'
}

@test "a stream gets Heroku's headers; the dyno HTTP/1.1; hop-by-hop dropped" {
	h2_start hop
	run --separate-stderr h2_curl --http2 -i -H 'X-Request-Id: abcdefghij0123456789xyz' \
		-H 'Cookie: a=1' -H 'Cookie: b=2' "$(h2_url '/p?q=1')"
	assert_success
	assert_line --regexp '^HTTP/2 200'
	assert_line --regexp '^via: 1.1 dyno-route'
	assert_line --regexp '^x-public: yes'
	refute_line --regexp '^(connection|x-private|transfer-encoding|keep-alive):'
	assert_line 'GET /p?q=1 HTTP/1.1'
	assert_line "Host: $H:$TPORT"
	assert_line 'X-Forwarded-For: 127.0.0.1'
	assert_line 'X-Forwarded-Proto: https'
	assert_line "X-Forwarded-Port: $TPORT"
	assert_line 'X-Request-Id: abcdefghij0123456789xyz'
	assert_line --regexp '^X-Request-Start: [0-9]{13}$'
	assert_line 'Via: 1.1 dyno-route'
	assert_line --regexp '^Cookie: a=1; b=2$'
	wait_for 10 route_log_has 'path="/p\?q=1" host=myapp.example:[0-9]+ request_id=abcdefghij0123456789xyz fwd="127.0.0.1" dyno=web.1 .* status=200 .* protocol=http2$'
}

# (150 at once: one dyno takes backlog_per_dyno = 200 before H11.)
@test "100 concurrent streams on one connection, and 300 over 3" {
	h2_start bulk
	run --separate-stderr nghttp -n -s -m 100 "${AUTH[@]}" "$(h2_ip_url /1000)"
	assert_success
	[ "$(grep -c ' 200 1000 /1000$' <<<"$output")" -eq 100 ]
	run --separate-stderr h2load -n 300 -c 3 -m 50 "${AUTH[@]}" "$(h2_ip_url /2000)"
	assert_success
	assert_output --partial 'requests: 300 total, 300 started, 300 done, 300 succeeded, 0 failed'
	assert_output --partial 'status codes: 300 2xx'
	wait_for 10 test "$(grep -c 'path="/2000" .* status=200 bytes=2000 protocol=http2' "$ROUTER_LOG")" -eq 300
}

@test "50 MiB down and up, checksums; chunked both ways" {
	h2_start bulk
	local n=$((50 * 1024 * 1024))
	run --separate-stderr bash -c "$(declare -f h2_curl); H=$H TPORT=$TPORT DYNO_TEST_DIR=$DYNO_TEST_DIR h2_curl --http2 $(h2_url /$n) | sha1sum"
	assert_output "$(pattern_sha1 $n)  -"
	run --separate-stderr bash -c "$(declare -f h2_curl); H=$H TPORT=$TPORT DYNO_TEST_DIR=$DYNO_TEST_DIR h2_curl --http2 $(h2_url /chunked/3000000) | sha1sum"
	assert_output "$(pattern_sha1 3000000)  -"
	head -c "$n" /dev/urandom >"$DYNO_TEST_DIR/up"
	sum=$(sha1sum <"$DYNO_TEST_DIR/up" | cut -d' ' -f1)
	run --separate-stderr h2_curl --http2 --data-binary "@$DYNO_TEST_DIR/up" "$(h2_url /up)"
	assert_output "len=$n sha1=$sum"
	# No content-length: the router sends the dyno a chunked body.
	run --separate-stderr h2_curl --http2 -T - "$(h2_url /up2)" <"$DYNO_TEST_DIR/up"
	assert_output "len=$n sha1=$sum"
	wait_for 10 route_log_has "path=\"/$n\" .* status=200 bytes=$n protocol=http2"
}

@test "a stream reset mid-download: H27 for it, the others finish" {
	h2_start bulk
	run --separate-stderr h2_raw reset
	assert_success
	assert_line 'reset 1'
	assert_line 'ok 3 3000000'
	assert_line 'ok 5 3000000'
	wait_for 10 route_log_has 'code=H27 .* path="/20000000" .* status=499 .* protocol=http2'
	wait_for 10 route_log_has 'at=info .* path="/3000000" .* status=200 bytes=3000000 protocol=http2'
}

@test "a stream its client stops reading waits alone" {
	h2_start bulk
	run --separate-stderr h2_raw stall
	assert_success
	assert_line 'ok 3 2000000'
	assert_line 'ok 5 2000000'
	assert_line 'ok 7 2000000'
	assert_line 'stalled 1 at 65535'
}

@test "H12 on the stream whose dyno times out, 200 on the others" {
	printf '[router]\nresponse_timeout = 1s\n' | conf_put
	h2_start bulk
	run --separate-stderr nghttp -v "${AUTH[@]}" "$(h2_ip_url /hang)" "$(h2_ip_url /10)"
	assert_success
	assert_output --partial ':status: 503'
	assert_output --partial ':status: 200'
	wait_for 10 route_log_has 'code=H12 desc="Request timeout" method=GET path="/hang" .* status=503 .* protocol=http2$'
	wait_for 10 route_log_has 'at=info method=GET path="/10" .* status=200 bytes=10 protocol=http2$'
}

@test "no dynos (H14) and an unknown host (404) per stream" {
	h2_start ok
	route_app other other.example
	run --separate-stderr h2_curl --http2 -o /dev/null -w '%{http_code}' \
		-H 'Host: nowhere.example' "$(h2_url /x)"
	assert_output 404
	run --separate-stderr h2_curl --http2 -o /dev/null -w '%{http_code}' \
		-H 'Host: other.example' "$(h2_url /y)"
	assert_output 503
	wait_for 10 route_log_has 'code=H14 .* path="/y" .* protocol=http2$'
}

# Malformed input: what the router answers.  One line per attack.
@test "bad preface: GOAWAY PROTOCOL_ERROR" { h2_start bulk; run h2_raw preface; assert_line 'goaway code=1'; }
@test "HEADERS on stream 0: GOAWAY PROTOCOL_ERROR" { h2_start bulk; run h2_raw headers0; assert_line 'goaway code=1'; }
@test "DATA on an idle stream: GOAWAY PROTOCOL_ERROR" { h2_start bulk; run h2_raw dataidle; assert_line 'goaway code=1'; }
@test "window over 2^31-1: GOAWAY FLOW_CONTROL_ERROR" { h2_start bulk; run h2_raw window; assert_line 'goaway code=3'; }
@test "header list over 64 KiB: that stream reset, the next answered" { h2_start bulk; run h2_raw bighdr; assert_line --regexp '^rst 1 code='; assert_line 'end 3'; }
@test "stream 101 of 100: refused" { h2_start hang; run h2_raw toomany; assert_line --regexp '^(rst 203 code=(1|7)|goaway 0 code=1)$'; }

@test "Expect: 100-continue: an interim 100, then the answer" {
	h2_start bulk
	head -c 100000 /dev/urandom >"$DYNO_TEST_DIR/up"
	sum=$(sha1sum <"$DYNO_TEST_DIR/up" | cut -d' ' -f1)
	run --separate-stderr h2_curl --http2 -v -H 'Expect: 100-continue' \
		--data-binary "@$DYNO_TEST_DIR/up" "$(h2_url /up)"
	assert_output "len=100000 sha1=$sum"
	[[ $stderr == *"< HTTP/2 100"* ]]
}
