#!/usr/bin/env bats
# dyno-manager APP: the lifecycle as Heroku's under stress: fast releases,
# resizes, crashes right after boot, bursts of log lines.
bats_require_minimum_version 1.5.0
load helper/common
load helper/manager
load helper/logplexd

APPNAME=dynotest-life

setup() {
	manager_setup
	conf_put <<-'C'
	[dyno]
	grace = 20s
	boot_timeout = 30s
	[manager]
	restart_backoff = 0, 1h
	network = host
	C
}

teardown() {
	manager_teardown 40
	lp_cleanup
	[ -z "${SPACE:-}" ] || space-net destroy "$SPACE" --force >/dev/null 2>&1 || true
	dyno_teardown
}

# dyno_runs: "COUNT NAME" for each dyno name among the manager's dyno-runs.
dyno_runs() {
	local p
	for p in $(pgrep -P "$MGR"); do
		tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | grep -A1 -x -- --name | tail -n 1
	done | sort | uniq -c | awk '{print $1, $2}'
}

# one_each NAMES...: exactly one dyno-run for each name, no other.
one_each() {
	[ "$(dyno_runs)" = "$(printf '1 %s\n' "$@")" ]
}

# set_current vN: point the app's current release at vN, atomically.
set_current() {
	ln -sfn "releases/$1" "$APPDIR/current.tmp"
	mv -T "$APPDIR/current.tmp" "$APPDIR/current"
}

@test "quick successive releases: no R12, never two instances of a dyno once the old ones stopped" {
	local v
	deploy
	dyno-manager scale "$APPNAME" web=2 worker=1 >/dev/null
	# v2..v9 made before the manager runs, then rolled out faster than
	# `release` can make them: each replacement is stopped 0 to 14 ms
	# after its start, while its dyno is still being built.
	for v in 2 3 4 5 6 7 8 9; do
		release config set "$APPNAME" "A=$v" >/dev/null 2>&1
	done
	set_current v1
	start_mgr
	wait_for 60 is_up web.1
	wait_for 60 is_up web.2
	wait_for 60 is_up worker.1
	for v in 2 3 4 5 6 7 8 9; do
		set_current "v$v"
		kill -HUP "$MGR"
		sleep "0.00$((v * 2 - 4))"
	done
	# the stopped instances exit at once on SIGTERM: well within the
	# 20 s grace, one instance of each dyno is left, on v9
	wait_for 15 one_each web.1 web.2 worker.1
	wait_for 30 is_up web.1
	wait_for 30 is_up web.2
	assert_equal "$(cat "$APPDIR/dynos/web.1/release")" v9
	assert_equal "$(log_count "R12")" 0
	# and it stays so
	sleep 2
	run dyno_runs
	assert_output "$(printf '1 %s\n' web.1 web.2 worker.1)"
}

# mem_limit NAME: the memory limit of the running dyno NAME's cgroup.
mem_limit() {
	local f
	for f in /sys/fs/cgroup/dyno/"$APPNAME"/"$1"-*/memory.high \
	    /sys/fs/cgroup/memory/dyno/"$APPNAME"/"$1"-*/memory.limit_in_bytes; do
		[ -r "$f" ] && cat "$f" && return 0
	done
	return 1
}

@test "a resize restarts the type's dynos onto the new size; other types stay" {
	deploy
	dyno-manager scale "$APPNAME" web=1 worker=1 >/dev/null
	start_mgr
	wait_for 60 is_up web.1
	wait_for 60 is_up worker.1
	local before web1 worker1
	before=$(mem_limit worker.1)
	web1=$(cat "$APPDIR/dynos/web.1/pid")
	worker1=$(cat "$APPDIR/dynos/worker.1/pid")
	run -0 dyno-manager scale "$APPNAME" worker=1:performance-m
	wait_for 30 bash -c "[ \"\$(cat '$APPDIR/dynos/worker.1/pid')\" != $worker1 ]"
	wait_for 30 is_up worker.1
	wait_for 30 one_each web.1 worker.1
	run mem_limit worker.1
	assert_success
	[ "$output" -gt "$before" ]
	assert_equal "$(cat "$APPDIR/dynos/web.1/pid")" "$web1"
	assert_equal "$(log_count "heroku\[worker.1\]: Restarting")" 1
	run dyno-manager ps "$APPNAME"
	assert_line --regexp "^=== worker \(Performance-M\)"
}

