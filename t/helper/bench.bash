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
