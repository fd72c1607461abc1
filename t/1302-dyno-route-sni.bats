#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-route and the apps' domains and certificates: Host, SNI, reloads,
# TLS versions, ciphers, resumption across workers.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-route
load helper/certs

setup() {
	dyno_setup
	require_cmd openssl curl
	D=$DYNO_TEST_DIR
	certs_ca "$D"
	# The default certificate (-c/-k), for names no app has a certificate of.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-days 2 -subj /CN=default.test -addext subjectAltName=DNS:default.test \
		-keyout "$D/def.key" -out "$D/def.crt" 2>/dev/null
	TPORT=$(free_port)
}
teardown() { route_cleanup; dyno_teardown; }

# start_tls [ARGS]: the router with an HTTPS listener on TPORT.
start_tls() {
	route_start --tls-listen "127.0.0.1:$TPORT" --tls-cert "$D/def.crt" \
		--tls-key "$D/def.key" "$@"
}

# subject_of HOST [S_CLIENT ARGS]: the subject CN the router shows for HOST.
subject_of() {
	local h=$1
	shift
	openssl s_client -connect "127.0.0.1:$TPORT" -servername "$h" "$@" \
		</dev/null 2>/dev/null | sed -n 's/^subject=CN = //p'
}

# subject_is HOST CN: the router shows HOST a certificate for CN (for wait_for).
subject_is() {
	[ "$(subject_of "$1")" = "$2" ]
}

# status_is HOST CODE: a plain HTTP request for HOST gets CODE.
status_is() {
	[ "$(route_curl "$1" / -o /dev/null -w '%{http_code}')" = "$2" ]
}

# app_with APP DOMAIN DYNO: an app with a dyno, a domain and a certificate
# (named like the app) for it.
app_with() {
	route_app "$1"
	route_backend ok "$3"
	route_routes "$1" "$3 $BACKEND_PORT"
	dyno-domains "$1" add "$2"
	certs_leaf "$D" "$1" -1 30 "$2"
	dyno-certs "$1" add "$D/$1.chain" "$D/$1.key" >/dev/null
}

@test "SNI picks each of three apps' certificates; Host finds the app" {
	app_with app-a www.a.test web.1
	app_with app-b www.b.test web.2
	app_with app-c '*.c.test' web.3
	start_tls
	for x in "www.a.test web.1" "www.b.test web.2" "x.c.test web.3"; do
		h=${x% *}
		run --separate-stderr curl -sS -v --max-time 20 --cacert "$D/ca.pem" \
			--resolve "$h:$TPORT:127.0.0.1" "https://$h:$TPORT/sni"
		assert_success
		assert_line "dyno=${x#* }"
		[[ $stderr == *"subject: CN="${h/x.c/\*.c}* ]]
	done
	# Plain HTTP: the domains are Host names of their apps.
	run route_curl www.b.test /
	assert_line dyno=web.2
	run route_curl y.c.test /
	assert_line dyno=web.3
	run route_curl a.b.c.test / -o /dev/null -w '%{http_code}'
	assert_output 404
	# Not the app's name: the default certificate.
	run subject_of nothing.test
	assert_output default.test
}

@test "one app's certificate never serves another app's domain" {
	app_with app-a www.a.test web.1
	# app-a's certificate covers *.a.test, but shop.a.test is app-b's.
	certs_leaf "$D" wild -1 30 'www.a.test' '*.a.test'
	dyno-certs app-a add "$D/wild.chain" "$D/wild.key" --name wild >/dev/null
	route_app app-b
	dyno-domains app-b add shop.a.test
	start_tls
	run subject_of shop.a.test
	assert_output default.test
	# A name in two apps' files (edited by hand) is served by neither.
	echo www.a.test >>"$DYNO_ROOT/apps/app-b/domains"
	wait_for 10 subject_is www.a.test default.test
}

