#!/usr/bin/env bats
# dyno-logs against logplexd: filters, --tail, L11 for a slow reader.
bats_require_minimum_version 1.5.0
load helper/common
load helper/logplexd

setup() {
	dyno_setup
	lp_app myapp
	lp_start
	printf 'web one\n' | logplex-send myapp app web.1
	printf 'web two\n' | logplex-send myapp app web.2
	printf 'webby\n' | logplex-send myapp app webby.1
	printf 'work\n' | logplex-send myapp app worker.1
	printf 'State changed from starting to up\n' | logplex-send myapp heroku web.1
	printf 'at=info method=GET path="/"\n' | logplex-send myapp heroku router
	printf 'Release v2 created by user me\n' | logplex-send myapp app api
}
teardown() { lp_cleanup; dyno_teardown; }

# msgs ARGS...: the messages dyno-logs myapp ARGS prints, one a line.
msgs() {
	dyno-logs myapp "$@" | sed 's/^[^ ]* //'
}

@test "no filter: everything, oldest first" {
	run msgs
	assert_output "app[web.1]: web one
app[web.2]: web two
app[webby.1]: webby
app[worker.1]: work
heroku[web.1]: State changed from starting to up
heroku[router]: at=info method=GET path=\"/\"
app[api]: Release v2 created by user me"
}

@test "--dyno NAME: exact dyno, and a process type matches its dynos" {
	run msgs -d web.1
	assert_output "app[web.1]: web one
heroku[web.1]: State changed from starting to up"
	run msgs --dyno web
	assert_output "app[web.1]: web one
app[web.2]: web two
heroku[web.1]: State changed from starting to up"
	run msgs -d router
	assert_output 'heroku[router]: at=info method=GET path="/"'
}

@test "--ps TYPE matches TYPE and TYPE.N only" {
	run msgs -p worker
	assert_output 'app[worker.1]: work'
	run msgs --ps webby
	assert_output 'app[webby.1]: webby'
}

@test "--source app|heroku, and API logs as --source app --dyno api" {
	run msgs -s heroku
	assert_output "heroku[web.1]: State changed from starting to up
heroku[router]: at=info method=GET path=\"/\""
	run msgs --source app --dyno api
	assert_output 'app[api]: Release v2 created by user me'
	run msgs -s app -d web -n 1
	assert_output 'app[web.2]: web two'
	run --separate-stderr dyno-logs myapp -s nginx
	assert_failure 64
}

@test "--tail prints the history, then follows with filters" {
	dyno-logs myapp --tail -d web >"$DYNO_TEST_DIR/out" 2>&1 3>&- &
	lp_track $!
	wait_for 10 grep -q 'State changed' "$DYNO_TEST_DIR/out"
	printf 'later on web\n' | logplex-send myapp app web.2
	printf 'later on worker\n' | logplex-send myapp app worker.1
	printf 'last one\n' | logplex-send myapp app web.1
	wait_for 10 grep -q 'last one' "$DYNO_TEST_DIR/out"
	run sed 's/^[^ ]* //' "$DYNO_TEST_DIR/out"
	assert_output "app[web.1]: web one
app[web.2]: web two
heroku[web.1]: State changed from starting to up
app[web.2]: later on web
app[web.1]: last one"
}

@test "--tail ends with 69 when logplexd stops" {
	dyno-logs myapp --tail -n 0 >"$DYNO_TEST_DIR/out" 2>"$DYNO_TEST_DIR/err" 3>&- &
	tail_pid=$!
	lp_track "$tail_pid"
	wait_for 10 eval "[ \"\$(kill -USR1 $LP_PID; grep -c '^tail app=myapp' \"\$DYNO_TEST_DIR/logplexd.err\")\" -ge 1 ]"
	lp_stop
	wait_status "$tail_pid"
	assert_equal "$status" 69
	run cat "$DYNO_TEST_DIR/err"
	assert_output 'dyno-logs: logplexd ended the tail session'
}

@test "a slow tail loses lines with L11 and never slows ingest" {
	# A reader that takes the answer's first line, then stops reading
	# until told to go on.
	python3 - "$DYNO_RUNDIR/logplexd.tail" "$DYNO_TEST_DIR" <<'PY' 3>&- &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
s.sendall(b"tail myapp lines=0 follow=1\n")
f = s.makefile("rb")
assert f.readline() == b"ok\n"
open(sys.argv[2] + "/started", "w").close()
while not os.path.exists(sys.argv[2] + "/go"):
    time.sleep(0.05)
with open(sys.argv[2] + "/slow.out", "wb") as out:
    for line in f:
        out.write(line)
        if b"line 20000" in line:
            break
PY
	lp_track $!
	wait_for 10 test -e "$DYNO_TEST_DIR/started"
	logplex-send -n 20000 myapp app web.1
	# Ingest went on while the reader slept: the history has it all.
	run --separate-stderr dyno-logs myapp -n 1
	assert_output --partial 'app[web.1]: line 20000'
	touch "$DYNO_TEST_DIR/go"
	wait_for 30 grep -q 'line 20000' "$DYNO_TEST_DIR/slow.out"
	run grep -E 'heroku\[logplex\]: Error L11 \(Tail buffer overflow\) -> This tail session dropped [0-9]+ messages since [0-9T:.+-]+\.$' "$DYNO_TEST_DIR/slow.out"
	assert_success
	# What was kept and what was dropped add up to what was sent.
	kept=$(grep -c 'app\[web.1\]: line ' "$DYNO_TEST_DIR/slow.out")
	dropped=$(sed -n 's/.*dropped \([0-9]*\) messages.*/\1/p' "$DYNO_TEST_DIR/slow.out" | awk '{ s += $1 } END { print s + 0 }')
	assert_equal "$((kept + dropped))" 20000
}

@test "colour on a terminal; a non-empty NO_COLOR turns it off, an empty one not" {
	require_cmd script
	NO_COLOR= script -qec "dyno-logs myapp --dyno web.1" /dev/null >"$DYNO_TEST_DIR/tty"
	run grep -c $'\033\\[' "$DYNO_TEST_DIR/tty"
	assert_output 2
	NO_COLOR=1 script -qec "dyno-logs myapp --dyno web.1" /dev/null >"$DYNO_TEST_DIR/tty"
	run grep -c $'\033\\[' "$DYNO_TEST_DIR/tty"
	assert_output 0
}

@test "a bad tail request gets one error line" {
	run python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"tail myapp lines=lots\n")
print(s.makefile().read(), end="")' "$DYNO_RUNDIR/logplexd.tail"
	assert_output 'error bad line count'
	run --separate-stderr dyno-logs
	assert_failure 64
	assert_equal "${stderr_lines[0]}" 'usage: dyno-logs app [-t] [-d dyno] [-n num] [-p type] [-s source] [--escape | --raw]'
}
