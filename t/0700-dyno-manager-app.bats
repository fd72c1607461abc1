#!/usr/bin/env bats
# dyno-manager APP with the real dyno-run: formation, states, routes, restarts.
bats_require_minimum_version 1.5.0
load helper/common
load helper/manager

APPNAME=dynotest-mgr

setup() {
	manager_setup
}

teardown() {
	manager_teardown
	dyno_teardown
}

routes_count() {
	[ "$(wc -l <"$APPDIR/routes" 2>/dev/null)" -eq "$1" ]
}

# no_cgroups APP: no cgroup folder of APP is left, in any hierarchy
no_cgroups() {
	[ -z "$(dyno_cgroup_dirs "$1")" ]
}

# count_is N ERE: N processes of this test's dynos match ERE
count_is() {
	[ "$(app_pids "$APPNAME" "$2" | wc -l)" -eq "$1" ]
}

# every route answers with its own dyno name
check_routes() {
	local name addr
	while read -r name addr; do
		run curl -sf "http://$addr/"
		assert_output --partial "$name "
	done <"$APPDIR/routes"
}

@test "the formation starts; web dynos are up once they bind PORT and routed" {
	deploy
	dyno-manager scale "$APPNAME" web=2 worker=1 >/dev/null
	start_mgr
	wait_for 60 is_up web.1
	wait_for 60 is_up web.2
	wait_for 60 is_up worker.1
	wait_for 10 routes_count 2
	check_routes
	run grep -c '^worker\.1 ' "$APPDIR/routes"
	assert_output 0
	assert_equal "$(cat "$APPDIR/dynos/web.1/release")" v1
	run dyno-manager ps "$APPNAME"
	assert_line --index 0 "=== web (Standard-1X): exec python3 web.py (2)"
	assert_line --regexp '^web\.1: up [0-9/]+ [0-9:]+ \+0000 \(~ [0-9]+s ago\)$'
	assert_line --regexp '^worker\.1: up '
	wait_for 10 log_has_n 1 "heroku\[web.1\]: State changed from starting to up"
	wait_for 10 log_has_n 1 "app\[worker.1\]: worker worker.1 says hello"
	stop_mgr
	assert_equal "$STATUS" 0
	assert_equal "$(state_of web.1)" down
	assert_equal "$(wc -c <"$APPDIR/routes")" 0
	# nothing is left of the dynos' cgroups, nor of the app's folder
	no_cgroups "$APPNAME"
}

@test "scaling starts and stops only the difference, highest numbers first" {
	deploy
	dyno-manager scale "$APPNAME" web=1 worker=2 >/dev/null
	start_mgr
	wait_for 60 is_up web.1
	wait_for 60 is_up worker.2
	web1=$(cat "$APPDIR/dynos/web.1/pid")
	worker1=$(cat "$APPDIR/dynos/worker.1/pid")
	run dyno-manager scale "$APPNAME" web+2 worker-1
	assert_success
	assert_output "Scaled $APPNAME to web@3:Standard-1X worker@1:Standard-1X"
	wait_for 60 is_up web.3
	wait_for 60 routes_count 3
	wait_for 30 bash -c "[ ! -e '$APPDIR/dynos/worker.2' ]"
	assert_equal "$(cat "$APPDIR/dynos/web.1/pid")" "$web1"
	assert_equal "$(cat "$APPDIR/dynos/worker.1/pid")" "$worker1"
	check_routes
	dyno-manager scale "$APPNAME" web=1 >/dev/null
	wait_for 30 routes_count 1
	run cat "$APPDIR/routes"
	assert_output --regexp '^web\.1 127\.0\.0\.1:[0-9]+$'
	assert_equal "$(cat "$APPDIR/dynos/web.1/pid")" "$web1"
	assert_equal "$(cat "$APPDIR/dynos/worker.1/pid")" "$worker1"
	wait_for 10 log_has_n 1 "heroku\[web.3\]: State changed from up to down"
}

