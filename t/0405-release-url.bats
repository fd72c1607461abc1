#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# release create --slug URL: http, https (private CA), file, failures.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
	require_cmd python3 openssl
	APP="$DYNO_TEST_DIR/app"
	WWW="$DYNO_TEST_DIR/www"
	mkdir -p "$APP" "$WWW"
	printf 'web: ./server\n' >"$APP/Procfile"
	tar czf "$WWW/app.tgz" -C "$APP" .
	A="$DYNO_ROOT/apps/dynotest-u"
}

teardown() {
	[ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
	dyno_teardown
}

# serve [tls]: a static server on 127.0.0.1; its port lands in $PORT.
serve() {
	python3 - "$WWW" "$DYNO_TEST_DIR/port" "${1:-}" "$DYNO_TEST_DIR" <<'EOF' 3>&- &
import functools, http.server, os, ssl, sys
www, portfile, tls, d = sys.argv[1:5]
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=www)
h.log_message = lambda *a: None
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
if tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d + "/cert.pem", d + "/key.pem")
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
tmp = portfile + ".tmp"
open(tmp, "w").write(str(s.server_address[1]))
os.rename(tmp, portfile)
s.serve_forever()
EOF
	SERVER=$!
	wait_for 20 test -s "$DYNO_TEST_DIR/port"
	PORT=$(cat "$DYNO_TEST_DIR/port")
}

@test "create from an http URL" {
	serve
	run --separate-stderr release create dynotest-u --slug "http://127.0.0.1:$PORT/app.tgz"
	assert_success
	assert_output v1
	sha=$(sha256sum "$WWW/app.tgz" | cut -d' ' -f1)
	grep -qx "slug_sha256=$sha" "$A/releases/v1/release"
	[ -f "$A/releases/v1/slug/Procfile" ]
	run bash -c "ls -A '$A/releases'"
	assert_output v1
}

@test "create from an https URL with a private CA" {
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	    -addext subjectAltName=IP:127.0.0.1 -keyout "$DYNO_TEST_DIR/key.pem" \
	    -out "$DYNO_TEST_DIR/cert.pem" 2>/dev/null
	serve tls
	# Not trusted: refused.
	run --separate-stderr release create dynotest-u --slug "https://127.0.0.1:$PORT/app.tgz"
	assert_failure 69
	CURL_CA_BUNDLE="$DYNO_TEST_DIR/cert.pem" run --separate-stderr \
	    release create dynotest-u --slug "https://127.0.0.1:$PORT/app.tgz"
	assert_success
	assert_output v1
}

@test "create from a file URL" {
	run --separate-stderr release create dynotest-u --slug "file://$WWW/app.tgz"
	assert_success
	assert_output v1
	run release create dynotest-u --slug "file://$WWW/nope.tgz"
	assert_failure 66
}

@test "URL failures: 404, refused connection, unknown scheme, over slug_max" {
	serve
	run --separate-stderr release create dynotest-u --slug "http://127.0.0.1:$PORT/nope.tgz"
	assert_failure 69
	[[ "$stderr" == *"404"* ]]
	run release create dynotest-u --slug "http://127.0.0.1:1/app.tgz"
	assert_failure 69
	run release create dynotest-u --slug "gopher://127.0.0.1/app.tgz"
	assert_failure 64
	head -c 300000 /dev/urandom >"$APP/blob"
	tar cf "$WWW/big.tar" -C "$APP" .
	printf '[release]\nslug_max = 100K\n' | conf_put
	run --separate-stderr release create dynotest-u --slug "http://127.0.0.1:$PORT/big.tar"
	assert_failure 65
	[[ "$stderr" == *"over the 102400-byte limit"* ]]
	[ ! -e "$A" ]
}
