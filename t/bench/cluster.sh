#!/bin/bash
# SPDX-License-Identifier: ISC
# dyno-agent on a 3-member etcd (127.0.0.1, data on tmpfs) with three hosts
# (agents with their own DYNO_ROOT): the time to place N=300 dynos over the
# three hosts, with etcd's write counts (puts, txns, deletes and consensus
# proposals from /metrics); then, with real dynos, the time from a formation
# change to its new dyno starting, and the time from a host's
# death (kill -9 of its agent) to its dynos fenced, and to the formation up
# and routed on the other hosts.  Goals (issue 21): placement under 3 s,
# back and routed within 15 s, fenced within the lease (10 s).
# Then the cost of release records (issue 21): with APPS=50 apps of
# RELS=20 releases each, 4 KiB of config vars in every record, the
# placer's time per round and the bytes its watched copy holds (its -v
# round line), and each agent's resident memory.
set -euo pipefail
cd "$(dirname "$0")/../.."
PATH="$PWD/bin:$PATH"
N=${N:-300}
# shellcheck source=t/helper/bench.bash
. "$(dirname "$0")/../helper/bench.bash"
bench_root
bench_build
bench_need etcd etcd-server
bench_need etcdctl etcd-client
work=$(mktemp -d /dev/shm/dynobench-cluster-XXXXXX)
BASE=23700
EP="http://127.0.0.1:$((BASE + 10)),http://127.0.0.1:$((BASE + 20)),http://127.0.0.1:$((BASE + 30))"
declare -A pids=()
APP=bench-clu

cleanup() {
	local k f rc=$?
	set +e
	for k in "${!pids[@]}"; do
		kill -KILL "${pids[$k]}" 2>/dev/null
	done
	for f in "$work"/h*/run/apps/*/manager.pid; do
		[ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
	done
	sleep 3
	for f in "$work"/h*/run/apps/*/manager.pid; do
		[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# close_fds_exec CMD...: CMD with only stdin, stdout and stderr open.
close_fds_exec() {
	local fd
	for fd in "/proc/$BASHPID/fd/"*; do
		fd=${fd##*/}
		[ "$fd" -gt 2 ] && eval "exec $fd>&-"
	done
	exec "$@"
}
ectl() { ETCDCTL_API=3 etcdctl --endpoints "$EP" "$@"; }

# until_true SECONDS CMD...: poll every 50 ms; fail the bench on timeout.
until_true() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$end" ] || bench_fail "timed out: $*"
		sleep 0.05
	done
}

start_etcd() {
	local i c p cluster=""
	for i in 1 2 3; do
		cluster+="m$i=http://127.0.0.1:$((BASE + i * 10 + 1)),"
	done
	for i in 1 2 3; do
		c="http://127.0.0.1:$((BASE + i * 10))"
		p="http://127.0.0.1:$((BASE + i * 10 + 1))"
		# no inherited fd (the test lock's) may outlive this script
		close_fds_exec etcd --name "m$i" --data-dir "$work/m$i" --listen-client-urls "$c" \
			--advertise-client-urls "$c" --listen-peer-urls "$p" \
			--initial-advertise-peer-urls "$p" \
			--initial-cluster "${cluster%,}" --initial-cluster-state new \
			>"$work/m$i.log" 2>&1 &
		pids[m$i]=$!
	done
	for i in 1 2 3; do
		until_true 30 bash -c "curl -sf http://127.0.0.1:$((BASE + i * 10))/health | grep -q true"
	done
}

# host H CAPACITY: its tree and dyno.conf, then its agent, registered.
host() {
	local h=$1
	mkdir -p "$work/$h/root" "$work/$h/run"
	cat >"$work/$h/dyno.conf" <<-C
	[dyno]
	grace = 2s
	[manager]
	network = host
	[cluster]
	etcd = $EP
	host = $h
	address = 127.0.0.1
	capacity = $2
	C
}

agent() {
	local h=$1
	DYNO_ROOT="$work/$h/root" DYNO_RUNDIR="$work/$h/run" \
		DYNO_CONF="$work/$h/dyno.conf" dyno-agent -v run >>"$work/$h/agent.log" 2>&1 &
	pids[$h]=$!
	until_true 20 bash -c "ETCDCTL_API=3 etcdctl --endpoints $EP get /dyno/hosts/$h | grep -q ."
}