@test "adding and removing a domain and a certificate reach every worker" {
	route_app app-a
	route_backend ok web.1
	route_routes app-a "web.1 $BACKEND_PORT"
	start_tls --workers 2
	run route_curl www.a.test / -o /dev/null -w '%{http_code}'
	assert_output 404
	dyno-domains app-a add www.a.test
	wait_for 10 route_curl www.a.test / -f -o /dev/null
	certs_leaf "$D" a -1 30 www.a.test
	dyno-certs app-a add "$D/a.chain" "$D/a.key" >/dev/null
	wait_for 10 subject_is www.a.test www.a.test
	# SO_REUSEPORT spreads connections: 12 handshakes reach both workers.
	for _ in $(seq 12); do
		[ "$(subject_of www.a.test)" = www.a.test ]
	done
	dyno-certs app-a remove www.a.test
	wait_for 10 subject_is www.a.test default.test
	dyno-domains app-a remove www.a.test
	wait_for 10 status_is www.a.test 404
}

@test "a certificate replaced while a client holds a kept-alive connection" {
	app_with app-a www.a.test web.1
	certs_leaf "$D" new -1 30 www.a.test
	start_tls --workers 2
	run --separate-stderr python3 - "$TPORT" "$D/ca.pem" www.a.test \
		dyno-certs app-a add "$D/new.chain" "$D/new.key" --name app-a <<'PY'
import hashlib, http.client, socket, ssl, subprocess, sys, time
port, ca, host, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
ctx = ssl.create_default_context(cafile=ca)
def connect():
    c = http.client.HTTPConnection(host, port, timeout=20)
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    c.sock = ctx.wrap_socket(s, server_hostname=host)
    return c
def fp(c):
    return hashlib.sha256(c.sock.getpeercert(True)).hexdigest()[:16]
def get(c):
    c.request("GET", "/", headers={"Host": host})
    r = c.getresponse()
    r.read()
    return r.status
old = connect()
print("first", get(old))
fp1 = fp(old)
subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
deadline = time.time() + 10
while True:
    c = connect()
    fp2 = fp(c)
    c.close()
    if fp2 != fp1 or time.time() > deadline:
        break
    time.sleep(0.05)
print("new handshake", "new certificate" if fp2 != fp1 else "old certificate")
for i in range(3):
    print("kept-alive", get(old), "same certificate" if fp(old) == fp1 else "changed")
PY
	assert_success
	assert_line "first 200"
	assert_line "new handshake new certificate"
	assert_line --index 2 "kept-alive 200 same certificate"
	assert_line --index 4 "kept-alive 200 same certificate"
}

@test "a certificate that expires gives way to the next one without a reload" {
	route_app app-a
	dyno-domains app-a add www.a.test
	certs_leaf "$D" wild -1 30 '*.a.test'
	certs_leaf "$D" short -1 6s www.a.test
	dyno-certs app-a add "$D/wild.chain" "$D/wild.key" >/dev/null
	dyno-certs app-a add "$D/short.chain" "$D/short.key" >/dev/null
	start_tls
	run subject_of www.a.test
	assert_output www.a.test
	wait_for 15 subject_is www.a.test '*.a.test'
}

@test "TLS 1.0 and 1.1 are refused; 1.2 and 1.3 are spoken" {
	app_with app-a www.a.test web.1
	start_tls
	for v in -tls1 -tls1_1; do
		run --separate-stderr openssl s_client -connect "127.0.0.1:$TPORT" \
			-servername www.a.test "$v" -cipher 'DEFAULT:@SECLEVEL=0' </dev/null
		assert_failure
		[[ $output$stderr == *"alert protocol version"* ]]
	done
	run subject_of www.a.test -tls1_2
	assert_output www.a.test
	run subject_of www.a.test -tls1_3
	assert_output www.a.test
}

