#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Slugs across hosts: the content-addressed store (DYNO_ROOT/slugs),
# dyno-slugd serving it read-only, release fetch URL SHA256 verifying
# before it stores (R17), release create --slug sha256:HEX.  Two hosts are
# two DYNO_ROOTs.  One line per hostile request where it fits.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
	require_cmd curl python3
	mkdir -p "$DYNO_TEST_DIR/app" "$DYNO_TEST_DIR/h2"
	printf 'web: ./server\n' >"$DYNO_TEST_DIR/app/Procfile"
	tar czf "$DYNO_TEST_DIR/app.tgz" -C "$DYNO_TEST_DIR/app" .
	SHA=$(sha256sum "$DYNO_TEST_DIR/app.tgz" | cut -c1-64)
	H2="$DYNO_TEST_DIR/h2"
}

teardown() {
	[ -n "${SLUGD:-}" ] && kill "$SLUGD" 2>/dev/null && wait "$SLUGD" 2>/dev/null
	dyno_teardown
}

# slugd_start: dyno-slugd on DYNO_ROOT (host 1), waited on; $PORT, $URL.
slugd_start() {
	local fifo="$DYNO_TEST_DIR/ready"
	PORT=$(free_port)
	mkfifo "$fifo"
	dyno-slugd -l "127.0.0.1:$PORT" --ready-fd 4 4>"$fifo" 3>&- \
		2>>"$DYNO_TEST_DIR/slugd.err" &
	SLUGD=$!
	read -r -t 30 _ <"$fifo"
	URL="http://127.0.0.1:$PORT/slugs"
}

# status PATH [CURL ARGS]: the HTTP status dyno-slugd answers for PATH.
status() {
	curl -s -o /dev/null -w '%{http_code}' --path-as-is "${@:2}" \
		"http://127.0.0.1:$PORT$1"
}

# raw REQUEST: the status line for bytes sent as they are.
raw() {
	printf "$1" | nc -q 2 127.0.0.1 "$PORT" | head -1 | tr -d '\r'
}

@test "a release's slug goes from one host to another by its sha256" {
	slugd_start
	# The store exists (dyno-slugd made it): create keeps the archive.
	run -0 --separate-stderr release create myapp --slug "$DYNO_TEST_DIR/app.tgz"
	[ -f "$DYNO_ROOT/slugs/sha256-$SHA.tgz" ]
	run -0 --separate-stderr env DYNO_ROOT="$H2" release fetch "$URL/sha256-$SHA.tgz" "$SHA"
	assert_output "$H2/slugs/sha256-$SHA.tgz"
	cmp "$DYNO_TEST_DIR/app.tgz" "$H2/slugs/sha256-$SHA.tgz"
	run -0 --separate-stderr env DYNO_ROOT="$H2" release create myapp --slug "sha256:$SHA"
	assert_output v1
	run -0 --separate-stderr env DYNO_ROOT="$H2" release show myapp v1
	assert_output --partial "$SHA"
	cmp "$DYNO_TEST_DIR/app/Procfile" "$H2/apps/myapp/releases/v1/slug/Procfile"
	# HEAD says the size and sends no body.
	run curl -sI "$URL/sha256-$SHA.tgz"
	assert_output --partial "Content-Length: $(stat -c %s "$DYNO_TEST_DIR/app.tgz")"
	# Not in the store: said, nothing made.
	run --separate-stderr env DYNO_ROOT="$H2" release create other --slug "sha256:$(printf %064d 0)"
	assert_failure 66
	[ ! -e "$H2/apps/other" ]
}

@test "one host alone keeps no second copy; a folder slug is never stored" {
	run -0 --separate-stderr release create myapp --slug "$DYNO_TEST_DIR/app.tgz"
	[ ! -e "$DYNO_ROOT/slugs" ]
	mkdir "$DYNO_ROOT/slugs"
	run -0 --separate-stderr release create myapp --slug "$DYNO_TEST_DIR/app"
	assert_equal "$(ls -A "$DYNO_ROOT/slugs")" ""
}

