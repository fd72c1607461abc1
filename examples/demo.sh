#!/bin/bash
# SPDX-License-Identifier: ISC
# make demo: the whole platform on the bundled example app.  Each step
# prints the command a user would type, then its output.  Everything runs
# under a private DYNO_ROOT and DYNO_RUNDIR, and everything it starts, it
# stops: it leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/bin:$PATH"
export NO_COLOR=1
work=$(mktemp -d /tmp/dyno-demo-XXXXXX)
export DYNO_ROOT="$work/lib" DYNO_RUNDIR="$work/run" DYNO_CONF="$work/dyno.conf"
mkdir -p "$DYNO_ROOT" "$DYNO_RUNDIR"
space=dyno-demo
# The demo's dynos live in a space of their own (a Common-Runtime-like one,
# so as not to touch a real `common` space), removed at the end.
printf '[dyno]\ngrace = 5s\n[manager]\nnetwork = space:%s\n' "$space" >"$DYNO_CONF"
pids=()
app=demo-app

cleanup() {
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
	pids=()
	space-net destroy "$space" --force >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

step() {
	if [ -t 1 ]; then
		printf '\n\033[1m$ %s\033[0m\n' "$*"
	else
		printf '\n$ %s\n' "$*"
	fi
}

note() {
	printf '# %s\n' "$*"
}

# until SECONDS CMD...: poll CMD until it succeeds; fail the demo if it never does.
until_ok() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "demo: timed out waiting for: $*" >&2
			exit 1
		fi
		sleep 0.1
	done
}

# start_daemon NAME CMD...: run CMD in the background with --ready-fd 3
# and wait for its newline.
start_daemon() {
	local name=$1 fifo="$work/$1.ready"
	shift
	mkfifo "$fifo"
	"$@" --ready-fd 3 3>"$fifo" 2>>"$work/$name.log" &
	pids+=($!)
	read -r -t 30 _ <"$fifo" || {
		echo "demo: $name did not start:" >&2
		cat "$work/$name.log" >&2
		exit 1
	}
}

routes() {
	[ "$(wc -l <"$DYNO_ROOT/apps/$app/routes" 2>/dev/null || echo 0)" -eq "$1" ]
}

on_release() {
	local f
	for f in "$DYNO_ROOT/apps/$app"/dynos/web.*/release; do
		[ "$(cat "$f")" = "$1" ] || return 1
	done
	routes "$2"
}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port/"

note "a private state tree for the demo:"
note "DYNO_ROOT=$DYNO_ROOT DYNO_RUNDIR=$DYNO_RUNDIR"

step space-net create "$space" --cidr 10.213.250.0/24 --mode common
space-net create "$space" --cidr 10.213.250.0/24 --mode common

step logplexd '&'
start_daemon logplexd logplexd

step dyno-route --listen "127.0.0.1:$port" '&'
start_daemon dyno-route dyno-route --listen "127.0.0.1:$port"

step release create "$app" --slug examples/python-web --description "'First deploy'"
release create "$app" --slug examples/python-web --description 'First deploy'

step dyno-manager scale "$app" web=2 worker=1
dyno-manager scale "$app" web=2 worker=1

step dyno-manager "$app" '&'
start_daemon dyno-manager dyno-manager "$app"
until_ok 60 routes 2

step dyno-manager ps "$app"
dyno-manager ps "$app"

step cat "\$DYNO_ROOT/apps/$app/routes"
cat "$DYNO_ROOT/apps/$app/routes"

for _ in 1 2 3 4; do
	step curl -s -H "'Host: $app.localhost'" "$url"
	curl -s -H "Host: $app.localhost" "$url"
done

step release config set "$app" "GREETING='Hello from v2'"
release config set "$app" GREETING='Hello from v2'
until_ok 60 on_release v2 2
step curl -s -H "'Host: $app.localhost'" "$url"
curl -s -H "Host: $app.localhost" "$url"

step release list "$app"
release list "$app"

step release rollback "$app" v1
release rollback "$app" v1
until_ok 60 on_release v3 2
step curl -s -H "'Host: $app.localhost'" "$url"
curl -s -H "Host: $app.localhost" "$url"

step dyno-cycle --wait "$app" web.1
dyno-cycle --wait "$app" web.1

step dyno-manager scale "$app" web=1
dyno-manager scale "$app" web=1
until_ok 60 routes 1

step dyno-logs "$app" -n 40
dyno-logs "$app" -n 40

step kill -TERM "%dyno-manager %dyno-route %logplexd"
step space-net destroy "$space"
cleanup
trap - EXIT
echo
echo "demo: deployed, routed to two web dynos, logged, scaled, reconfigured,"
echo "demo: rolled back, cycled and stopped; nothing is left running"
