# SPDX-License-Identifier: ISC
# Loaded by the dyno-manager APP tests after helper/common: an app named
# $APPNAME, its manager in the background, and the state files it writes.
# shellcheck shell=bash

# manager_setup: a fresh state tree for $APPNAME with a dyno.conf of short
# times (a test may write its own over it); LOG (the manager's output),
# SLUG (a copy of t/data/dyno-manager/app) and APPDIR.  Skips without root
# or dyno-run.
manager_setup() {
	require_root
	[ -x "$TOP/bin/dyno-run" ] || skip "dyno-run is not built"
	dyno_setup
	conf_put <<-'C'
	[dyno]
	grace = 3s
	boot_timeout = 20s
	[manager]
	restart_backoff = 0, 4s, 1h
	network = host
	C
	LOG="$DYNO_TEST_DIR/manager.log"
	SLUG="$DYNO_TEST_DIR/slug"
	cp -r "$TOP/t/data/dyno-manager/app" "$SLUG"
	APPDIR="$DYNO_ROOT/apps/$APPNAME"
	MGR=
}

# manager_teardown [SECONDS]: SIGTERM the manager, SIGKILL it if it is
# not gone within SECONDS (default 30: more than the grace), then stop
# what is left of the app's dynos by their cgroups.
manager_teardown() {
	if [ -n "${MGR:-}" ]; then
		kill -TERM "$MGR" 2>/dev/null
		wait_for "${1:-30}" bash -c "! kill -0 $MGR 2>/dev/null" ||
			kill -KILL "$MGR"
	fi
	stop_app_dynos "$APPNAME"
}

deploy() {
	release create "$APPNAME" --slug "$SLUG" >/dev/null 2>&1
}

start_mgr() {
	dyno-manager "$APPNAME" >>"$LOG" 2>&1 3>&- &
	MGR=$!
}

# stop_mgr: SIGTERM and wait; its exit status in STATUS.
stop_mgr() {
	kill -TERM "$MGR"
	STATUS=0
	wait "$MGR" || STATUS=$?
	export STATUS
	MGR=
}

state_of() { cat "$APPDIR/dynos/$1/state" 2>/dev/null; }
pid_of() { cat "$APPDIR/dynos/$1/pid" 2>/dev/null; }
is_up() { [ "$(state_of "$1")" = up ]; }
# up_again DYNO OLDPID: up with another instance.
up_again() {
	is_up "$1" && [ "$(pid_of "$1")" != "$2" ] && [ "$(pid_of "$1")" != 0 ]
}
# state_is DYNO STATE
state_is() { [ "$(state_of "$1")" = "$2" ]; }

# log_count RE: how many lines of the log match the basic RE.
log_count() { grep -c -- "$1" "$LOG" || true; }
# log_has_n N RE: at least N lines match the basic RE.
log_has_n() { [ "$(log_count "$2")" -ge "$1" ]; }
# log_has ERE: a line matches the extended RE.
log_has() { grep -E -- "$1" "$LOG"; }

# web_python: the pid of web.1's python3, from its dyno's cgroup.
web_python() {
	local f p
	for f in /sys/fs/cgroup/dyno/"$APPNAME"/web.1-*/cgroup.procs \
	    /sys/fs/cgroup/pids/dyno/"$APPNAME"/web.1-*/cgroup.procs; do
		[ -r "$f" ] || continue
		while read -r p; do
			[ "$(cat "/proc/$p/comm" 2>/dev/null)" = python3 ] && echo "$p" && return 0
		done <"$f"
	done
	return 1
}