@test "start_parallel = 1: a scale-up sets its dynos up one after the other, in order" {
	sed -i '/^\[manager\]/a start_parallel = 1' "$DYNO_CONF"
	deploy
	dyno-manager scale "$APPNAME" web=0 worker=3 >/dev/null
	start_mgr
	wait_for 60 is_up worker.3
	# before: all three started at once, then came up in any order
	run bash -c "grep -o 'worker\.[0-9]\]: State changed from [a-z]* to [a-z]*' '$LOG' | sed 's/].*from / /; s/ to / /'"
	assert_output $'worker.1 down starting\nworker.1 starting up\nworker.2 down starting\nworker.2 starting up\nworker.3 down starting\nworker.3 starting up'
	stop_mgr
	assert_equal "$STATUS" 0
}

@test "a crashing dyno restarts at once, then after its cool-off, then waits" {
	printf 'web: exec python3 web.py\ncrasher: echo crashing; exit 0\n' >"$SLUG/Procfile"
	deploy
	dyno-manager scale "$APPNAME" web=0 crasher=1 >/dev/null
	start_mgr
	wait_for 30 log_has_n 2 "crasher.1\]: State changed from crashed to starting"
	wait_for 30 log_has_n 3 "crasher.1\]: State changed from [a-z]* to crashed"
	# the first restart came at once; the second after 2 to 4 s
	t1=$(grep "crasher.1\]: State changed from [a-z]* to crashed" "$LOG" | sed -n 2p | cut -c12-26)
	t2=$(grep "crasher.1\]: State changed from crashed to starting" "$LOG" | sed -n 2p | cut -c12-26)
	gap=$(python3 -c "import sys; a,b=[sum(float(x)*m for x,m in zip(t.split(':'),(3600,60,1))) for t in sys.argv[1:]]; print(b-a)" "$t1" "$t2")
	python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 1.9 else 1)" "$gap"
	# the third cool-off is 30 to 60 min (t/unit/dyno-manager-life.c
	# proves the schedule without waiting): crashed, not starting
	wait_for 10 state_is crasher.1 crashed
	assert_equal "$(log_count "crasher.1\]: State changed from crashed to starting")" 2
	run dyno-manager ps "$APPNAME"
	assert_line --regexp '^crasher\.1: crashed '
}

@test "R10: a web process that never binds PORT is killed and crashed" {
	printf '[dyno]\ngrace = 3s\nboot_timeout = 2s\n[manager]\nrestart_backoff = 0, 1h\nnetwork = host\n' | conf_put
	printf 'web: echo not listening; exec sleep 4242.102\n' >"$SLUG/Procfile"
	deploy
	start_mgr
	wait_for 30 log_has_n 1 "heroku\[web.1\]: Error R10 (Boot timeout) -> Web process failed to bind to \$PORT within 2 seconds of launch"
	wait_for 30 log_has_n 1 "heroku\[web.1\]: Stopping process with SIGKILL"
	wait_for 30 log_has_n 1 "heroku\[web.1\]: Process exited with status 137"
	wait_for 30 log_has_n 1 "heroku\[web.1\]: State changed from starting to crashed"
	assert_equal "$(wc -c <"$APPDIR/routes")" 0
	# dyno-run was killed outright: the manager removes its cgroup
	wait_for 15 no_cgroups "$APPNAME/web.1-*"
}

# undone REL INFO: no cgroup folder of REL in any hierarchy, no INFO file
# and no record of the app's dynos left in DYNO_RUNDIR/dynos.
undone() {
	! compgen -G "/sys/fs/cgroup/$1" >/dev/null &&
		! compgen -G "/sys/fs/cgroup/*/$1" >/dev/null &&
		[ ! -e "$2" ] &&
		[ -z "$(ls "$DYNO_RUNDIR/dynos/$APPNAME" 2>/dev/null)" ]
}

@test "a dyno-run killed outright by pid: the manager undoes its cgroups, info file and record within 5 s" {
	printf '[dyno]\ngrace = 3s\n[manager]\nrestart_backoff = 1h\nnetwork = host\n' | conf_put
	deploy
	dyno-manager scale "$APPNAME" web=0 worker=1 >/dev/null
	start_mgr
	wait_for 30 is_up worker.1
	local info pid rel
	info=$(ls "$DYNO_RUNDIR/apps/$APPNAME/info/"worker.1.*)
	wait_for 30 grep -q '^cgroup=' "$info"
	pid=$(sed -n 's/^pid=//p' "$info")
	rel=$(sed -n 's/^cgroup=//p' "$info")
	[ -n "$(ls "$DYNO_RUNDIR/dynos/$APPNAME")" ]
	kill -KILL "$pid"
	wait_for 30 log_has_n 1 "heroku\[worker.1\]: Process exited with status 137"
	# no restart for up to an hour: the manager alone undoes it
	wait_for 5 undone "$rel" "$info"
}

