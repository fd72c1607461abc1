# SPDX-License-Identifier: ISC
# Helpers for the logplexd and dyno-logs tests: start and stop the daemon
# (waiting on --ready-fd), send lines, and clean up every process started.
# shellcheck shell=bash

LP_PIDS=()

# lp_start [ARGS...]: run logplexd in the background, wait until ready.
lp_start() {
	local fifo="$DYNO_TEST_DIR/ready.$RANDOM" line
	mkfifo "$fifo"
	logplexd --ready-fd 4 "$@" 4>"$fifo" 3>&- 2>>"$DYNO_TEST_DIR/logplexd.err" &
	LP_PID=$!
	LP_PIDS+=("$LP_PID")
	if ! read -r -t 30 line <"$fifo"; then
		echo "logplexd did not become ready:" >&2
		cat "$DYNO_TEST_DIR/logplexd.err" >&2
		return 1
	fi
	rm -f "$fifo"
}

# lp_stop: SIGTERM and wait; the exit status is returned.
lp_stop() {
	local rc=0
	kill -TERM "$LP_PID" 2>/dev/null || return 0
	wait "$LP_PID" || rc=$?
	return "$rc"
}

# lp_track PID: a background process lp_cleanup must kill.
lp_track() {
	LP_PIDS+=("$1")
}

# lp_cleanup: kill everything started here (teardown).
lp_cleanup() {
	local p
	for p in "${LP_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for p in "${LP_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	LP_PIDS=()
}

# lp_err_has TEXT: logplexd's stderr contains TEXT.
lp_err_has() {
	grep -qF -- "$1" "$DYNO_TEST_DIR/logplexd.err"
}

# lp_log_has APP TEXT [ARGS...]: dyno-logs APP shows a line with TEXT.
lp_log_has() {
	local app=$1 text=$2
	shift 2
	dyno-logs "$app" -n 1500 "$@" | grep -qF -- "$text"
}

# lp_app APP: make the app's folder (drains live there).
lp_app() {
	mkdir -p "$DYNO_ROOT/apps/$1"
}
