# SPDX-License-Identifier: ISC
# Shared by t/06*-dyno-route-*.bats: test dynos, apps, and a router.
# shellcheck shell=bash

# route_backend MODE NAME: start a test dyno; its port is in BACKEND_PORT.
route_backend() {
	local pf="$DYNO_TEST_DIR/backend-$2.port"
	python3 "$TOP/t/helper/dyno-route-backend.py" "$1" "$pf" "$2" \
		3>&- >/dev/null 2>&1 &
	echo "$!" >>"$DYNO_TEST_DIR/pids"
	wait_for 20 test -s "$pf"
	# shellcheck disable=SC2034 # read by the test files
	BACKEND_PORT="$(cat "$pf")"
}

# route_app APP [HOSTNAMES]: an app folder with its app.conf.
route_app() {
	mkdir -p "$DYNO_ROOT/apps/$1"
	printf '[app]\nhostnames=%s\n' "${2:-}" >"$DYNO_ROOT/apps/$1/app.conf"
}

# route_routes APP "web.1 PORT" ...: replace the routes file atomically.
route_routes() {
	local app=$1 line f
	shift
	f="$DYNO_ROOT/apps/$app/.routes.tmp"
	: >"$f"
	for line in "$@"; do
		printf '%s 127.0.0.1:%s\n' "${line% *}" "${line#* }" >>"$f"
	done
	mv "$f" "$DYNO_ROOT/apps/$app/routes"
}

# route_start [ARGS]: run dyno-route on ROUTER_PORT and wait for readiness.
# With ROUTE_NOFILE set, the router's open file limit is that.
route_start() {
	local fifo="$DYNO_TEST_DIR/ready" line
	ROUTER_PORT="$(free_port)"
	ROUTER_LOG="$DYNO_TEST_DIR/route.log"
	mkfifo "$fifo"
	${ROUTE_NOFILE:+prlimit "--nofile=$ROUTE_NOFILE" --} \
		dyno-route --workers 1 --listen "127.0.0.1:$ROUTER_PORT" \
		--ready-fd 4 "$@" 4>"$fifo" 3>&- 2>>"$ROUTER_LOG" &
	ROUTER_PID=$!
	echo "$ROUTER_PID" >>"$DYNO_TEST_DIR/pids"
	read -r -t 20 line <"$fifo" || {
		cat "$ROUTER_LOG" >&2
		return 1
	}
	: "$line"
}

# route_curl HOST PATH [CURL ARGS]: a request through the router.
route_curl() {
	local host=$1 path=$2
	shift 2
	curl -sS --max-time 30 -H "Host: $host" "$@" \
		"http://127.0.0.1:$ROUTER_PORT$path"
}

# route_raw BYTES: send raw bytes (Python escapes), print the answer up to
# the router's close (no half-close: the router reads that as a hang-up).
route_raw() {
	python3 - "$ROUTER_PORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
sys.stdout.write(out.decode("latin-1"))
PY
}

# route_log_has PATTERN: a router log line matches (grep -E).
route_log_has() {
	grep -E -- "$1" "$ROUTER_LOG"
}

route_cleanup() {
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