@test "a new release restarts every dyno onto the new slug and env" {
	deploy
	dyno-manager scale "$APPNAME" web=2 worker=1 >/dev/null
	start_mgr
	wait_for 60 routes_count 2
	run curl -sf "http://$(awk '$1 == "web.1" {print $2}' "$APPDIR/routes")/"
	assert_output "web.1 hello"
	release config set "$APPNAME" GREETING=bonjour >/dev/null 2>&1
	wait_for 60 bash -c "grep -q v2 '$APPDIR/dynos/web.1/release' && grep -q v2 '$APPDIR/dynos/web.2/release'"
	wait_for 60 is_up web.1
	wait_for 60 is_up web.2
	wait_for 60 routes_count 2
	run curl -sf "http://$(awk '$1 == "web.1" {print $2}' "$APPDIR/routes")/"
	assert_output "web.1 bonjour"
	wait_for 30 log_has_n 1 "app\[worker.1\]: worker worker.1 says bonjour"
	assert_equal "$(log_count "heroku\[web.2\]: Restarting")" 1
	assert_equal "$(cat "$APPDIR/dynos/worker.1/release")" v2
}

@test "SIGTERM stops every process of every dyno, then the manager exits 0" {
	local pids
	printf 'web: exec python3 web.py\nworker: sleep 4242.103 & sleep 4242.104 & wait\n' >"$SLUG/Procfile"
	deploy
	dyno-manager scale "$APPNAME" web=1 worker=2 >/dev/null
	start_mgr
	wait_for 60 is_up worker.2
	wait_for 60 count_is 4 '^sleep 4242\.10[34]'
	pids=$(app_pids "$APPNAME" '^sleep 4242\.10[34]')
	stop_mgr
	assert_equal "$STATUS" 0
	# shellcheck disable=SC2086
	pids_gone $pids
	assert_equal "$(state_of worker.1)" down
	assert_equal "$(state_of web.1)" down
}

@test "after kill -9 of the manager a new one restores the formation, no duplicates" {
	printf 'web: exec python3 web.py\nworker: exec sleep 4242.105\n' >"$SLUG/Procfile"
	deploy
	dyno-manager scale "$APPNAME" web=1 worker=2 >/dev/null
	start_mgr
	local d old=()
	wait_for 60 is_up worker.2
	wait_for 60 is_up web.1
	for d in web.1 worker.1 worker.2; do old+=("$(pid_of "$d")"); done
	kill -KILL "$MGR"
	wait "$MGR" || true
	start_mgr
	# the new manager's own instances, not the state files the old one
	# left: those say "up" until the new manager has stopped its dynos
	wait_for 60 up_again web.1 "${old[0]}"
	wait_for 60 up_again worker.1 "${old[1]}"
	wait_for 60 up_again worker.2 "${old[2]}"
	wait_for 60 routes_count 1
	# recovery stopped the old instances before the new ones started, so
	# a missed one would be counted here; that a running dyno is never
	# started again later, t/unit/dyno-manager-life.c shows ("wanted")
	wait_for 60 count_is 2 '^sleep 4242\.105'
	assert_equal "$(app_pids "$APPNAME" '^python3 web.py' | wc -l)" 1
	check_routes
}

