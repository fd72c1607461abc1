# SPDX-License-Identifier: ISC
# Helpers for the logplexd and dyno-logs tests: start and stop the daemon
# (waiting on --ready-fd), send lines, and clean up every process started.
# shellcheck shell=bash

LP_PIDS=()

# lp_start [ARGS...]: run logplexd in the background, wait until ready.
lp_start() {
	local fifo="$DYNO_TEST_DIR/ready.$RANDOM"
	mkfifo "$fifo"
	logplexd --ready-fd 4 "$@" 4>"$fifo" 3>&- 2>>"$DYNO_TEST_DIR/logplexd.err" &
	LP_PID=$!
	LP_PIDS+=("$LP_PID")
	if ! read -r -t 30 _ <"$fifo"; then
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

# rsyslog_start PORT: Debian's rsyslogd with imtcp on 127.0.0.1:PORT,
# writing each message's RFC 5424 fields, '|'-separated, to
# $DYNO_TEST_DIR/received.  Its own config, work folder and pid file.
rsyslog_start() {
	local port=$1 dir="$DYNO_TEST_DIR/rsyslog"
	mkdir -p "$dir/work"
	cat >"$dir/rsyslog.conf" <<-CONF
		global(workDirectory="$dir/work")
		module(load="imtcp")
		template(name="fields" type="string"
		    string="%pri%|%timereported:::date-rfc3339%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\n")
		ruleset(name="drain") {
		    action(type="omfile" file="$DYNO_TEST_DIR/received" template="fields")
		}
		input(type="imtcp" address="127.0.0.1" port="$port" ruleset="drain")
	CONF
	rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslog.pid" \
		>"$dir/out" 2>&1 3>&- &
	RSYSLOG_PID=$!
	lp_track "$RSYSLOG_PID"
	wait_for 20 port_open "$port"
}

rsyslog_stop() {
	kill -TERM "$RSYSLOG_PID" 2>/dev/null || true
	wait "$RSYSLOG_PID" 2>/dev/null || true
}

# port_open PORT: something listens on 127.0.0.1:PORT.
port_open() {
	python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1"
}

# received_has TEXT: rsyslog wrote a message containing TEXT.
received_has() {
	grep -qF -- "$1" "$DYNO_TEST_DIR/received" 2>/dev/null
}

# lp_conf KEY=VALUE...: a [logs] section for dyno.conf.
lp_conf() {
	printf '[logs]\n' | conf_put
	printf '%s\n' "$@" >>"$DYNO_CONF"
}

# make_cert NAME [SAN]: a self-signed certificate, by default for localhost
# and 127.0.0.1: $DYNO_TEST_DIR/NAME.pem and NAME.key.
make_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -days 2 -subj /CN=localhost \
		-addext "subjectAltName=${2:-DNS:localhost,IP:127.0.0.1}" \
		-keyout "$DYNO_TEST_DIR/$1.key" -out "$DYNO_TEST_DIR/$1.pem" 2>/dev/null
}

# https_start: the recording HTTPS receiver; sets HTTPS_PORT.
https_start() {
	mkdir -p "$DYNO_TEST_DIR/https"
	python3 "$TOP/t/data/logplexd/https-receiver.py" "$DYNO_TEST_DIR/https" \
		"$DYNO_TEST_DIR/server.pem" "$DYNO_TEST_DIR/server.key" \
		2>"$DYNO_TEST_DIR/https/err" 3>&- &
	lp_track $!
	wait_for 20 test -e "$DYNO_TEST_DIR/https/port"
	# shellcheck disable=SC2034 # used by the tests that load this file
	HTTPS_PORT=$(cat "$DYNO_TEST_DIR/https/port")
}

# requests_at_least N: the receiver has recorded N requests.
requests_at_least() {
	[ -e "$DYNO_TEST_DIR/https/requests" ] &&
		[ "$(wc -l <"$DYNO_TEST_DIR/https/requests")" -ge "$1" ]
}

# frames: the recorded requests, split into frames (frames.py).
frames() {
	python3 "$TOP/t/data/logplexd/frames.py" <"$DYNO_TEST_DIR/https/requests"
}