@test "dyno.conf's tls_ciphers and tls_ciphersuites; a bad one stops the start" {
	app_with app-a www.a.test web.1
	printf '[router]\ntls_ciphersuites = TLS_CHACHA20_POLY1305_SHA256\ntls_ciphers = ECDHE-ECDSA-AES256-GCM-SHA384\n' | conf_put
	start_tls
	run openssl s_client -connect "127.0.0.1:$TPORT" -servername www.a.test </dev/null
	assert_line --partial "Cipher is TLS_CHACHA20_POLY1305_SHA256"
	run openssl s_client -connect "127.0.0.1:$TPORT" -servername www.a.test -tls1_2 </dev/null
	assert_line --partial "Cipher is ECDHE-ECDSA-AES256-GCM-SHA384"
	# Without the configured one, no cipher in common.
	run openssl s_client -connect "127.0.0.1:$TPORT" -servername www.a.test \
		-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 </dev/null
	assert_failure
	printf '[router]\ntls_ciphers = NOT-A-CIPHER\n' | conf_put
	run --separate-stderr dyno-route -n -c "$D/def.crt" -k "$D/def.key"
	assert_failure 78
	[[ $stderr == *tls_ciphers* ]]
}

@test "a session resumes on any of two workers (shared ticket keys)" {
	app_with app-a www.a.test web.1
	start_tls --workers 2
	for v in -tls1_2 -tls1_3; do
		# A request, read to the end: TLS 1.3 tickets come after the
		# handshake.
		printf 'GET / HTTP/1.1\r\nHost: www.a.test\r\nConnection: close\r\n\r\n' |
			openssl s_client -connect "127.0.0.1:$TPORT" -ign_eof \
			-servername www.a.test "$v" -sess_out "$D/sess$v" >/dev/null 2>&1
		# 16 tries: all on one worker by chance is 2^-15.
		for _ in $(seq 16); do
			run openssl s_client -connect "127.0.0.1:$TPORT" \
				-servername www.a.test "$v" -sess_in "$D/sess$v" </dev/null
			assert_line --regexp '^Reused, '
		done
	done
}

@test "a resumed TLS 1.3 session gets a fresh ticket (a client uses one once)" {
	app_with app-a www.a.test web.1
	start_tls
	# A request, read to the end: TLS 1.3 tickets come after it.
	printf 'GET / HTTP/1.1\r\nHost: www.a.test\r\nConnection: close\r\n\r\n' |
		openssl s_client -connect "127.0.0.1:$TPORT" -ign_eof \
		-servername www.a.test -tls1_3 -sess_out "$D/sess" >/dev/null 2>&1
	run --separate-stderr sh -c "printf 'GET / HTTP/1.1\r\nHost: www.a.test\r\nConnection: close\r\n\r\n' |
		openssl s_client -connect 127.0.0.1:$TPORT -ign_eof \
		-servername www.a.test -tls1_3 -sess_in $D/sess"
	assert_line --regexp '^Reused, TLSv1.3'
	# Without one, OpenSSL's client (wrk's) does a full handshake next.
	assert_line 'Post-Handshake New Session Ticket arrived:'
}

@test "two TLS records in one segment: both requests answered (read ahead)" {
	app_with app-a www.a.test web.1
	start_tls
	# The router reads whole segments ahead: a record it holds unread must
	# not wait for bytes the socket will never bring.
	run --separate-stderr timeout 20 python3 - "$TPORT" <<'PY'
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, out, server_hostname="www.a.test")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
def pump():
    if out.pending:
        s.sendall(out.read())
def fill():
    d = s.recv(65536)
    if not d:
        raise SystemExit("eof")
    inc.write(d)
while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        pump()
        fill()
pump()
req = b"GET / HTTP/1.1\r\nHost: www.a.test\r\n\r\n"
tls.write(req)
tls.write(req)    # a second record, sent with the first
s.sendall(out.read())
got = b""
while got.count(b"HTTP/1.1 200") < 2:
    try:
        got += tls.read(65536)
    except ssl.SSLWantReadError:
        fill()
print("answers", got.count(b"HTTP/1.1 200"))
PY
	assert_success
	assert_output "answers 2"
}
