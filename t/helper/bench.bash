# SPDX-License-Identifier: ISC
# Sourced by every t/bench/*.sh: a benchmark run alone builds what it
# needs, and stops loudly (a message, a non-zero exit) when it cannot run.
# shellcheck shell=bash

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PATH="$BENCH_TOP/bin:$BENCH_TOP/t/helper:$PATH:/usr/sbin:/sbin"
BENCH_NAME=$(basename "$0" .sh)

bench_fail() {
	echo "bench $BENCH_NAME: $*" >&2
	exit "${BENCH_EXIT:-69}"
}

# bench_build: the tools; bench_helpers NAME...: and t/helper programs.
bench_build() {
	make -C "$BENCH_TOP" -s --no-print-directory NODEPS=1 all >&2 ||
		bench_fail "cannot build the tools"
}

bench_helpers() {
	local h targets=()
	for h in "$@"; do
		targets+=("t/helper/$h")
	done
	make -C "$BENCH_TOP" -s --no-print-directory NODEPS=1 "${targets[@]}" >&2 ||
		bench_fail "cannot build ${targets[*]}"
}

# bench_need CMD PACKAGE: CMD must be installed (make bench-deps does).
bench_need() {
	command -v "$1" >/dev/null 2>&1 ||
		bench_fail "needs $1 (Debian package $2; make bench-deps installs it)"
}

# bench_conf: DYNO_CONF becomes a common range of the benches' own, then
# standard input.  A bench's DYNO_ROOT is not the host's, so its kernel
# names carry a tag and its common space needs a range apart from an
# installed one's 172.16.0.0/16 (space-net(8), Kernel names).
BENCH_COMMON=10.200.0.0/16
bench_conf() {
	{
		printf '[manager]\ncommon_range = %s\n' "$BENCH_COMMON"
		cat
	} >"$DYNO_CONF"
}

# bench_root: dyno-run and space-net need root.
bench_root() {
	[ "$(id -u)" -eq 0 ] || BENCH_EXIT=77 bench_fail "needs root"
}

# bench_descendants PID: every process below PID (by parent pid, never by
# name: nothing else on the machine is touched).
bench_descendants() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ kids[$2] = kids[$2] " " $1 }
		END {
			n = split(kids[root], q, " ")
			for (i = 1; i <= n; i++) {
				print q[i]
				m = split(kids[q[i]], more, " ")
				for (j = 1; j <= m; j++)
					q[++n] = more[j]
			}
		}'
}

# bench_count PID COMM: how many processes below PID are named COMM.
bench_count() {
	local p c n=0
	for p in $(bench_descendants "$1"); do
		read -r c 2>/dev/null <"/proc/$p/comm" || continue
		[ "$c" = "$2" ] && n=$((n + 1))
	done
	echo "$n"
}

# bench_gone PID...: true when none of them is alive.
bench_gone() {
	local p
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}

# bench_kill_all: SIGKILL to everything this benchmark started.
bench_kill_all() {
	# shellcheck disable=SC2046
	kill -KILL $(bench_descendants $$ | grep -vx "$BASHPID") 2>/dev/null || true
}

# ---- proxies: t/bench/dyno-route.sh and dyno-route-tls.sh ----

# bench_workdir: $W, a scratch folder; on exit every pid in PIDS is
# killed and $W removed.
bench_workdir() {
	W="$(mktemp -d /tmp/dynotest-bench-XXXXXX)"
	PIDS=()
	trap bench_cleanup EXIT
}

bench_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$W"
}

# bench_port: a free TCP port on 127.0.0.1.
bench_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_wait_port PORT: until something listens there (10 s at most).
bench_wait_port() {
	local _
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "port $1 never opened" >&2
	cat "$W"/*.err >&2 2>/dev/null
	return 1
}

# bench_ticks PID...: their CPU ticks (user + system).
bench_ticks() {
	local p t=0 s
	for p in "$@"; do
		s=$(cut -d' ' -f14,15 "/proc/$p/stat")
		t=$((t + ${s% *} + ${s#* }))
	done
	echo "$t"
}

# bench_dynos: two dynos (nginx answering "hello", on CPU 1) at $B1 and
# $B2, the app "bench" (host bench.localhost) routed to them under
# DYNO_ROOT, and a datagram sink for the router's log lines, like
# logplexd (on CPU 1).
bench_dynos() {
	B1=$(bench_port)
	B2=$(bench_port)
	mkdir -p "$W/nginx-dyno"
	cat >"$W/dyno.conf" <<EOC
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
EOC
	taskset -c 1 nginx -p "$W/nginx-dyno" -c "$W/dyno.conf" \
		2>"$W/dynos.err" &
	PIDS+=($!)
	bench_wait_port "$B1"
	export DYNO_ROOT="$W/root" DYNO_RUNDIR="$W/run" DYNO_CONF="$W/empty.conf"
	mkdir -p "$DYNO_ROOT/apps/bench" "$DYNO_RUNDIR"
	: >"$DYNO_CONF"
	printf '[app]\nhostnames=bench.localhost\n' \
		>"$DYNO_ROOT/apps/bench/app.conf"
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
}

# bench_haproxy PROTO BIND [GLOBAL]: HAProxy with one thread on CPU 0,
# bound as BIND, adding the router's headers (X-Forwarded-Proto PROTO),
# balancing over the dynos; its pid in PROXY.
bench_haproxy() {
	cat >"$W/haproxy.cfg" <<EOC
global
	nbthread 1
	log stdout format raw local3
	maxconn 4096
${3:+	$3}
defaults
	mode http
	log global
	option httplog
	timeout connect 5s
	timeout client 55s
	timeout server 30s
	http-reuse always
frontend fe
	bind $2
	option forwardfor
	unique-id-format %{+X}o%ci:%cp_%fi:%fp_%Ts_%rt:%pid
	http-request set-header X-Request-Id %[unique-id]
	http-request set-header X-Forwarded-Proto $1
	http-request set-header X-Forwarded-Port %[dst_port]
	http-request set-header X-Request-Start t=%[date(0,ms)]
	http-request add-header Via "1.1 haproxy"
	http-response add-header Via "1.1 haproxy"
	default_backend be
backend be
	balance random
	server web1 127.0.0.1:$B1
	server web2 127.0.0.1:$B2
EOC
	taskset -c 0 haproxy -f "$W/haproxy.cfg" >/dev/null 2>"$W/haproxy.err" &
	PROXY=("$!")
}

# bench_proxy_pids: the proxy ($PROXY) and its children (a forked worker).
bench_proxy_pids() {
	local pids
	mapfile -t -O 1 pids < <(pgrep -P "${PROXY[0]}" || true)
	pids[0]=${PROXY[0]}
	echo "${pids[@]}"
}

# bench_per_cpu REQUESTS TICKS: requests per CPU-second.
bench_per_cpu() {
	awk -v r="$1" -v t="$2" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%d", (t > 0 ? r / (t / hz) : 0) }'
}

# bench_wrk URL CONNS [HEADER]: wrk (on CPU 1) for $DUR seconds through
# the proxy: "requests/proxy-CPU-second p99".
bench_wrk() {
	local t0 t1 out reqs p99 pids
	read -r -a pids <<<"$(bench_proxy_pids)"
	t0=$(bench_ticks "${pids[@]}")
	out=$(taskset -c 1 wrk -t1 -c"$2" -d"${DUR}s" --latency \
		-H 'Host: bench.localhost' ${3:+-H "$3"} "$1")
	t1=$(bench_ticks "${pids[@]}")
	reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
	p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
	echo "$(bench_per_cpu "$reqs" $((t1 - t0))) $p99"
}
