#!/bin/bash
# SPDX-License-Identifier: ISC
# make demo: run the bundled example app and show each step as a user
# would type it.  Everything it starts, it stops; it leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/bin:$PATH"
export NO_COLOR=1
work=$(mktemp -d /tmp/dyno-demo-XXXXXX)
mgr=

cleanup() {
	if [ -n "$mgr" ]; then
		kill -TERM "$mgr" 2>/dev/null
		wait "$mgr" || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

step() {
	if [ -t 1 ]; then printf '\n\033[1m$ %s\033[0m\n' "$*"; else printf '\n$ %s\n' "$*"; fi
}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

step dyno-manager check -d examples/python-web
dyno-manager check -d examples/python-web

step dyno-manager -d examples/python-web -m web=2,worker=1 -p "$port" '&'
dyno-manager -d examples/python-web -m web=2,worker=1 -p "$port" >"$work/out" 2>&1 &
mgr=$!
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
	sleep 0.1
done

step curl "http://127.0.0.1:$port/hello"
curl -s "http://127.0.0.1:$port/hello"
step curl "http://127.0.0.1:$((port + 1))/hello"
curl -s "http://127.0.0.1:$((port + 1))/hello"

step kill -TERM '$!'
kill -TERM "$mgr"
wait "$mgr" || true
mgr=
cat "$work/out"
echo
echo "demo: the app ran, answered on web.1 and web.2, and stopped cleanly"
