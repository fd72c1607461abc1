#!/usr/bin/env bats
# dyno-cycle: restarts and daily cycling through a real dyno-manager.
bats_require_minimum_version 1.5.0
load helper/common

APPNAME=dynotest-cycle

setup() {
	dyno_setup
	printf '[dyno]\ngrace = 3s\n[manager]\nrestart_backoff = 0, 1h\nnetwork = host\n' | conf_put
	LOG="$DYNO_TEST_DIR/manager.log"
	SLUG="$DYNO_TEST_DIR/slug"
	cp -r "$TOP/t/data/dyno-manager/app" "$SLUG"
	# a name of its own: t/0700 counts its web.py processes meanwhile
	mv "$SLUG/web.py" "$SLUG/cycleweb.py"
	printf 'web: exec python3 cycleweb.py\nworker: exec sleep 4242.201\nbad: exit 3\n' \
		>"$SLUG/Procfile"
	APPDIR="$DYNO_ROOT/apps/$APPNAME"
}

teardown() {
	if [ -n "${MGR:-}" ]; then
		kill -TERM "$MGR" 2>/dev/null
		wait_for 30 bash -c "! kill -0 $MGR 2>/dev/null" || kill -KILL "$MGR"
	fi
	[ -n "${WATCH:-}" ] && kill "$WATCH" 2>/dev/null
	stop_app_dynos "$APPNAME"
	dyno_teardown
}

need_dynos() {
	require_root
	[ -x "$TOP/bin/dyno-run" ] || skip "dyno-run is not built"
}

# start APP with formation ARGS and wait until every dyno is up
start_app() {
	release create "$APPNAME" --slug "$SLUG" >/dev/null 2>&1
	dyno-manager scale "$APPNAME" "$@" >/dev/null
	dyno-manager "$APPNAME" >>"$LOG" 2>&1 3>&- &
	MGR=$!
	wait_for 60 all_up
}

all_up() {
	local f n=0
	for f in "$APPDIR"/dynos/*/state; do
		[ "$(cat "$f")" = up ] || return 1
		n=$((n + 1))
	done
	[ "$n" -gt 0 ]
}

pid_of() {
	cat "$APPDIR/dynos/$1/pid"
}

@test "a named dyno is restarted by the manager; --wait returns once it is up" {
	need_dynos
	start_app web=2 worker=1
	web1=$(pid_of web.1)
	web2=$(pid_of web.2)
	worker1=$(pid_of worker.1)
	run -0 dyno-cycle --wait "$APPNAME" web.1
	assert_equal "$(cat "$APPDIR/dynos/web.1/state")" up
	[ "$(pid_of web.1)" != "$web1" ]
	assert_equal "$(pid_of web.2)" "$web2"
	assert_equal "$(pid_of worker.1)" "$worker1"
	grep -q 'heroku\[web.1\]: Restarting' "$LOG"
}

@test "a type restarts all its dynos; no operand restarts the whole app" {
	need_dynos
	start_app web=2 worker=1
	worker1=$(pid_of worker.1)
	run -0 dyno-cycle --wait "$APPNAME" web
	assert_equal "$(pid_of worker.1)" "$worker1"
	assert_equal "$(grep -c 'Restarting' "$LOG")" 2
	run -0 dyno-cycle --wait "$APPNAME"
	[ "$(pid_of worker.1)" != "$worker1" ]
	assert_equal "$(grep -c 'Restarting' "$LOG")" 5
}

@test "--wait names a dyno that crashes instead of coming up" {
	need_dynos
	port=$(free_port)
	printf 'web: exec python3 cycleweb.py\nworker: exec python3 crash_if_port.py\n' \
		>"$SLUG/Procfile"
	release create "$APPNAME" --slug "$SLUG" >/dev/null 2>&1
	release config set "$APPNAME" CRASH_PORT="$port" >/dev/null 2>&1
	start_app web=1 worker=1
	# from now on the worker crashes when it starts (dynos share the host
	# network by default): the port the test listens on tells it to
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
time.sleep(120)' "$port" 3>&- &
	WATCH=$!
	wait_for 10 python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$port"
	run -1 --separate-stderr dyno-cycle --wait --timeout 60s "$APPNAME" worker.1
	assert_equal "$stderr" "dyno-cycle: $APPNAME: worker.1 crashed instead of coming up"
}

# fewest_up: the fewest web dynos up at any moment after all three first
# were, replaying the manager's "State changed" events in their order
# (routes lists exactly the web dynos that are up: no preboot here).
fewest_up() {
	awk '/heroku\[web\.[0-9]+\]: State changed from / {
		if ($(NF - 2) == "up") n--
		if ($NF == "up") n++
		if (n == 3) full = 1
		if (full && (min == "" || n < min)) min = n
	} END { print min }' "$LOG"
}

@test "--rolling keeps at least one web dyno routed throughout" {
	need_dynos
	start_app web=3
	wait_for 30 bash -c "[ \$(wc -l <'$APPDIR/routes') -eq 3 ]"
	old=$(cat "$APPDIR"/dynos/web.*/pid | sort | tr '\n' ' ')
	run -0 dyno-cycle --rolling "$APPNAME" web
	new=$(cat "$APPDIR"/dynos/web.*/pid | sort | tr '\n' ' ')
	[ "$old" != "$new" ]
	assert_equal "$(grep -c 'Restarting' "$LOG")" 3
	wait_for 10 bash -c "[ \$(wc -l <'$APPDIR/routes') -eq 3 ]"
	# one dyno at a time: two of the three stayed up through every event
	assert_equal "$(fewest_up)" 2
}