# metric NAME: the counter on member 1.
metric() {
	curl -s "http://127.0.0.1:$((BASE + 10))/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

count_assign() { ectl get --prefix "/dyno/assign/" --keys-only | grep -c "/$1/" || true; }
assigned_n() { [ "$(count_assign "$1")" -eq "$2" ]; }

start_etcd
for h in h1 h2 h3; do host "$h" $((N / 3 + 10)); agent "$h"; done

# 1. placement only: the app is in etcd, no host has its slug (no dynos)
p0=$(metric etcd_mvcc_put_total); t0=$(metric etcd_mvcc_txn_total)
d0=$(metric etcd_mvcc_delete_total); c0=$(metric etcd_server_proposals_committed_total)
ectl put /dyno/apps/bench-place/current '"v1"' >/dev/null
start=$(now_ms)
ectl put /dyno/apps/bench-place/formation "{\"w\":$N}" >/dev/null
until_true 30 assigned_n bench-place "$N"
end=$(now_ms)
sleep 2	# the writes after the placement (status, routes: none here)
p1=$(metric etcd_mvcc_put_total); t1=$(metric etcd_mvcc_txn_total)
d1=$(metric etcd_mvcc_delete_total); c1=$(metric etcd_server_proposals_committed_total)
echo "placement: $N dynos over 3 hosts in $((end - start)) ms (goal < 3000 ms)"
for h in h1 h2 h3; do
	echo "  $h: $(ectl get --prefix "/dyno/assign/$h/bench-place/" --keys-only | grep -c w) dynos"
done
echo "  etcd writes: $((p1 - p0)) puts, $((t1 - t0)) txns, $((d1 - d0)) deletes," \
	"$((c1 - c0)) proposals committed (2 s after, agents' renewals included)"
ectl put /dyno/apps/bench-place/formation '{"w":0}' >/dev/null
until_true 30 assigned_n bench-place 0

# 1b. release records: APPS apps x RELS releases, 4 KiB of config each
APPS=${APPS:-50}
RELS=${RELS:-20}
rss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }
placer=$(ectl get /dyno/placer --print-value-only | tr -d '"')
# rounds NAME: the median time of the placer's rounds logged since mark,
# and the bytes of its watched copy
rounds() {
	local log t n
	log=$(tail -c +"$mark" "$work/$placer/agent.log" | grep 'placer: round ')
	n=$(grep -c . <<<"$log") || { echo "$1: no round logged"; return; }
	t=$(awk '{ print $4 }' <<<"$log" | sort -n)
	echo "$1: placer round median $(sed -n "$(((n + 1) / 2))p" <<<"$t") ms" \
		"(min $(head -1 <<<"$t"), max $(tail -1 <<<"$t"), $n rounds);" \
		"watched copy $(tail -1 <<<"$log" | awk '{ print $(NF - 3) " keys, " $(NF - 1) " bytes" }')"
}
mark=$(($(stat -c %s "$work/$placer/agent.log") + 1))
sleep 5
rounds "before the records"
echo "  agents' RSS: $(for h in h1 h2 h3; do printf '%s %s KiB  ' "$h" "$(rss "${pids[$h]}")"; done)"
python3 - "$BASE" "$APPS" "$RELS" <<'PY'
import base64, http.client, json, sys
base, apps, rels = (int(a) for a in sys.argv[1:])
c = http.client.HTTPConnection("127.0.0.1", base + 10, timeout=10)
def put(k, v):
	b = json.dumps({"key": base64.b64encode(k.encode()).decode(),
	    "value": base64.b64encode(v.encode()).decode()})
	c.request("POST", "/v3/kv/put", b, {"Content-Type": "application/json"})
	r = c.getresponse()
	r.read()
	assert r.status == 200, r.status
for a in range(apps):
	app = "bench-rel%02d" % a
	for v in range(1, rels + 1):
		env = "".join("SECRET_%02d=%s\n" % (i, ("%02d" % v) * 30) for i in range(64))
		put("/dyno/apps/%s/releases/v%d" % (app, v), json.dumps({"version": v,
		    "slug": {"sha256": "0" * 64, "size": 1}, "env": env[:4096],
		    "process_types": {"web": "exec web"}, "description": "Deploy"}))
	put("/dyno/apps/%s/current" % app, '"v%d"' % rels)
	put("/dyno/apps/%s/formation" % app, '{"web":0}')