# files_agree DYNO STATE RELEASE: every file of dynos/DYNO says what runs:
# the state; a pid that is DYNO's live dyno-run (0 when down); the
# release; the dyno's route (web) or an empty addr; started = when that
# dyno-run began, within 2 s.  Says which file is wrong.
files_agree() {
	local dir="$APPDIR/dynos/$1" pid addr started age skew
	pid=$(cat "$dir/pid") addr=$(cat "$dir/addr") started=$(cat "$dir/started")
	[ "$(cat "$dir/state")" = "$2" ] || { echo "$1: state $(cat "$dir/state")"; return 1; }
	[ "$(cat "$dir/release")" = "$3" ] || { echo "$1: release $(cat "$dir/release")"; return 1; }
	# down: none runs (dyno-state(5): pid 0, addr empty)
	if [ "$2" = down ]; then
		[ "$pid" = 0 ] || { echo "$1: down, pid $pid"; return 1; }
		[ ! -s "$dir/addr" ] || { echo "$1: down, addr $addr"; return 1; }
		return 0
	fi
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "^dyno-run .*--name $1 " ||
		{ echo "$1: pid $pid is not its dyno-run"; return 1; }
	age=$(ps -o etimes= -p "$pid")
	skew=$(($(date +%s) - age - started))
	[ "${skew#-}" -le 2 ] || { echo "$1: started $started, its dyno-run is ${age}s old"; return 1; }
	case $1 in
	web.*)
		[ "$(awk -v d="$1" '$1 == d {print $2}' "$APPDIR/routes")" = "$addr" ] ||
			{ echo "$1: addr $addr is not its route"; return 1; }
		curl -sf "http://$addr/" | grep -q "^$1 " ||
			{ echo "$1: $addr does not answer as $1"; return 1; } ;;
	*) [ ! -s "$dir/addr" ] || { echo "$1: addr $addr"; return 1; } ;;
	esac
}

# agree DYNO STATE RELEASE: files_agree within 10 s (the state file is
# written first), else the reason
agree() {
	wait_for 10 files_agree "$@" >/dev/null || files_agree "$@"
}

@test "every state file says what runs: start, crash, release, resize, stop, manager restart, exit" {
	local old ino d
	deploy
	dyno-manager scale "$APPNAME" web=1 worker=1 >/dev/null
	start_mgr
	wait_for 60 is_up web.1
	wait_for 60 is_up worker.1
	agree web.1 up v1
	agree worker.1 up v1
	# a worker's crash and restart: its files, and routes not rewritten
	ino=$(stat -c %i "$APPDIR/routes")
	old=$(pid_of worker.1)
	kill -KILL "$(app_pids "$APPNAME" '^sleep 4242\.101')"
	wait_for 30 up_again worker.1 "$old"
	agree worker.1 up v1
	assert_equal "$(stat -c %i "$APPDIR/routes")" "$ino"
	release config set "$APPNAME" GREETING=bonjour >/dev/null 2>&1
	wait_for 60 bash -c "grep -qx v2 '$APPDIR/dynos/web.1/release' && grep -qx v2 '$APPDIR/dynos/worker.1/release'"
	wait_for 60 is_up web.1
	wait_for 60 is_up worker.1
	agree web.1 up v2
	agree worker.1 up v2
	old=$(pid_of worker.1)
	run -0 dyno-manager scale "$APPNAME" worker=1:performance-m
	wait_for 30 up_again worker.1 "$old"
	agree worker.1 up v2
	old=$(pid_of web.1)
	run -0 dyno-manager stop "$APPNAME" web.1
	wait_for 30 up_again web.1 "$old"
	agree web.1 up v2
	# a new manager writes every file once, whatever the old one wrote
	kill -KILL "$MGR"
	wait "$MGR" || true
	old=$(pid_of web.1) ino=$(pid_of worker.1)
	start_mgr
	wait_for 60 up_again web.1 "$old"
	wait_for 60 up_again worker.1 "$ino"
	agree web.1 up v2
	agree worker.1 up v2
	stop_mgr
	for d in web.1 worker.1; do agree "$d" down v2; done
	assert_equal "$(wc -c <"$APPDIR/routes")" 0
}

@test "one manager per app" {
	deploy
	start_mgr
	wait_for 60 is_up web.1
	run -75 --separate-stderr dyno-manager "$APPNAME"
	assert_equal "$stderr" "dyno-manager: $APPNAME: already managed by a running dyno-manager (pid $MGR)"
}

@test "100 dynos in one app" {
	local pids
	printf 'worker: exec sleep 4242.106\n' >"$SLUG/Procfile"
	deploy
	dyno-manager scale "$APPNAME" worker=100 >/dev/null
	start_mgr
	wait_for 240 bash -c "[ \$(grep -lx up '$APPDIR'/dynos/*/state 2>/dev/null | wc -l) -eq 100 ]"
	pids=$(app_pids "$APPNAME" '^sleep 4242\.106')
	assert_equal "$(echo "$pids" | wc -l)" 100
	stop_mgr
	assert_equal "$STATUS" 0
	# shellcheck disable=SC2086
	pids_gone $pids
}
