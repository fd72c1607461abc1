#!/bin/bash
# SPDX-License-Identifier: ISC
# Benchmark: HTTPS through dyno-route and HAProxy with the same certificate
# (EC P-256) to the same two dynos (nginx answering "hello").  Each proxy
# runs one worker pinned to CPU 0; the clients, the dynos and the log sink
# share CPU 1.  Per proxy CPU-second: HTTP/1.1 requests over kept-alive TLS
# connections (wrk), new TLS handshakes (wrk, Connection: close: one
# handshake per request), and HTTP/2 requests (h2load, 10 streams on each
# of 20 connections); p99 of each, and the ratios.  The handshakes are
# TLS 1.3 resumptions with both proxies: wrk offers each new connection
# the ticket its last one got, as browsers do (50 full handshakes, the
# first of each connection, then none).  Full handshakes (no ticket, no
# session id) are counted apart, with openssl s_time -new.
set -eu

TOP="$(cd "$(dirname "$0")/../.." && pwd)"
DUR=${BENCH_SECONDS:-10}
# shellcheck source=t/helper/bench.bash
. "$(dirname "$0")/../helper/bench.bash"
bench_build
bench_need wrk wrk
bench_need h2load nghttp2-client
bench_need haproxy haproxy
bench_need nginx nginx-light
bench_need openssl openssl
bench_need taskset util-linux
bench_need python3 python3
bench_workdir

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-days 2 -subj "/CN=bench.localhost" \
	-addext "subjectAltName=DNS:bench.localhost" -keyout "$W/key.pem" \
	-out "$W/cert.pem" 2>/dev/null
cat "$W/cert.pem" "$W/key.pem" >"$W/haproxy.pem"

bench_dynos

start_dynoroute() {
	taskset -c 0 "$TOP/bin/dyno-route" -w 1 -L "127.0.0.1:$1" \
		-c "$W/cert.pem" -k "$W/key.pem" 2>"$W/dyno-route.err" &
	PROXY=("$!")
}

# conf_define NAME: a string #define of lib/conf.h (dyno.conf's default).
conf_define() {
	awk -v n="$1" '$1 == "#define" && $2 == n { on = 1 }
		on { l = $0
			while (match(l, /"[^"]*"/)) {
				s = s substr(l, RSTART + 1, RLENGTH - 2)
				l = substr(l, RSTART + RLENGTH)
			}
			if ($0 !~ /\\$/) { print s; exit } }' "$TOP/lib/conf.h"
}

# The same work on both sides: TLS 1.2 and 1.3 with dyno-route's default
# ciphers (lib/conf.h) in the server's order, so both pick
# TLS_AES_128_GCM_SHA256 (HAProxy's own default picks AES-256); X25519
# (both offer OpenSSL's default groups); two TLS 1.3 tickets per
# handshake (OpenSSL's default, neither changes it), and wrk resumes
# with them on every new connection of the handshake run on both.
start_haproxy() {
	bench_haproxy https "127.0.0.1:$1 ssl crt $W/haproxy.pem alpn h2,http/1.1" \
		"ssl-default-bind-options ssl-min-ver TLSv1.2
	ssl-default-bind-ciphers $(conf_define CONF_TLS_CIPHERS)
	ssl-default-bind-ciphersuites $(conf_define CONF_TLS_CIPHERSUITES)"
}

# h2_run PORT: "req/cpu-s p99" over HTTP/2 (p99 from h2load's log).
h2_run() {
	local p=$1 t0 t1 out reqs p99 pids
	read -r -a pids <<<"$(bench_proxy_pids)"
	t0=$(bench_ticks "${pids[@]}")
	out=$(taskset -c 1 h2load -c 20 -m 10 -D "$DUR" \
		-H ':authority: bench.localhost' --log-file="$W/h2.log" \
		"https://127.0.0.1:$p/" 2>&1)
	t1=$(bench_ticks "${pids[@]}")
	reqs=$(awk '/^requests:/ { print $8 }' <<<"$out")
	p99=$(awk -F'\t' '$2 == 200 { print $3 }' "$W/h2.log" | sort -n |
		awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1;
		    printf "%.2fms", v[i] / 1000 }')
	echo "$(bench_per_cpu "$reqs" $((t1 - t0))) $p99"
}

# full_run PORT: "handshakes/cpu-s -" of full handshakes (openssl s_time
# -new: a fresh session each time, never a ticket), two clients at once.
full_run() {
	local p=$1 t0 t1 n=0 c pids clients=()
	read -r -a pids <<<"$(bench_proxy_pids)"
	t0=$(bench_ticks "${pids[@]}")
	for c in 1 2; do
		taskset -c 1 openssl s_time -connect "127.0.0.1:$p" -new \
			-time "$DUR" >"$W/s_time.$c" 2>&1 &
		clients+=("$!")
	done
	wait "${clients[@]}"
	t1=$(bench_ticks "${pids[@]}")
	for c in 1 2; do
		n=$((n + $(awk '/connections in .* real seconds/ { print $1; exit }' \
			"$W/s_time.$c")))
	done
	echo "$(bench_per_cpu "$n" $((t1 - t0))) -"
}

# Both proxies run at once (one idles while the other is measured) and
# take turns, run by run: the machine's other load weighs on both alike.
declare -A RES PORT_OF PID_OF
for proxy in dynoroute haproxy; do
	P=$(bench_port)
	"start_$proxy" "$P"
	PIDS+=("${PROXY[0]}")
	PORT_OF[$proxy]=$P
	PID_OF[$proxy]=${PROXY[0]}
	bench_wait_port "$P"
	taskset -c 1 wrk -t1 -c50 -d2s -H 'Host: bench.localhost' \
		"https://127.0.0.1:$P/" >/dev/null
done
for k in keep hs full h2; do
	for proxy in dynoroute haproxy; do
		echo "== $proxy $k" >&2
		P=${PORT_OF[$proxy]}
		PROXY=("${PID_OF[$proxy]}")
		case $k in
		keep) RES[$proxy.$k]=$(bench_wrk "https://127.0.0.1:$P/" 50) ;;
		hs) RES[$proxy.$k]=$(bench_wrk "https://127.0.0.1:$P/" 50 \
			'Connection: close') ;;
		full) RES[$proxy.$k]=$(full_run "$P") ;;
		h2) RES[$proxy.$k]=$(h2_run "$P") ;;
		esac
	done
done

printf '%-10s %16s %9s %16s %9s %11s %16s %9s\n' proxy "https req/cpu-s" p99 \
	"handshakes/cpu-s" p99 "full hs/cpu-s" "h2 req/cpu-s" p99
for proxy in dynoroute haproxy; do
	read -r a b <<<"${RES[$proxy.keep]}"
	read -r c d <<<"${RES[$proxy.hs]}"
	read -r g _ <<<"${RES[$proxy.full]}"
	read -r e f <<<"${RES[$proxy.h2]}"
	printf '%-10s %16s %9s %16s %9s %11s %16s %9s\n' "$proxy" "$a" "$b" \
		"$c" "$d" "$g" "$e" "$f"
done
for k in keep hs full h2; do
	read -r dr _ <<<"${RES[dynoroute.$k]}"
	read -r hp _ <<<"${RES[haproxy.$k]}"
	awk -v d="$dr" -v h="$hp" -v k="$k" 'BEGIN {
		printf "ratio dyno-route/haproxy, %s: %.2f\n", k, (h ? d / h : 0) }'
done
