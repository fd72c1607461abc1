# SPDX-License-Identifier: ISC
# Helpers for the whole-platform tests: start the daemons on ready fds,
# send traffic through the router, and stop everything in teardown.
# shellcheck shell=bash

PF_PIDS=()

# pf_start NAME CMD...: run CMD --ready-fd 4 in the background; wait for it.
# The pid is left in PF_PID and also in $DYNO_TEST_DIR/NAME.pid.
pf_start() {
	local name=$1 fifo="$DYNO_TEST_DIR/$1.ready.$RANDOM"
	shift
	mkfifo "$fifo"
	"$@" --ready-fd 4 4>"$fifo" 3>&- >>"$DYNO_TEST_DIR/$name.log" 2>&1 &
	PF_PID=$!
	PF_PIDS+=("$PF_PID")
	echo "$PF_PID" >"$DYNO_TEST_DIR/$name.pid"
	if ! read -r -t 60 _ <"$fifo"; then
		echo "$name did not become ready:" >&2
		cat "$DYNO_TEST_DIR/$name.log" >&2
		return 1
	fi
	rm -f "$fifo"
}

pf_pid() {
	cat "$DYNO_TEST_DIR/$1.pid"
}

# pf_stop NAME: SIGTERM, wait (bounded), SIGKILL if it hangs.
pf_stop() {
	local pid
	pid=$(pf_pid "$1")
	kill -TERM "$pid" 2>/dev/null || return 0
	wait_for 60 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
}

# pf_cleanup: stop every daemon, the manager first so dynos stop cleanly.
pf_cleanup() {
	local i pid
	for ((i = ${#PF_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${PF_PIDS[i]}
		kill -TERM "$pid" 2>/dev/null || continue
		wait_for 60 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid"
	done
	PF_PIDS=()
}

# pf_get HOST PATH: one request through the router, body on stdout.
pf_get() {
	curl -sf --max-time 10 -H "Host: $1" "http://127.0.0.1:$ROUTER_PORT$2"
}

pf_routes() {
	[ "$(wc -l <"$DYNO_ROOT/apps/$1/routes" 2>/dev/null || echo 0)" -eq "$2" ]
}

# pf_on_release APP vN COUNT: every web dyno runs vN and COUNT are routed.
pf_on_release() {
	local f
	for f in "$DYNO_ROOT/apps/$1"/dynos/web.*/release; do
		[ "$(cat "$f")" = "$2" ] || return 1
	done
	pf_routes "$1" "$3"
}