PY
echo "release records: $APPS apps x $RELS releases, $(ectl get --prefix /dyno/apps/ --print-value-only | wc -c) bytes under /dyno/apps/"
sleep 3
mark=$(($(stat -c %s "$work/$placer/agent.log") + 1))
sleep 5
rounds "with the records"
echo "  agents' RSS: $(for h in h1 h2 h3; do printf '%s %s KiB  ' "$h" "$(rss "${pids[$h]}")"; done)"
ectl del --prefix /dyno/apps/bench-rel >/dev/null
# PLACE_ONLY=1: no dynos (and none of the shared test lock's resources)
[ "${PLACE_ONLY:-0}" = 1 ] && exit 0

# 2. a host's death with real dynos: web=3 worker=3 over the hosts
for h in h1 h2 h3; do
	DYNO_ROOT="$work/$h/root" DYNO_RUNDIR="$work/$h/run" DYNO_CONF="$work/$h/dyno.conf" \
		release create "$APP" --slug t/data/dyno-manager/app >/dev/null 2>&1 ||
		bench_fail "release create on $h"
done
ectl put "/dyno/apps/$APP/formation" '{"web":3,"worker":3}' >/dev/null
up_n() {
	[ "$(ectl get --prefix "/dyno/status/$APP/" --print-value-only |
		grep -c '"state":"up"')" -eq "$1" ]
}
until_true 60 up_n 6
# a formation change to the new dyno starting (its state file, any host)
started() { compgen -G "$work/h*/root/apps/$APP/dynos/worker.4/state" >/dev/null; }
start=$(now_ms)
ectl put "/dyno/apps/$APP/formation" '{"web":3,"worker":4}' >/dev/null
until_true 30 started
echo "formation change: worker.4 starting after $(($(now_ms) - start)) ms"
until_true 60 up_n 7
ectl put "/dyno/apps/$APP/formation" '{"web":3,"worker":3}' >/dev/null
until_true 60 up_n 6
victim=h1
[ "$(ectl get /dyno/placer --print-value-only)" = '"h1"' ] && victim=h2
running_on() {
	local f n=0
	for f in "$work/$1/root/apps/$APP"/dynos/*/state; do
		[ -f "$f" ] && grep -qx -e up -e starting "$f" && n=$((n + 1))
	done
	echo "$n"
}
none_on() { [ "$(running_on "$1")" -eq 0 ]; }
# routed: another host's routes file names 3 web dynos, none on the victim
routed() {
	local f="$work/$2/root/apps/$APP/routes" dyno addr
	[ "$(wc -l <"$f")" -eq 3 ] || return 1
	while read -r dyno addr; do
		[ "$(curl -sf -m 1 "http://$addr/")" = "$dyno hello" ] || return 1
	done <"$f"
	! ectl get --prefix "/dyno/status/$APP/" --print-value-only | grep -q "\"host\":\"$1\""
}
other=h3
echo "host death: kill -9 of $victim's agent ($(running_on "$victim") dynos there)"
start=$(now_ms)
kill -KILL "${pids[$victim]}"
until_true 20 none_on "$victim"
fenced=$(now_ms)
# its lease ends: its status entries go (until then they still say up)
gone() {
	[ -z "$(ectl get "/dyno/hosts/$1")" ] &&
		! ectl get --prefix "/dyno/status/$APP/" --print-value-only |
		grep -q "\"host\":\"$1\""
}
until_true 30 gone "$victim"
expired=$(now_ms)
until_true 40 up_n 6
up=$(now_ms)
until_true 20 routed "$victim" "$other"
routed_at=$(now_ms)
echo "  fenced (its dynos stopped) after $((fenced - start)) ms (goal: within the 10 s lease)"
echo "  its lease ended (seen by the others) after $((expired - start)) ms"
echo "  formation up elsewhere after $((up - start)) ms," \
	"routed from $other after $((routed_at - start)) ms (goal < 15000 ms)"
