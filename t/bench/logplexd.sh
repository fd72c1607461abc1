#!/bin/bash
# SPDX-License-Identifier: ISC
# logplexd throughput: lines/s and lines per CPU-second of the daemon,
# (a) datagrams from several producers into history only, and (b) an
# octet-counted TCP stream through one syslog drain into a counting sink,
# side by side with rsyslog (imtcp -> omfwd, octet-counted) on the same
# stream into the same kind of sink.  Run by `make bench`.
set -euo pipefail

# shellcheck source=t/helper/bench.bash
. "$(dirname "$0")/../helper/bench.bash"
bench_build
bench_helpers logplex-send logplex-sink
bench_need rsyslogd rsyslog
PRODUCERS=${PRODUCERS:-4}
LINES=${LINES:-500000}		# per producer
TOTAL=$((PRODUCERS * LINES))
TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d /tmp/dynotest-bench-XXXXXX)
export DYNO_ROOT="$WORK/root" DYNO_RUNDIR="$WORK/run" DYNO_CONF="$WORK/dyno.conf"
mkdir -p "$DYNO_ROOT/apps/bench" "$DYNO_RUNDIR"
# TCP input takes frames with an input token only (logplexd(8)).
TOKEN=t.3f0c6a52-9d41-4b7e-8a2f-6c1d0e9b7a45
echo "$TOKEN app" >"$DYNO_ROOT/apps/bench/log-tokens"
: >"$DYNO_CONF"
PIDS=()
LP_WRAP=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# cpu_ticks PID: user+system clock ticks of every thread so far.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# wait_count FILE WANT: until FILE holds WANT, or it stops growing for 5 s.
wait_count() {
	local last=-1 same=0 n
	while :; do
		n=$(cat "$1" 2>/dev/null || echo 0)
		[ "$n" -ge "$2" ] && return 0
		if [ "$n" = "$last" ]; then
			same=$((same + 1))
			[ "$same" -ge 50 ] && return 1
		else
			same=0
		fi
		last=$n
		sleep 0.1
	done
}

start_logplexd() {
	local fifo="$WORK/ready"
	rm -f "$fifo"
	mkfifo "$fifo"
	"${LP_WRAP[@]}" logplexd --ready-fd 4 "$@" 4>"$fifo" 2>>"$WORK/logplexd.err" &
	LP=$!
	PIDS+=("$LP")
	read -r _ <"$fifo"
}

stop_pid() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# received: logplexd's count of accepted lines (SIGUSR1 dump).
lp_received() {
	kill -USR1 "$LP"
	sleep 0.05
	sed -n 's/.*received=\([0-9]*\).*/\1/p' "$WORK/logplexd.err" | tail -1
}

# producers ARGS...: PRODUCERS logplex-send processes at once.
producers() {
	local i pids=() app=bench src=app
	# Over TCP the token stands where SOURCE goes, and names the app.
	[ "${1:-}" = -T ] && app=host src=$TOKEN
	for ((i = 1; i <= PRODUCERS; i++)); do
		logplex-send "$@" -n "$LINES" "$app" "$src" "web.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
}

report() {	# NAME LINES MS TICKS
	local cpu_ms=$(($4 * 1000 / TCK))
	[ "$cpu_ms" -gt 0 ] || cpu_ms=1
	printf '%-34s %9d lines %7d ms %7d cpu-ms %10d lines/s %10d lines/cpu-s\n' \
		"$1" "$2" "$3" "$cpu_ms" $(($2 * 1000 / $3)) $(($2 * 1000 / cpu_ms))
	echo $(($2 * 1000 / cpu_ms)) >"$WORK/$5"
}

bench_history() {	# NAME [logplex-send ARGS...]
	local t0 c0 ms name=$1
	shift
	c0=$(cpu_ticks "$LP")
	t0=$(now_ms)
	producers "$@"
	while [ "$(lp_received)" -lt "$TOTAL" ]; do sleep 0.05; done
	ms=$(($(now_ms) - t0))
	report "$name" "$TOTAL" "$ms" $(($(cpu_ticks "$LP") - c0)) hist
	stop_pid "$LP"
}

