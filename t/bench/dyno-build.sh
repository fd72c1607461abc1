#!/bin/bash
# SPDX-License-Identifier: ISC
# git push of examples/python-web until its web dyno answers 200 through
# the router: cold (no cache, first release) and warm (cache, one changed
# file), against deploying the same commit by hand (git archive | tar,
# release create, the manager's restart).  Also the build's own overhead:
# the same push built by the plain buildpack, whose compile does nothing.
# Run by `make bench`.
set -eu

RUNS=${RUNS:-5}
# shellcheck source=t/helper/bench.bash
. "$(dirname "$0")/../helper/bench.bash"
bench_root
bench_build
bench_need git git
bench_need curl curl

DIR=$(mktemp -d /tmp/dynotest-bench-XXXXXX)
APP=dynotest-bbench
PIDS=()
cleanup() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill -TERM "${PIDS[i]}" 2>/dev/null || true
		wait "${PIDS[i]}" 2>/dev/null || true
	done
	rm -rf "$DIR"
}
trap cleanup EXIT

export DYNO_ROOT="$DIR/root" DYNO_RUNDIR="$DIR/run" DYNO_CONF="$DIR/dyno.conf"
mkdir -p "$DYNO_ROOT" "$DYNO_RUNDIR"
port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
ROUTER_PORT=$(port)
cat >"$DYNO_CONF" <<CONF
[dyno]
grace = 2s
[manager]
network = host
base_port = $(port)
[build]
network = host
buildpacks = $BENCH_TOP/share/buildpacks
CONF

now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }

# start NAME CMD...: a daemon on its ready fd.
start() {
	local name=$1 fifo="$DIR/$1.ready"
	shift
	mkfifo "$fifo"
	"$@" --ready-fd 4 4>"$fifo" >>"$DIR/$name.log" 2>&1 &
	PIDS+=("$!")
	read -r -t 60 _ <"$fifo" || bench_fail "$name did not start: $(cat "$DIR/$name.log")"
}

# answers MARK: the router serves a body starting with MARK (200).
answers() {
	local i
	for ((i = 0; i < 3000; i++)); do
		case $(curl -sf --max-time 2 -H "Host: $APP.localhost" \
			"http://127.0.0.1:$ROUTER_PORT/bench" 2>/dev/null) in
		"$1"*) return 0 ;;
		esac
		sleep 0.01
	done
	bench_fail "no answer starting with $1"
}

CO="$DIR/checkout"
git init -q -b main "$CO"
cp -r "$BENCH_TOP/examples/python-web/." "$CO/"
git -C "$CO" add -A
git -C "$CO" -c user.name=b -c user.email=b@example.com commit -qm bench
commit() {
	sed -i "s/\"GREETING\", \"[^\"]*\"/\"GREETING\", \"$1\"/" "$CO/app.py"
	git -C "$CO" -c user.name=b -c user.email=b@example.com commit -qam "$1"
}

start dyno-route dyno-route --listen "127.0.0.1:$ROUTER_PORT"
REMOTE=$(dyno-build --git-init "$APP")

# Cold: no cache, no release; the manager starts once the first one exists.
commit Cold
t0=$(now)
git -C "$CO" push -q "$REMOTE" main >/dev/null 2>&1 || bench_fail "cold push failed"
t1=$(now)
start dyno-manager dyno-manager "$APP"
answers Cold
t2=$(now)
echo "cold push-to-200: $(ms "$t0" "$t2") ms (push $(ms "$t0" "$t1") ms)"

warm=() overhead=() byhand=()
for ((r = 1; r <= RUNS; r++)); do
	commit "Warm$r"
	t0=$(now)
	git -C "$CO" push -q "$REMOTE" main >/dev/null 2>&1 || bench_fail "warm push failed"
	t1=$(now)
	answers "Warm$r"
	t2=$(now)
	warm+=("$(ms "$t0" "$t2")")
	echo "warm push-to-200 $r: $(ms "$t0" "$t2") ms (push $(ms "$t0" "$t1") ms)"
done

# By hand: git archive | tar, release create, the manager's restart.
for ((r = 1; r <= RUNS; r++)); do
	commit "Hand$r"
	t0=$(now)
	rm -rf "$DIR/hand" && mkdir "$DIR/hand"
	git -C "$CO" archive main | tar -x -C "$DIR/hand"
	release create "$APP" --slug "$DIR/hand" >/dev/null 2>&1 || bench_fail "release create failed"
	answers "Hand$r"
	t2=$(now)
	byhand+=("$(ms "$t0" "$t2")")
	echo "by hand to 200 $r: $(ms "$t0" "$t2") ms"
done

# The build's own overhead: everything but a compile that does nothing.
for ((r = 1; r <= RUNS; r++)); do
	t0=$(now)
	dyno-build --buildpack "$BENCH_TOP/share/buildpacks/90-plain" "$APP" "$CO" \
		>/dev/null 2>&1 || bench_fail "plain build failed"
	t1=$(now)
	overhead+=("$(ms "$t0" "$t1")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median warm push-to-200: $(median "${warm[@]}") ms (goal < 3000)"
echo "median by hand (archive, release create, restart) to 200: $(median "${byhand[@]}") ms"
echo "median build with a no-op compile, release create included: $(median "${overhead[@]}") ms"
