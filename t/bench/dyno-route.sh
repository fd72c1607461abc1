#!/bin/bash
# SPDX-License-Identifier: ISC
# Benchmark: wrk through dyno-route, HAProxy and nginx to the same two
# dynos (nginx answering "hello").  Each proxy runs one worker pinned to
# CPU 0; wrk, the dynos and the log sink share CPU 1.  Prints requests per
# proxy CPU-second and p99 at 50 and 200 connections, and the ratios.
set -eu

TOP="$(cd "$(dirname "$0")/../.." && pwd)"
DUR=${BENCH_SECONDS:-10}
# shellcheck source=t/helper/bench.bash
. "$(dirname "$0")/../helper/bench.bash"
bench_build
bench_need wrk wrk
bench_need haproxy haproxy
bench_need nginx nginx-light
bench_need taskset util-linux
bench_need python3 python3
bench_workdir
bench_dynos

start_dynoroute() {
	taskset -c 0 "$TOP/bin/dyno-route" -w 1 -l "127.0.0.1:$1" \
		2>"$W/dyno-route.err" &
	PROXY=("$!")
}

start_haproxy() {
	bench_haproxy http "127.0.0.1:$1"
}

start_nginx() {
	mkdir -p "$W/nginx-proxy"
	cat >"$W/proxy.conf" <<EOF
worker_processes 1;
daemon off;
pid $W/nginx-proxy/pid;
error_log stderr crit;
events { worker_connections 10000; }
http {
	log_format heroku 'at=info method=\$request_method path="\$request_uri" host=\$host request_id=\$request_id fwd="\$proxy_add_x_forwarded_for" dyno=\$upstream_addr connect=\$upstream_connect_time service=\$upstream_response_time status=\$status bytes=\$body_bytes_sent protocol=http';
	access_log $W/nginx-proxy/access.log heroku;
	client_body_temp_path $W/nginx-proxy;
	keepalive_requests 1000000;
	upstream dynos { random; server 127.0.0.1:$B1; server 127.0.0.1:$B2; keepalive 128; }
	server { listen 127.0.0.1:$1;
		location / {
			proxy_pass http://dynos;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host \$host;
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto http;
			proxy_set_header X-Forwarded-Port \$server_port;
			proxy_set_header X-Request-Start \$msec;
			proxy_set_header X-Request-Id \$request_id;
			proxy_set_header Via "1.1 nginx";
			add_header Via "1.1 nginx";
		} }
}
EOF
	taskset -c 0 nginx -p "$W/nginx-proxy" -c "$W/proxy.conf" 2>"$W/nginx.err" &
	PROXY=("$!")
}

declare -A RES
for proxy in dynoroute haproxy nginx; do
	echo "== $proxy" >&2
	P=$(bench_port)
	"start_$proxy" "$P"
	bench_wait_port "$P"
	taskset -c 1 wrk -t1 -c50 -d2s -H 'Host: bench.localhost' \
		"http://127.0.0.1:$P/" >/dev/null
	for c in 50 200; do
		RES[$proxy.$c]=$(bench_wrk "http://127.0.0.1:$P/" "$c")
	done
	kill "${PROXY[0]}"
	wait "${PROXY[0]}" 2>/dev/null || true
done

printf '%-12s %14s %10s %14s %10s\n' proxy "req/cpu-s@50" "p99@50" \
	"req/cpu-s@200" "p99@200"
for proxy in dynoroute haproxy nginx; do
	read -r a b <<<"${RES[$proxy.50]}"
	read -r c d <<<"${RES[$proxy.200]}"
	printf '%-12s %14s %10s %14s %10s\n' "$proxy" "$a" "$b" "$c" "$d"
done
for c in 50 200; do
	read -r dr _ <<<"${RES[dynoroute.$c]}"
	read -r hp _ <<<"${RES[haproxy.$c]}"
	read -r ng _ <<<"${RES[nginx.$c]}"
	awk -v d="$dr" -v h="$hp" -v n="$ng" -v c="$c" 'BEGIN {
		printf "ratio at %d connections: dyno-route/haproxy %.2f, dyno-route/nginx %.2f\n",
		    c, (h ? d / h : 0), (n ? d / n : 0) }'
done