@test "fetch: a corrupted or wrong slug is refused with R17 and never stored" {
	slugd_start
	run -0 --separate-stderr release create myapp --slug "$DYNO_TEST_DIR/app.tgz"
	# Flip one byte of the served file: its name no longer tells the truth.
	printf 'X' | dd of="$DYNO_ROOT/slugs/sha256-$SHA.tgz" bs=1 seek=20 conv=notrunc 2>/dev/null
	run --separate-stderr env DYNO_ROOT="$H2" release fetch "$URL/sha256-$SHA.tgz" "$SHA"
	assert_failure 65
	assert_output ''
	assert_equal "$stderr" "$(printf 'release: %s: Error R17 (Checksum error) -> Checksum does not match expected value. Expected: SHA256:%s Actual: SHA256:%s' \
		"$URL/sha256-$SHA.tgz" "$SHA" "$(sha256sum "$DYNO_ROOT/slugs/sha256-$SHA.tgz" | cut -c1-64)")"
	assert_equal "$(ls -A "$H2/slugs")" ""
	# A store file damaged on disk is caught again at create (R17).
	cp "$DYNO_ROOT/slugs/sha256-$SHA.tgz" "$DYNO_TEST_DIR/bad.tgz"
	run --separate-stderr release create other --slug "sha256:$SHA"
	assert_failure 65
	assert_output --partial ''
	[[ $stderr == *"Error R17 (Checksum error)"* ]]
	# Bad operands.
	run --separate-stderr release fetch "$URL/x" "${SHA^^}"
	assert_failure 64
	run --separate-stderr release fetch "$URL/x" "${SHA%?}"
	assert_failure 64
}

@test "fetch: a slug over slug_max is refused and never stored" {
	head -c 300000 /dev/urandom >"$DYNO_TEST_DIR/big.tgz"
	big=$(sha256sum "$DYNO_TEST_DIR/big.tgz" | cut -c1-64)
	printf '[release]\nslug_max = 100K\n' | conf_put
	run --separate-stderr release fetch "file://$DYNO_TEST_DIR/big.tgz" "$big"
	assert_failure 65
	[[ $stderr == *"slug over the 102400-byte limit"* ]]
	assert_equal "$(ls -A "$DYNO_ROOT/slugs")" ""
}

@test "dyno-slugd: GET and HEAD of store names only; hostile requests refused, one per line" {
	slugd_start
	run -0 --separate-stderr release create myapp --slug "$DYNO_TEST_DIR/app.tgz"
	echo secret >"$DYNO_ROOT/secret"
	ln -s ../secret "$DYNO_ROOT/slugs/sha256-$(printf %064d 1).tgz"
	mkdir "$DYNO_ROOT/slugs/sha256-$(printf %064d 2).tgz"
	assert_equal "$(status "/slugs/sha256-$SHA.tgz")" 200
	assert_equal "$(status "/slugs/sha256-$SHA.tgz" -I)" 200
	assert_equal "$(status "/slugs/sha256-$SHA.tgz" -X POST)" 405
	assert_equal "$(status "/slugs/sha256-$SHA.tgz" -X PUT -d x)" 405
	assert_equal "$(status "/slugs/sha256-$SHA.tgz" -X DELETE)" 405
	assert_equal "$(status "/slugs/../secret")" 404
	assert_equal "$(status "/slugs/../../../../etc/passwd")" 404
	assert_equal "$(status "/slugs/%2e%2e/secret")" 404
	assert_equal "$(status "/slugs//sha256-$SHA.tgz")" 404
	assert_equal "$(status "/slugs/sha256-${SHA^^}.tgz")" 404
	assert_equal "$(status "/slugs/sha256-$SHA.tgz/")" 404
	assert_equal "$(status "/slugs/sha256-$SHA.tgz?x=1")" 404
	assert_equal "$(status "/secret")" 404
	assert_equal "$(status "/slugs/sha256-$(printf %064d 1).tgz")" 404
	assert_equal "$(status "/slugs/sha256-$(printf %064d 2).tgz")" 404
	assert_equal "$(status "/slugs/sha256-$(printf %064d 3).tgz")" 404
	assert_equal "$(status "/slugs/$(printf 'a%.0s' $(seq 1 5000))")" 404
	assert_equal "$(raw 'GET /slugs/sha256-\0.tgz HTTP/1.1\r\n\r\n')" 'HTTP/1.1 400 Bad Request'
	assert_equal "$(raw 'GET /slugs/x\r\n\r\n')" 'HTTP/1.1 400 Bad Request'
	assert_equal "$(raw "GET /$(head -c 9000 /dev/zero | tr '\0' a) HTTP/1.1\r\n\r\n")" \
		'HTTP/1.1 431 Request Header Fields Too Large'
	# Still serving after all that.
	assert_equal "$(status "/slugs/sha256-$SHA.tgz")" 200
}

@test "dyno-slugd: a flood past the bound gets 503, then service again" {
	slugd_start
	run -0 --separate-stderr release create myapp --slug "$DYNO_TEST_DIR/app.tgz"
	python3 - "$PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(70)]
time.sleep(0.3)
s = socks[-1]
s.settimeout(5)
assert s.recv(100).startswith(b"HTTP/1.1 503"), "no 503 past the bound"
for s in socks:
    s.close()
PY
	assert_equal "$(status "/slugs/sha256-$SHA.tgz")" 200
}
