# SPDX-License-Identifier: ISC
# Loaded by every bats file: assertions, the built tools on PATH, and a
# private DYNO_ROOT / DYNO_RUNDIR / DYNO_CONF per test.
# shellcheck shell=bash

bats_load_library bats-support
bats_load_library bats-assert

TOP="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
export TOP
PATH="$TOP/bin:$TOP/t/helper:$PATH"
export PATH
export NO_COLOR=1

# A fresh state tree for each test; removed by dyno_teardown.
dyno_setup() {
	DYNO_TEST_DIR="$(mktemp -d "${BATS_TMPDIR:-/tmp}/dynotest-XXXXXX")"
	export DYNO_TEST_DIR
	export DYNO_ROOT="$DYNO_TEST_DIR/root"
	export DYNO_RUNDIR="$DYNO_TEST_DIR/run"
	export DYNO_CONF="$DYNO_TEST_DIR/dyno.conf"
	mkdir -p "$DYNO_ROOT" "$DYNO_RUNDIR"
	: >"$DYNO_CONF"
}

dyno_teardown() {
	[ -n "${DYNO_TEST_DIR:-}" ] && rm -rf "$DYNO_TEST_DIR"
	return 0
}

# require_root: skip unless running as root.
require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# require_cmd CMD...: skip unless every command exists.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

# wait_for SECONDS CMD...: poll CMD every 50 ms until it succeeds or the
# deadline passes (then fail, showing the command).
wait_for() {
	local deadline=$(($(date +%s%N) / 1000000 + $1 * 1000))
	shift
	until "$@" >/dev/null 2>&1; do
		if [ "$(($(date +%s%N) / 1000000))" -ge "$deadline" ]; then
			echo "wait_for: timed out: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

# free_port: an unused TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# stop_app_dynos APP: the safety net of a teardown.  Whatever happened to
# the test's dyno-manager, no dyno of APP (a dynotest- name) outlives the
# test: SIGTERM to its dyno-run processes, then SIGKILL after 15 s.
stop_app_dynos() {
	local pat="^dyno-run --app $1 "
	pgrep -f "$pat" >/dev/null || return 0
	pkill -TERM -f "$pat"
	wait_for 15 bash -c "! pgrep -f '$pat'" || pkill -KILL -f "$pat"
	return 0
}
