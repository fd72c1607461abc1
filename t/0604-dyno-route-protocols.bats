#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-route: random balancing, WebSocket tunnels, TLS with SNI.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-route

setup() { dyno_setup; }
teardown() { route_cleanup; dyno_teardown; }

@test "3000 requests over 3 dynos land about a third each" {
	route_app myapp
	route_backend ok web.1
	p1=$BACKEND_PORT
	route_backend ok web.2
	p2=$BACKEND_PORT
	route_backend ok web.3
	p3=$BACKEND_PORT
	route_routes myapp "web.1 $p1" "web.2 $p2" "web.3 $p3"
	route_start
	run --separate-stderr python3 - "$ROUTER_PORT" <<'PY'
import collections, http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
n = collections.Counter()
for _ in range(3000):
    c.request("GET", "/", headers={"Host": "myapp.localhost"})
    r = c.getresponse()
    n[r.read().split(b"\n")[0].decode()] += 1
for k in sorted(n):
    print(k, n[k])
PY
	assert_success
	echo "$output"
	# One third is 1000 with a standard deviation of about 26: 5 sigma.
	for d in web.1 web.2 web.3; do
		count=$(awk -v d="dyno=$d" '$1 == d { print $2 }' <<<"$output")
		[ "$count" -ge 870 ] && [ "$count" -le 1130 ]
	done
}

@test "a WebSocket echo through the router" {
	route_backend ws web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr python3 - "$ROUTER_PORT" <<'PY'
import base64, os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /chat HTTP/1.1\r\nHost: myapp.localhost\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n" % key).encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
print(head.decode().split("\r\n")[0])
for msg in (b"hello", b"router " * 40):
    mask = os.urandom(4)
    ln = bytes([0x80 | len(msg)]) if len(msg) < 126 else b"\xfe" + len(msg).to_bytes(2, "big")
    s.sendall(b"\x81" + ln + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
    hdr = s.recv(2)
    n = hdr[1]
    if n == 126:
        n = int.from_bytes(s.recv(2), "big")
    data = b""
    while len(data) < n:
        data += s.recv(n - len(data))
    print("echo", data.decode()[:20], len(data))
PY
	assert_success
	assert_line "HTTP/1.1 101 Switching Protocols"
	assert_line "echo hello 5"
	assert_line "echo router router router 280"
	wait_for 10 route_log_has 'at=info method=GET path="/chat" .* status=101'
}

# sha1 of N bytes of the bulk dyno's pattern.
pattern_sha1() {
	python3 -c 'import hashlib, sys
n = int(sys.argv[1]); b = bytes(range(251)) * (n // 251 + 1)
print(hashlib.sha1(b[:n]).hexdigest())' "$1"
}

@test "long bodies both ways keep every byte (splice), kept alive" {
	route_backend bulk web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	head -c 5000000 /dev/urandom >"$DYNO_TEST_DIR/up"
	want=$(sha1sum <"$DYNO_TEST_DIR/up" | cut -d' ' -f1)
	run route_curl myapp.localhost /upload --data-binary "@$DYNO_TEST_DIR/up" \
		-H 'Content-Type: application/octet-stream'
	assert_output "len=5000000 sha1=$want"
	# Two long downloads and a short one on one kept-alive connection.
	curl -sS --max-time 30 -H 'Host: myapp.localhost' \
		"http://127.0.0.1:$ROUTER_PORT/20000000" \
		"http://127.0.0.1:$ROUTER_PORT/3000001" \
		"http://127.0.0.1:$ROUTER_PORT/100" -o "$DYNO_TEST_DIR/d1" \
		-o "$DYNO_TEST_DIR/d2" -o "$DYNO_TEST_DIR/d3" \
		-w '%{num_connects}\n' >"$DYNO_TEST_DIR/connects"
	run sha1sum "$DYNO_TEST_DIR/d1" "$DYNO_TEST_DIR/d2" "$DYNO_TEST_DIR/d3"
	assert_line "$(pattern_sha1 20000000)  $DYNO_TEST_DIR/d1"
	assert_line "$(pattern_sha1 3000001)  $DYNO_TEST_DIR/d2"
	assert_line "$(pattern_sha1 100)  $DYNO_TEST_DIR/d3"
	run paste -sd' ' "$DYNO_TEST_DIR/connects"
	assert_output "1 0 0"
	wait_for 10 route_log_has 'path="/20000000" .* status=200 bytes=20000000 '
	wait_for 10 route_log_has 'path="/3000001" .* status=200 bytes=3000001 '
	# The long ones went by splice(2): 28 MB, less the first buffers.
	kill -USR1 "$ROUTER_PID"
	wait_for 10 grep -q 'bytes spliced' "$ROUTER_LOG"
	spliced=$(grep -o '[0-9]* bytes spliced' "$ROUTER_LOG" | tail -1 | cut -d' ' -f1)
	[ "$spliced" -gt 27000000 ]
}

@test "a client that stops reading costs a socket, not the worker's CPU" {
	route_backend bulk web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	python3 - "$ROUTER_PORT" 3 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(b"GET /200000000 HTTP/1.1\r\nHost: myapp.localhost\r\n\r\n")
time.sleep(float(sys.argv[2]))
PY
	client=$!
	sleep 1
	t0=$(awk '{ print $14 + $15 }' "/proc/$ROUTER_PID/stat")
	sleep 1
	t1=$(awk '{ print $14 + $15 }' "/proc/$ROUTER_PID/stat")
	wait "$client"
	# A worker spinning on a full buffer burns the whole second (100
	# ticks); a waiting one, next to nothing.
	[ $((t1 - t0)) -lt 30 ]
	run route_curl myapp.localhost /1000 -o /dev/null -w '%{http_code}'
	assert_output 200
}

@test "TLS: SNI picks the certificate, X-Forwarded-Proto is https" {
	require_cmd openssl
	local d=$DYNO_TEST_DIR
	for h in a.example b.example; do
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$h" \
			-addext "subjectAltName=DNS:$h" -keyout "$d/$h.key" \
			-out "$d/$h.crt" 2>/dev/null
	done
	route_backend ok web.1
	route_app myapp "a.example b.example"
	route_routes myapp "web.1 $BACKEND_PORT"
	tport=$(free_port)
	route_start --tls-listen "127.0.0.1:$tport" \
		--tls-cert "$d/a.example.crt" --tls-key "$d/a.example.key" \
		--tls-cert "$d/b.example.crt" --tls-key "$d/b.example.key"
	for h in a.example b.example; do
		run --separate-stderr curl -sS -v --http1.1 --cacert "$d/$h.crt" \
			--resolve "$h:$tport:127.0.0.1" "https://$h:$tport/secure"
		assert_success
		assert_line "X-Forwarded-Proto: https"
		assert_line "X-Forwarded-Port: $tport"
		assert_line "GET /secure HTTP/1.1"
		[[ $stderr == *"subject: CN=$h"* ]]
	done
	wait_for 10 route_log_has 'path="/secure" .* status=200 .* protocol=https'
}