# crash_loop MODE NET: web.1 in a space of MODE (common or private) on
# NET.0/24, its app's process or its dyno-run SIGKILLed as soon as it is
# up, CRASH_LOOPS times (10): each replacement must come up on its address
# (issue 16, point 6: one in five stayed in starting with no address).
crash_loop() {
	require_cmd ip nft
	[ -x "$TOP/bin/space-net" ] || skip "space-net is not built"
	SPACE=dynotest-life
	run -0 space-net create "$SPACE" --cidr "$2.0/24" --mode "$1"
	printf '[dyno]\ngrace = 5s\nboot_timeout = 30s\n[manager]\nrestart_backoff = 0\nnetwork = space:%s\n' "$SPACE" | conf_put
	deploy
	start_mgr
	local i p n=${CRASH_LOOPS:-10}
	for ((i = 1; i <= n; i++)); do
		wait_for 30 is_up web.1 || fail "iteration $i: web.1 is $(cat "$APPDIR/dynos/web.1/state")"
		# odd iterations: the app's process; even ones: dyno-run itself
		if [ $((i % 2)) = 1 ]; then
			wait_for 10 web_python
			p=$(web_python)
		else
			p=$(cat "$APPDIR/dynos/web.1/pid")
		fi
		kill -KILL "$p"
		wait_for 10 bash -c "! kill -0 $p 2>/dev/null"
		wait_for 30 bash -c "[ \$(grep -c 'web.1\]: State changed from crashed to starting' '$LOG') -ge $i ]"
	done
	wait_for 30 is_up web.1
	run cat "$APPDIR/dynos/web.1/addr"
	assert_output --regexp "^${2//./\\.}\\.[0-9]+:[0-9]+\$"
	assert_equal "$(log_count "R10")" 0
}

@test "a crash right after boot, 10 times in a row: the replacement always comes up (common space)" {
	crash_loop common 10.213.71
}

@test "a crash right after boot, 10 times in a row: the replacement always comes up (private space)" {
	crash_loop private 10.213.72
}

# burst N: a dyno prints N numbered lines at once; every one of them
# reaches a syslog drain (rsyslog), in order, none goes to the manager's
# stderr.  logplexd's drain buffer holds them all (a drain that keeps up).
burst() {
	local n=$1 port
	port=$(free_port)
	printf '[logs]\ndrain_buffer = %s\n' $((n + 100)) >>"$DYNO_CONF"
	printf 'web: exec python3 web.py\nburst: seq -f "line %%.0f" 1 %s; exec sleep 4242.301\n' "$n" >"$SLUG/Procfile"
	deploy
	printf 'd.0b6e4a26-7c59-4d2e-9a4b-1d2e3f405162 syslog://127.0.0.1:%s\n' \
		"$port" >"$APPDIR/drains"
	rsyslog_start "$port"
	lp_start
	dyno-manager scale "$APPNAME" web=0 burst=1 >/dev/null
	start_mgr
	wait_for 180 received_has "|burst.1|-|-|line $n"
	sed -n 's/.*|burst\.1|-|-|line //p' "$DYNO_TEST_DIR/received" >"$DYNO_TEST_DIR/got"
	seq 1 "$n" >"$DYNO_TEST_DIR/want"
	cmp "$DYNO_TEST_DIR/want" "$DYNO_TEST_DIR/got"
	assert_equal "$(log_count "app\[burst.1\]")" 0
	run grep -c "L10" "$DYNO_TEST_DIR/received"
	assert_output 0
}

@test "a burst of 3000 lines: all reach a syslog drain, in order" {
	burst 3000
}

@test "a burst of 100,000 lines: all reach a syslog drain, in order" {
	burst 100000
}
