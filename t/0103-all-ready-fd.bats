#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# --ready-fd: one contract (lib/ready) in logplexd, dyno-route, dyno-manager.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-route

setup() { dyno_setup; }
teardown() { route_cleanup; dyno_teardown; }

# refused TOOL ARGS... -- VALUE REASON: a bad --ready-fd is a usage error,
# found before any work, with the same one-line reason in every daemon.
refused() {
	local tool=$1 value=$2 reason=$3
	shift 3
	run -64 --separate-stderr "$tool" "$@" --ready-fd "$value" 0</dev/null 9>&-
	assert_equal "${stderr_lines[0]}" "$tool: --ready-fd $reason"
}

@test "a bad --ready-fd is refused alike by the three daemons" {
	local t
	for t in logplexd "dyno-route" "dyno-manager"; do
		refused "$t" x '"x": expected a file descriptor' -n
		refused "$t" -1 '"-1": expected a file descriptor' -n
		refused "$t" 99999999999 '"99999999999": expected a file descriptor' -n
		refused "$t" 9 '9: Bad file descriptor' -n
		refused "$t" 0 '0: open read-only' -n
	done
}

@test "dyno-route signals readiness on fd 0 too" {
	local fifo="$DYNO_TEST_DIR/ready0" line=
	ROUTER_PORT="$(free_port)"
	ROUTER_LOG="$DYNO_TEST_DIR/route.log"
	mkfifo "$fifo"
	dyno-route --workers 1 --listen "127.0.0.1:$ROUTER_PORT" --ready-fd 0 \
		0>"$fifo" 3>&- 2>>"$ROUTER_LOG" &
	ROUTER_PID=$!
	echo "$ROUTER_PID" >>"$DYNO_TEST_DIR/pids"
	read -r -t 20 line <"$fifo"
	assert_equal "$line" ""
}
