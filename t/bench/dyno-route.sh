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
W="$(mktemp -d /tmp/dynotest-bench-XXXXXX)"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
	local _
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "port $1 never opened" >&2
	cat "$W"/*.err >&2 2>/dev/null
	return 1
}

# CPU ticks (user + system) of a process and its children threads.
ticks() {
	local p t=0 s
	for p in "$@"; do
		s=$(cut -d' ' -f14,15 "/proc/$p/stat")
		t=$((t + ${s% *} + ${s#* }))
	done
	echo "$t"
}

B1=$(port)
B2=$(port)
mkdir -p "$W/nginx-dyno"
cat >"$W/dyno.conf" <<EOF
worker_processes 1;
daemon off;
pid $W/nginx-dyno/pid;
error_log stderr crit;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $W/nginx-dyno;
	keepalive_requests 1000000;
	server { listen 127.0.0.1:$B1; listen 127.0.0.1:$B2;
		location / { return 200 "hello\n"; } }
}
EOF
taskset -c 1 nginx -p "$W/nginx-dyno" -c "$W/dyno.conf" 2>"$W/dynos.err" &
PIDS+=($!)
wait_port "$B1"

# A datagram sink for the router's log lines, like logplexd (on CPU 1).
export DYNO_ROOT="$W/root" DYNO_RUNDIR="$W/run" DYNO_CONF="$W/empty.conf"
mkdir -p "$DYNO_ROOT/apps/bench" "$DYNO_RUNDIR"
: >"$DYNO_CONF"
printf 'web.1 127.0.0.1:%s\nweb.2 127.0.0.1:%s\n' "$B1" "$B2" \
	>"$DYNO_ROOT/apps/bench/routes"
taskset -c 1 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
while True:
    s.recv(65536)
' "$DYNO_RUNDIR/logplexd.sock" &
PIDS+=($!)

HDRS='X-Forwarded-Proto http
X-Forwarded-Port %[dst_port]'

start_dynoroute() {
	taskset -c 0 "$TOP/bin/dyno-route" -w 1 -l "127.0.0.1:$1" \
		2>"$W/dyno-route.err" &
	PROXY=("$!")
}

start_haproxy() {
	cat >"$W/haproxy.cfg" <<EOF
global
	nbthread 1
	log stdout format raw local3
	maxconn 4096
defaults
	mode http
	log global
	option httplog
	timeout connect 5s
	timeout client 55s
	timeout server 30s
	http-reuse always
frontend fe
	bind 127.0.0.1:$1
	option forwardfor
	unique-id-format %{+X}o%ci:%cp_%fi:%fp_%Ts_%rt:%pid
	http-request set-header X-Request-Id %[unique-id]
	http-request set-header X-Forwarded-Proto http
	http-request set-header X-Forwarded-Port %[dst_port]
	http-request set-header X-Request-Start t=%[date(0,ms)]
	http-request add-header Via "1.1 haproxy"
	http-response add-header Via "1.1 haproxy"
	default_backend be
backend be
	balance random
	server web1 127.0.0.1:$B1
	server web2 127.0.0.1:$B2
EOF
	: "$HDRS"
	taskset -c 0 haproxy -f "$W/haproxy.cfg" >/dev/null 2>"$W/haproxy.err" &
	PROXY=("$!")
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

# run NAME CONNS: prints "req/cpu-s p99".
measure() {
	local p=$1 conns=$2 t0 t1 out reqs p99 pids
	pids=("${PROXY[@]}")
	# nginx and HAProxy may fork a worker: count every process.
	mapfile -t -O 1 pids < <(pgrep -P "${PROXY[0]}" || true)
	pids[0]=${PROXY[0]}
	t0=$(ticks "${pids[@]}")
	out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${DUR}s" --latency \
		-H 'Host: bench.localhost' "http://127.0.0.1:$p/")
	t1=$(ticks "${pids[@]}")
	reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
	p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
	awk -v r="$reqs" -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v p="$p99" \
		'BEGIN { printf "%d %s\n", (t > 0 ? r / (t / hz) : 0), p }'
}

declare -A RES
for proxy in dynoroute haproxy nginx; do
	echo "== $proxy" >&2
	P=$(port)
	"start_$proxy" "$P"
	wait_port "$P"
	taskset -c 1 wrk -t1 -c50 -d2s -H 'Host: bench.localhost' \
		"http://127.0.0.1:$P/" >/dev/null
	for c in 50 200; do
		RES[$proxy.$c]=$(measure "$P" "$c")
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