@test "--daily cycles dynos once they are old enough, never before, one at a time" {
	need_dynos
	start_app web=1 worker=2
	run -0 dyno-cycle --daily --max-age 1h --jitter 0 "$APPNAME"
	assert_output ""
	run -0 dyno-cycle --daily --dry-run --max-age 1h --jitter 0 "$APPNAME"
	assert_line --regexp "^$APPNAME web\\.1: up [0-9]+s, due after 1h0m: not yet$"
	sleep 2
	run -0 dyno-cycle --daily --dry-run --max-age 2s --jitter 0 "$APPNAME"
	assert_line --regexp "^$APPNAME worker\\.2: up [0-9]+s, due after 2s: would cycle$"
	# stdout stays quiet (cron mails it) unless -v asks
	run -0 --separate-stderr dyno-cycle --daily --max-age 2s --jitter 0 "$APPNAME"
	assert_output ""
	assert_equal "$stderr" ""
	wait_for 30 grep -q "Cycling" "$LOG"
	first=$(grep -o 'heroku\[[a-z]*\.[0-9]*\]: Cycling' "$LOG" | head -1 | cut -d'[' -f2 | cut -d']' -f1)
	[[ "$first" =~ ^(web|worker)\.[12]$ ]]
	# a second run while that dyno restarts cycles nothing more
	wait_for 60 all_up
	assert_equal "$(grep -c 'Cycling' "$LOG")" 1
	# the cycled dyno's clock was reset: it is not due again
	run -0 dyno-cycle --daily --dry-run --max-age 2s --jitter 0 "$APPNAME"
	assert_line --regexp "^$APPNAME $first: up [01]s, due after 2s: not yet$"
}

@test "--daily jitter is drawn once per dyno start and kept" {
	need_dynos
	start_app worker=1
	run -0 dyno-cycle --daily --dry-run --max-age 1h --jitter 10h "$APPNAME"
	first=$output
	run -0 dyno-cycle --daily --dry-run --max-age 1h --jitter 10h "$APPNAME"
	assert_equal "$(echo "$output" | sed 's/up [0-9]*s/up/')" \
		"$(echo "$first" | sed 's/up [0-9]*s/up/')"
}

@test "clear errors: no manager, stale pid file, unknown dyno, bad usage" {
	release create "$APPNAME" --slug "$SLUG" >/dev/null 2>&1
	run -69 --separate-stderr dyno-cycle "$APPNAME"
	assert_equal "$stderr" "dyno-cycle: $APPNAME: no dyno-manager is running for this app"
	mkdir -p "$DYNO_RUNDIR/apps/$APPNAME"
	echo 999999999 >"$DYNO_RUNDIR/apps/$APPNAME/manager.pid"
	run -69 --separate-stderr dyno-cycle "$APPNAME" web.1
	assert_equal "$stderr" "dyno-cycle: $APPNAME: stale pid file $DYNO_RUNDIR/apps/$APPNAME/manager.pid: its dyno-manager is not running"
	echo $$ >"$DYNO_RUNDIR/apps/$APPNAME/manager.pid"
	run -66 --separate-stderr dyno-cycle "$APPNAME" web.7
	assert_equal "$stderr" "dyno-cycle: $APPNAME: no dyno or process type \"web.7\""
	run -66 --separate-stderr dyno-cycle dynotest-nosuch
	assert_equal "$stderr" "dyno-cycle: dynotest-nosuch: no such app"
	run -64 dyno-cycle --daily
	run -64 dyno-cycle
	run -64 --separate-stderr dyno-cycle --daily --max-age soon --all-apps
	assert_equal "$stderr" "dyno-cycle: --max-age: \"soon\": expected a duration, like 24h or 90s"
}

@test "--daily --all-apps: an app without manager is no error, named with -v" {
	release create "$APPNAME" --slug "$SLUG" >/dev/null 2>&1
	release create dynotest-cycle-b --slug "$SLUG" >/dev/null 2>&1
	run -0 --separate-stderr dyno-cycle --daily --all-apps
	assert_output ""
	assert_equal "$stderr" ""
	run -0 --separate-stderr dyno-cycle --daily --all-apps -v
	assert_output ""
	[[ "$stderr" == *"dynotest-cycle: no dyno-manager is running"* ]]
	[[ "$stderr" == *"dynotest-cycle-b: no dyno-manager is running"* ]]
	# an app named on the command line is still an error
	run -69 --separate-stderr dyno-cycle --daily dynotest-cycle-b
	assert_equal "$stderr" "dyno-cycle: dynotest-cycle-b: no dyno-manager is running for this app"
}
