# SPDX-License-Identifier: ISC
# Shared by t/131x-*acm*.bats: Debian's pebble (a test ACME server) with its
# own CA, a mock DNS answering 127.0.0.1 for every name, a router on a fixed
# port, and dyno-certs --acm-run trusting the test CA.
# shellcheck shell=bash

# acme_require: skip unless pebble, uacme and a private mount are there.
acme_require() {
	require_root
	require_cmd pebble pebble-challtestsrv uacme openssl unshare
}

# acme_bg NAME CMD...: a background daemon of this test, logged to NAME.log.
acme_bg() {
	local name=$1
	shift
	"$@" 3>&- >>"$ACME/$name.log" 2>&1 &
	echo "$!" >>"$DYNO_TEST_DIR/pids"
}

# acme_ca: a CA, pebble's HTTPS certificate for 127.0.0.1, the CA bundle
# uacme is given (the system's and ours).
acme_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$ACME/ca.key" -out "$ACME/ca.pem" -days 2 \
		-subj /CN=dynotest-acme-ca 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$ACME/pebble.key" -out "$ACME/pebble.csr" \
		-subj /CN=localhost 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$ACME/san.ext"
	openssl x509 -req -in "$ACME/pebble.csr" -CA "$ACME/ca.pem" \
		-CAkey "$ACME/ca.key" -CAcreateserial -days 2 \
		-extfile "$ACME/san.ext" -out "$ACME/pebble.pem" 2>/dev/null
	cat /etc/ssl/certs/ca-certificates.crt "$ACME/ca.pem" >"$ACME/bundle.pem"
	# The router's default certificate (SNI picks the issued ones).
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$ACME/default.key" -out "$ACME/default.pem" -days 2 \
		-subj /CN=default.invalid 2>/dev/null
}

# acme_router_start: dyno-route on ROUTER_PORT (HTTP, fixed for the test:
# pebble validates there) and TLS_PORT, waiting for readiness.
acme_router_start() {
	local fifo="$DYNO_TEST_DIR/ready.$RANDOM" line
	mkfifo "$fifo"
	dyno-route --workers 1 --listen "127.0.0.1:$ROUTER_PORT" \
		--tls-listen "127.0.0.1:$TLS_PORT" -c "$ACME/default.pem" \
		-k "$ACME/default.key" --ready-fd 4 4>"$fifo" 3>&- \
		2>>"$DYNO_TEST_DIR/route.log" &
	ROUTER_PID=$!
	echo "$ROUTER_PID" >>"$DYNO_TEST_DIR/pids"
	read -r -t 20 line <"$fifo" || {
		cat "$DYNO_TEST_DIR/route.log" >&2
		return 1
	}
	: "$line"
	rm -f "$fifo"
}

acme_router_stop() {
	kill "$ROUTER_PID"
	wait "$ROUTER_PID" 2>/dev/null || true
}

# acme_setup: everything above, dyno.conf's [acm] pointing at pebble,
# retries after 1 s, Failed at the second failure.
acme_setup() {
	ACME="$DYNO_TEST_DIR/acme"
	mkdir -p "$ACME"
	acme_ca
	ROUTER_PORT=$(free_port)
	TLS_PORT=$(free_port)
	ACME_PORT=$(free_port)
	local mgmt dns cts tls
	mgmt=$(free_port)
	dns=$(free_port)
	cts=$(free_port)
	tls=$(free_port)
	cat >"$ACME/pebble.json" <<-JSON
	{"pebble": {"listenAddress": "127.0.0.1:$ACME_PORT",
	 "managementListenAddress": "127.0.0.1:$mgmt",
	 "certificate": "$ACME/pebble.pem", "privateKey": "$ACME/pebble.key",
	 "httpPort": $ROUTER_PORT, "tlsPort": $tls,
	 "ocspResponderURL": "", "externalAccountBindingRequired": false}}
	JSON
	acme_bg challtestsrv pebble-challtestsrv -defaultIPv4 127.0.0.1 \
		-defaultIPv6 "" -dns01 "127.0.0.1:$dns" -http01 "" -https01 "" \
		-tlsalpn01 "" -management "127.0.0.1:$cts"
	PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
		acme_bg pebble pebble -config "$ACME/pebble.json" \
		-dnsserver "127.0.0.1:$dns"
	wait_for 30 curl -sf --cacert "$ACME/ca.pem" \
		"https://127.0.0.1:$ACME_PORT/dir"
	conf_put <<-CONF
	[acm]
	directory = https://127.0.0.1:$ACME_PORT/dir
	contact = admin@example.test
	retry = 1s
	attempts = 2
	timeout = 60s
	CONF
	acme_router_start
}

# acm_run [ARGS]: dyno-certs --acm-run in a private mount namespace whose
# system CA bundle also trusts the test CA (uacme has no CA option).
# shellcheck disable=SC2016 # expanded by the inner sh
acm_run() {
	unshare -m sh -c 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt &&
		exec dyno-certs --acm-run "$@"' "$ACME/bundle.pem" "$@"
}

# acm_status APP DOMAIN: the domain's status word in `dyno-certs APP auto`.
acm_status() {
	dyno-certs "$1" auto | awk -v d="$2" '$1 == d { print $2 ($3 == "Progress" ? " Progress" : "") }'
}

# served_cert HOST: subject and issuer the router's TLS port serves for HOST.
served_cert() {
	openssl s_client -connect "127.0.0.1:$TLS_PORT" -servername "$1" \
		</dev/null 2>/dev/null | openssl x509 -noout -subject -issuer \
		-ext subjectAltName -serial
}

# cert_serial: the serial of myapp's acm-app1.example.test in the store.
cert_serial() {
	openssl x509 -noout -serial \
		-in "$DYNO_ROOT/apps/myapp/certs/acm-app1.example.test/chain.pem"
}

acme_cleanup() {
	local p
	[ -f "$DYNO_TEST_DIR/pids" ] || return 0
	while read -r p; do
		kill "$p" 2>/dev/null
	done <"$DYNO_TEST_DIR/pids"
	while read -r p; do
		wait "$p" 2>/dev/null
	done <"$DYNO_TEST_DIR/pids"
	return 0
}
