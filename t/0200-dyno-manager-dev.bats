#!/usr/bin/env bats
# dyno-manager -d: the foreman-style development mode.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
	APP="$DYNO_TEST_DIR/app"
	OUT="$DYNO_TEST_DIR/out"
	mkdir -p "$APP"
}

teardown() {
	[ -n "${MGR:-}" ] && kill -KILL "$MGR" 2>/dev/null
	for f in "$DYNO_TEST_DIR"/*.pid; do
		[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	dyno_teardown
}

# start_mgr ARGS...: run dyno-manager -d in the background, output to $OUT.
start_mgr() {
	dyno-manager -d "$APP" "$@" >"$OUT" 2>&1 3>&- &
	MGR=$!
}

# stop_mgr: SIGTERM the manager and collect its exit status in $STATUS.
stop_mgr() {
	kill -TERM "$MGR"
	STATUS=0
	wait "$MGR" || STATUS=$?
	MGR=
}

out_has() {
	grep -q -- "$1" "$OUT"
}

@test "PORT follows foreman's scheme; DYNO and PS name the process" {
	cat >"$APP/Procfile" <<-'P'
	web: echo "PORT=$PORT DYNO=$DYNO PS=$PS"; exec sleep 100
	worker: echo "PORT=$PORT DYNO=$DYNO"; exec sleep 100
	P
	start_mgr -m web=2,worker=1 -p 6000
	wait_for 10 out_has "worker.1 .*DYNO=worker.1"
	wait_for 10 out_has "web.2 .*DYNO=web.2"
	wait_for 10 out_has "web.1 .*DYNO=web.1"
	stop_mgr
	assert_equal "$STATUS" 0
	run grep -c "PORT=6000 DYNO=web.1 PS=web.1" "$OUT"
	assert_output 1
	run grep -c "PORT=6001 DYNO=web.2 PS=web.2" "$OUT"
	assert_output 1
	run grep -c "PORT=6100 DYNO=worker.1" "$OUT"
	assert_output 1
}

@test "the default base port is 5000, or \$PORT as in foreman" {
	printf 'web: echo "PORT=$PORT"; exec sleep 100\n' >"$APP/Procfile"
	start_mgr
	wait_for 10 out_has "PORT=5000"
	stop_mgr
	PORT=7000 dyno-manager -d "$APP" >"$OUT" 2>&1 3>&- &
	MGR=$!
	wait_for 10 out_has "PORT=7000"
	stop_mgr
}

@test ".env variables reach the processes, over the caller's environment" {
	printf 'web: echo "G=$GREETING Q=$QUOTED C=$CALLER O=$OVER"; exec sleep 100\n' \
		>"$APP/Procfile"
	cat >"$APP/.env" <<-'E'
	# a comment
	GREETING=hello
	=novalue
	export QUOTED="two words"
	OVER=from-dotenv
	E
	CALLER=caller OVER=from-caller start_mgr
	wait_for 10 out_has "G=hello"
	stop_mgr
	run grep -c "G=hello Q=two words C=caller O=from-dotenv" "$OUT"
	assert_output 1
	# a line foreman skips is skipped with a warning, not a refusal to start
	run grep -c "warning: $APP/.env:3: expected KEY=VALUE, line ignored" "$OUT"
	assert_output 1
}

@test "-e names another env file; -f another Procfile" {
	printf 'other: echo "X=$X"; exec sleep 100\n' >"$DYNO_TEST_DIR/Procfile.dev"
	printf 'X=from-e\n' >"$DYNO_TEST_DIR/dev.env"
	start_mgr -f "$DYNO_TEST_DIR/Procfile.dev" -e "$DYNO_TEST_DIR/dev.env"
	wait_for 10 out_has "other.1 .*X=from-e"
	stop_mgr
	assert_equal "$STATUS" 0
}

@test "lines are prefixed with time and a padded name, uncoloured when piped" {
	printf 'web: echo from-web; exec sleep 100\nlongworker: echo from-worker; exec sleep 100\n' \
		>"$APP/Procfile"
	unset NO_COLOR
	start_mgr
	wait_for 10 out_has from-web
	wait_for 10 out_has from-worker
	stop_mgr
	run grep -E '^[0-9]{2}:[0-9]{2}:[0-9]{2} web\.1        \| from-web$' "$OUT"
	assert_success
	run grep -E '^[0-9]{2}:[0-9]{2}:[0-9]{2} longworker\.1 \| from-worker$' "$OUT"
	assert_success
	run grep -c $'\033' "$OUT"
	assert_output 0
}

@test "partial lines from two processes never mix" {
	cat >"$APP/Procfile" <<-'P'
	slow: printf 'aaaa'; sleep 0.3; printf 'bbbb\n'; exec sleep 100
	chatty: for i in 1 2 3 4 5 6 7 8 9 10; do echo "chat $i"; sleep 0.05; done; exec sleep 100
	P
	start_mgr
	wait_for 10 out_has "slow.1 .*aaaabbbb"
	wait_for 10 out_has "chat 10"
	stop_mgr
	run grep -c 'aaaabbbb' "$OUT"
	assert_output 1
	run grep -E 'chat [0-9]+.*(aaaa|bbbb)|(aaaa|bbbb).*chat' "$OUT"
	assert_failure
}

@test "SIGTERM reaches grandchildren, even ones that left the process group" {
	cat >"$APP/Procfile" <<-P
	web: sleep 4242.301 & echo \$! >$DYNO_TEST_DIR/child.pid; setsid sleep 4242.302 & echo \$! >$DYNO_TEST_DIR/escaped.pid; echo started; wait
	P
	start_mgr
	wait_for 10 out_has started
	wait_for 10 test -s "$DYNO_TEST_DIR/escaped.pid"
	child=$(cat "$DYNO_TEST_DIR/child.pid")
	escaped=$(cat "$DYNO_TEST_DIR/escaped.pid")
	kill -0 "$child"
	kill -0 "$escaped"
	stop_mgr
	assert_equal "$STATUS" 0
	run kill -0 "$child"
	assert_failure
	run kill -0 "$escaped"
	assert_failure
	run grep -c "sending SIGKILL" "$OUT"
	assert_output 0
}

@test "a process that ignores SIGTERM is killed after the grace period (-t)" {
	cat >"$APP/Procfile" <<-'P'
	stubborn: trap '' TERM; echo ready; while :; do sleep 0.1; done
	P
	start_mgr -t 1
	wait_for 10 out_has ready
	stop_mgr
	assert_equal "$STATUS" 0
	run grep -c "sending SIGTERM to all processes" "$OUT"
	assert_output 1
	run grep -c "sending SIGKILL to all processes" "$OUT"
	assert_output 1
	run grep -c "stubborn.1 .*terminated by SIGKILL" "$OUT"
	assert_output 1
}

@test "when one process exits, all stop and its status is the manager's" {
	cat >"$APP/Procfile" <<-P
	web: exec sleep 4242.301
	failer: echo about to fail; sleep 0.3; exit 3
	P
	run -3 dyno-manager -d "$APP"
	assert_output --partial "failer.1 | exited with code 3"
	assert_output --partial "sending SIGTERM to all processes"
	assert_output --partial "web.1    | terminated by SIGTERM"
	assert_output --partial "about to fail"
}

@test "a process killed by a signal gives 128+N" {
	printf 'web: kill -KILL $$\n' >"$APP/Procfile"
	run -137 dyno-manager -d "$APP"
	assert_output --regexp "web\.1 +\| terminated by SIGKILL"
}

@test "-m all=0,worker=2 starts only what it names" {
	printf 'web: exec sleep 100\nworker: echo "w $DYNO"; exec sleep 100\n' >"$APP/Procfile"
	start_mgr -m all=0,worker=2
	wait_for 10 out_has "w worker.2"
	wait_for 10 out_has "w worker.1"
	stop_mgr
	run grep -c "web.1" "$OUT"
	assert_output 0
}

@test "the example app serves HTTP and stops cleanly" {
	cp -r "$TOP/examples/python-web/." "$APP/"
	port=$(free_port)
	start_mgr -p "$port" -m web=1,worker=1
	wait_for 20 curl -sf "http://127.0.0.1:$port/hi"
	run curl -s "http://127.0.0.1:$port/hi"
	assert_output "Hello from dyno: /hi on web.1"
	wait_for 10 out_has "worker tick 1"
	stop_mgr
	assert_equal "$STATUS" 0
	run grep -c '"GET /hi HTTP/1.1" 200' "$OUT"
	refute_output 0
}

@test "errors: missing Procfile, duplicate type, bad .env, bad options" {
	run -66 --separate-stderr dyno-manager -d "$APP"
	assert_equal "$stderr" "dyno-manager: $APP/Procfile: No such file or directory"

	printf 'web: a\nweb: b\n' >"$APP/Procfile"
	run -65 --separate-stderr dyno-manager -d "$APP"
	assert_equal "$stderr" "dyno-manager: $APP/Procfile:2: duplicate process type \"web\""

	printf 'web: a\n' >"$APP/Procfile"
	printf 'GOOD=1\nBAD="unterminated\n' >"$APP/.env"
	run -65 --separate-stderr dyno-manager -d "$APP"
	assert_equal "$stderr" "dyno-manager: $APP/.env:2: unterminated double quote"

	rm "$APP/.env"
	run -66 --separate-stderr dyno-manager -d "$APP" -e "$APP/missing.env"
	assert_equal "$stderr" "dyno-manager: $APP/missing.env: No such file or directory"

	run -64 --separate-stderr dyno-manager -d "$APP" -m nosuch=1
	assert_equal "$stderr" "dyno-manager: -m: \"nosuch\": no such process type in the Procfile"

	run -64 --separate-stderr dyno-manager -d "$APP" -t forever
	[[ "${stderr_lines[0]}" == 'dyno-manager: -t: "forever": expected a duration'* ]]

	run -64 --separate-stderr dyno-manager
	assert_equal "${stderr_lines[0]}" "dyno-manager: expected one APP, or -d DIR"
	run -64 --separate-stderr dyno-manager check
	assert_equal "${stderr_lines[0]}" "dyno-manager: -d DIR is required"

	printf '[dyno]\ngrace = soon\n' | conf_put
	run -78 --separate-stderr dyno-manager -d "$APP"
	assert_equal "$stderr" "dyno-manager: $DYNO_CONF:4: bad value \"soon\" for grace in [dyno]"
}

@test "a Procfile line that does not parse is a warning, not silence" {
	printf 'web: exec sleep 100\nthis line is junk\n' >"$APP/Procfile"
	start_mgr
	wait_for 10 out_has "started with pid"
	stop_mgr
	run grep -c "dyno-manager: warning: $APP/Procfile:2: not a \"type: command\" line, ignored" "$OUT"
	assert_output 1
}