# Unix datagram queues hold net.unix.max_dgram_qlen datagrams (10 by
# default): producers then block and wake per handful of lines, and the
# kernel's wakeups dominate.  With root, a private network namespace with
# a deeper queue shows logplexd's own cost; the host keeps its setting.
bench_histories() {
	local lport
	start_logplexd
	bench_history "logplexd: datagrams -> history"
	if [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
		# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
		LP_WRAP=(unshare -n sh -c 'sysctl -qw net.unix.max_dgram_qlen=1024 && exec "$0" "$@"')
		start_logplexd
		LP_WRAP=()
		bench_history "  same, max_dgram_qlen=1024"
	fi
	start_logplexd
	bench_history "logplexd: unix stream -> history" -S
	lport=$(free_port)
	start_logplexd --listen "127.0.0.1:$lport"
	bench_history "logplexd: tcp -> history" -T "127.0.0.1:$lport"
}

bench_logplexd_drain() {
	local sink lport t0 c0 ms n
	sink=$(free_port)
	lport=$(free_port)
	logplex-sink "$sink" "$WORK/sink-lp" &
	PIDS+=($!)
	echo "d.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 syslog://127.0.0.1:$sink" \
		>"$DYNO_ROOT/apps/bench/drains"
	start_logplexd --listen "127.0.0.1:$lport"
	c0=$(cpu_ticks "$LP")
	t0=$(now_ms)
	producers -T "127.0.0.1:$lport"
	wait_count "$WORK/sink-lp" "$TOTAL" || true
	ms=$(($(now_ms) - t0))
	n=$(cat "$WORK/sink-lp")
	report "logplexd: tcp -> syslog drain" "$n" "$ms" \
		$(($(cpu_ticks "$LP") - c0)) lp
	kill -USR1 "$LP"
	sleep 0.1
	grep '^drain ' "$WORK/logplexd.err" | tail -1 | sed 's/^/  /'
	stop_pid "$LP"
	rm -f "$DYNO_ROOT/apps/bench/drains"
}

bench_rsyslog() {
	local sink rport t0 c0 ms n
	command -v rsyslogd >/dev/null || { echo "rsyslogd: not installed"; return; }
	sink=$(free_port)
	rport=$(free_port)
	logplex-sink "$sink" "$WORK/sink-rs" &
	PIDS+=($!)
	mkdir -p "$WORK/rsyslog"
	cat >"$WORK/rsyslog/conf" <<-CONF
		global(workDirectory="$WORK/rsyslog")
		module(load="imtcp")
		ruleset(name="fwd") {
		    action(type="omfwd" target="127.0.0.1" port="$sink" protocol="tcp"
		        tcp_framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
		}
		input(type="imtcp" address="127.0.0.1" port="$rport" ruleset="fwd")
	CONF
	rsyslogd -n -f "$WORK/rsyslog/conf" -i "$WORK/rsyslog/pid" 2>"$WORK/rsyslog/err" &
	RS=$!
	PIDS+=("$RS")
	until python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$rport" 2>/dev/null; do
		sleep 0.05
	done
	c0=$(cpu_ticks "$RS")
	t0=$(now_ms)
	producers -T "127.0.0.1:$rport"
	wait_count "$WORK/sink-rs" "$TOTAL" || true
	ms=$(($(now_ms) - t0))
	n=$(cat "$WORK/sink-rs")
	report "rsyslog:  tcp -> omfwd" "$n" "$ms" $(($(cpu_ticks "$RS") - c0)) rs
	stop_pid "$RS"
}

echo "$PRODUCERS producers x $LINES lines ($TOTAL) on $(nproc) cores"
bench_histories
bench_logplexd_drain
bench_rsyslog
if [ -s "$WORK/rs" ]; then
	awk -v lp="$(cat "$WORK/lp")" -v rs="$(cat "$WORK/rs")" -v h="$(cat "$WORK/hist")" 'BEGIN {
		printf "ratio logplexd/rsyslog, lines per CPU-second (drain path): %.2fx (goal 2x)\n", lp / rs
		printf "logplexd tcp -> history: %.2fM lines per CPU-second\n", h / 1e6
	}'
fi
