#!/usr/bin/env bats
# syslog+tls:// drains: certificate checks, frames over TLS, L14.
bats_require_minimum_version 1.5.0
load helper/common
load helper/logplexd

TOKEN=d.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162

setup() {
	dyno_setup
	lp_app myapp
	make_cert server
	tls_start server
}

# tls_start CERT: the TLS receiver with CERT.pem; sets TLS_PORT.
tls_start() {
	rm -rf "$DYNO_TEST_DIR/tls"
	mkdir -p "$DYNO_TEST_DIR/tls"
	python3 "$TOP/t/data/logplexd/tls-receiver.py" "$DYNO_TEST_DIR/tls" \
		"$DYNO_TEST_DIR/$1.pem" "$DYNO_TEST_DIR/$1.key" 3>&- &
	lp_track $!
	wait_for 20 test -e "$DYNO_TEST_DIR/tls/port"
	TLS_PORT=$(cat "$DYNO_TEST_DIR/tls/port")
}
teardown() { lp_cleanup; dyno_teardown; }

tls_received() {
	grep -qF -- "$1" "$DYNO_TEST_DIR/tls/received" 2>/dev/null
}

@test "a trusted certificate: octet-counted RFC 5424 frames over TLS" {
	lp_conf "drain_ca_file = $DYNO_TEST_DIR/server.pem"
	# by address: the certificate names 127.0.0.1 too, and a bare machine
	# may have no /etc/hosts to say what localhost is
	printf '%s syslog+tls://127.0.0.1:%s\n' "$TOKEN" "$TLS_PORT" \
		>"$DYNO_ROOT/apps/myapp/drains"
	lp_start
	printf 'over tls\n' | logplex-send myapp app web.1
	wait_for 20 tls_received 'over tls'
	run cat "$DYNO_TEST_DIR/tls/received"
	assert_output --regexp "^102 <190>1 [0-9-]{10}T[0-9:]{8}\.[0-9]{6}\+00:00 $TOKEN app web\.1 - - over tls$"
}

@test "an untrusted certificate: L14 in the app's log, nothing sent" {
	make_cert other
	lp_conf "drain_ca_file = $DYNO_TEST_DIR/other.pem"
	printf '%s syslog+tls://127.0.0.1:%s/\n' "$TOKEN" "$TLS_PORT" \
		>"$DYNO_ROOT/apps/myapp/drains"
	lp_start
	printf 'keep me secret\n' | logplex-send myapp app web.1
	wait_for 30 lp_log_has myapp 'Error L14'
	run dyno-logs myapp -s heroku
	# one L14 per attempt: a slow run may have retried already
	assert_line --index 0 --regexp "^[^ ]+ heroku\[logplex\]: Error L14 \(certificate validation\): error=\"bad certificate\" uri=\"syslog\+tls://127\.0\.0\.1:$TLS_PORT/\"$"
	lp_err_has "myapp: drain $TOKEN: Error L14"
	! tls_received 'keep me secret'
}

@test "a trusted certificate for another name is refused too" {
	make_cert wrongname DNS:logs.example.invalid
	tls_start wrongname
	lp_conf "drain_ca_file = $DYNO_TEST_DIR/wrongname.pem"
	printf '%s syslog+tls://127.0.0.1:%s\n' "$TOKEN" "$TLS_PORT" \
		>"$DYNO_ROOT/apps/myapp/drains"
	lp_start
	printf 'not for you\n' | logplex-send myapp app web.1
	wait_for 30 lp_log_has myapp 'Error L14'
	! tls_received 'not for you'
}
