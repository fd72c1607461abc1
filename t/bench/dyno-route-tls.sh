#!/bin/bash
# SPDX-License-Identifier: ISC
# Benchmark: HTTPS through dyno-route and HAProxy with the same certificate
# (EC P-256) to the same two dynos (nginx answering "hello").  Each proxy
# runs one worker pinned to CPU 0; the clients, the dynos and the log sink
# share CPU 1.  Per proxy CPU-second: HTTP/1.1 requests over kept-alive TLS
# connections (wrk), new TLS handshakes (wrk, Connection: close: one full
# handshake per request), and HTTP/2 requests (h2load, 10 streams on each
# of 20 connections); p99 of each, and the ratios.
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

# CPU ticks (user + system) of processes.
ticks() {
	local p t=0 s
	for p in "$@"; do
		s=$(cut -d' ' -f14,15 "/proc/$p/stat")
		t=$((t + ${s% *} + ${s#* }))
	done
	echo "$t"
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-days 2 -subj "/CN=bench.localhost" \
	-addext "subjectAltName=DNS:bench.localhost" -keyout "$W/key.pem" \
	-out "$W/cert.pem" 2>/dev/null
cat "$W/cert.pem" "$W/key.pem" >"$W/haproxy.pem"

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
printf '[app]\nhostnames=bench.localhost\n' >"$DYNO_ROOT/apps/bench/app.conf"
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

start_dynoroute() {
	taskset -c 0 "$TOP/bin/dyno-route" -w 1 -L "127.0.0.1:$1" \
		-c "$W/cert.pem" -k "$W/key.pem" 2>"$W/dyno-route.err" &
	PROXY=("$!")
}

start_haproxy() {
	cat >"$W/haproxy.cfg" <<EOF
global
	nbthread 1
	log stdout format raw local3
	maxconn 4096
	ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
	mode http
	log global
	option httplog
	timeout connect 5s
	timeout client 55s
	timeout server 30s
	http-reuse always
frontend fe
	bind 127.0.0.1:$1 ssl crt $W/haproxy.pem alpn h2,http/1.1
	option forwardfor
	unique-id-format %{+X}o%ci:%cp_%fi:%fp_%Ts_%rt:%pid
	http-request set-header X-Request-Id %[unique-id]
	http-request set-header X-Forwarded-Proto https
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
	taskset -c 0 haproxy -f "$W/haproxy.cfg" >/dev/null 2>"$W/haproxy.err" &
	PROXY=("$!")
}

# cpu_around CMD...: run CMD (output in $W/out); "REQS_PER_CPU_S" after,
# with the request count from $W/reqs.
proxy_pids() {
	local pids
	mapfile -t -O 1 pids < <(pgrep -P "${PROXY[0]}" || true)
	pids[0]=${PROXY[0]}
	echo "${pids[@]}"
}

per_cpu() {
	awk -v r="$1" -v t="$2" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%d", (t > 0 ? r / (t / hz) : 0) }'
}

# wrk_run PORT CONNS [HEADER]: "req/cpu-s p99".
wrk_run() {
	local p=$1 conns=$2 t0 t1 out reqs p99 pids
	read -r -a pids <<<"$(proxy_pids)"
	t0=$(ticks "${pids[@]}")
	out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${DUR}s" --latency \
		-H 'Host: bench.localhost' ${3:+-H "$3"} "https://127.0.0.1:$p/")
	t1=$(ticks "${pids[@]}")
	reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
	p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
	echo "$(per_cpu "$reqs" $((t1 - t0))) $p99"
}

# h2_run PORT: "req/cpu-s p99" over HTTP/2 (p99 from h2load's log).
h2_run() {
	local p=$1 t0 t1 out reqs p99 pids
	read -r -a pids <<<"$(proxy_pids)"
	t0=$(ticks "${pids[@]}")
	out=$(taskset -c 1 h2load -c 20 -m 10 -D "$DUR" \
		-H ':authority: bench.localhost' --log-file="$W/h2.log" \
		"https://127.0.0.1:$p/" 2>&1)
	t1=$(ticks "${pids[@]}")
	reqs=$(awk '/^requests:/ { print $8 }' <<<"$out")
	p99=$(awk -F'\t' '$2 == 200 { print $3 }' "$W/h2.log" | sort -n |
		awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1;
		    printf "%.2fms", v[i] / 1000 }')
	echo "$(per_cpu "$reqs" $((t1 - t0))) $p99"
}

declare -A RES
for proxy in dynoroute haproxy; do
	echo "== $proxy" >&2
	P=$(port)
	"start_$proxy" "$P"
	wait_port "$P"
	taskset -c 1 wrk -t1 -c50 -d2s -H 'Host: bench.localhost' \
		"https://127.0.0.1:$P/" >/dev/null
	RES[$proxy.keep]=$(wrk_run "$P" 50)
	RES[$proxy.hs]=$(wrk_run "$P" 50 'Connection: close')
	RES[$proxy.h2]=$(h2_run "$P")
	kill "${PROXY[0]}"
	wait "${PROXY[0]}" 2>/dev/null || true
done

printf '%-10s %16s %9s %16s %9s %16s %9s\n' proxy "https req/cpu-s" p99 \
	"handshakes/cpu-s" p99 "h2 req/cpu-s" p99
for proxy in dynoroute haproxy; do
	read -r a b <<<"${RES[$proxy.keep]}"
	read -r c d <<<"${RES[$proxy.hs]}"
	read -r e f <<<"${RES[$proxy.h2]}"
	printf '%-10s %16s %9s %16s %9s %16s %9s\n' "$proxy" "$a" "$b" "$c" \
		"$d" "$e" "$f"
done
for k in keep hs h2; do
	read -r dr _ <<<"${RES[dynoroute.$k]}"
	read -r hp _ <<<"${RES[haproxy.$k]}"
	awk -v d="$dr" -v h="$hp" -v k="$k" 'BEGIN {
		printf "ratio dyno-route/haproxy, %s: %.2f\n", k, (h ? d / h : 0) }'
done
