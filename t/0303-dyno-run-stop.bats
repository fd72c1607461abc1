#!/usr/bin/env bats
# dyno-run: stopping a dyno, signals, the init's reaping.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-run

setup() {
	dyno_setup
	dr_setup
	OUT="$DYNO_TEST_DIR/out"
}

teardown() {
	dr_teardown
	dyno_teardown
}

# wait_exit PID: RC = its exit status, once it is gone.
wait_exit() {
	RC=0
	wait "$1" || RC=$?
}

@test "SIGTERM reaches every process, grandchildren too; status 143" {
	dr_bg "$OUT" --name web.1 -- 'sh -c "trap \"echo grandchild-term; exit 0\" TERM; echo child-ready; while :; do sleep 0.1; done" & trap "echo main-term; wait; exit 143" TERM; echo ready; wait'
	# both traps are set before the stop
	wait_for 30 grep -qx ready "$OUT"
	wait_for 30 grep -qx child-ready "$OUT"
	kill -TERM "$DR_PID"
	wait_exit "$DR_PID"
	assert_equal "$RC" 143
	run cat "$OUT"
	assert_line "grandchild-term"
	assert_line "main-term"
	assert_line --regexp "^$TS heroku\[web\.1\]: Stopping all processes with SIGTERM$"
	assert_line --regexp "^$TS heroku\[web\.1\]: Process exited with status 143$"
	refute_line --partial "R12"
	run dr_cgroups
	assert_output ""
}

@test "after the grace period: R12, SIGKILL for all, status 137" {
	dr_bg "$OUT" --name worker.1 --grace 1 -- 'trap "echo ignored" TERM; sh -c "trap \"\" TERM; sleep 300" & echo ready; while :; do sleep 0.1; done'
	wait_for 30 grep -qx ready "$OUT"
	kill -TERM "$DR_PID"
	wait_exit "$DR_PID"
	assert_equal "$RC" 137
	run cat "$OUT"
	assert_line "ignored"
	assert_line --regexp "^$TS heroku\[worker\.1\]: Stopping all processes with SIGTERM$"
	assert_line --regexp "^$TS heroku\[worker\.1\]: Error R12 \(Exit timeout\) -> At least one process failed to exit within 1 seconds of SIGTERM$"
	assert_line --regexp "^$TS heroku\[worker\.1\]: Stopping remaining processes with SIGKILL$"
	assert_line --regexp "^$TS heroku\[worker\.1\]: Process exited with status 137$"
	run dr_cgroups
	assert_output ""
}

@test "other signals are forwarded to the command" {
	dr_bg "$OUT" -- 'trap "echo got-usr1" USR1; trap "echo got-hup" HUP; trap "echo got-int; exit 130" INT; echo ready; while :; do sleep 0.1; done'
	wait_for 30 grep -qx ready "$OUT"
	kill -USR1 "$DR_PID"
	wait_for 30 grep -qx got-usr1 "$OUT"
	kill -HUP "$DR_PID"
	wait_for 30 grep -qx got-hup "$OUT"
	kill -INT "$DR_PID"
	wait_exit "$DR_PID"
	assert_equal "$RC" 130
	run grep -x got-int "$OUT"
	assert_success
}

@test "orphans are reaped: no zombies pile up in the dyno" {
	# Counted: zombies, and orphans still there (an argument exactly
	# "exit 0"; the bracket keeps grep from matching its own pattern).
	# Counting all of /proc would count the counting pipeline too.
	run --separate-stderr dr_run -- 'for i in 1 2 3 4 5; do (sh -c "exit 0" &); done; for i in $(seq 100); do z=$(grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l); o=$(grep -lzx "exi[t] 0" /proc/[0-9]*/cmdline 2>/dev/null | wc -l); [ "$z" = 0 ] && [ "$o" = 0 ] && break; sleep 0.1; done; echo "zombies=$z orphans=$o"'
	assert_success
	assert_output "zombies=0 orphans=0"
}

@test "when the command exits, what it left behind is killed" {
	local info="$DYNO_TEST_DIR/info" cg init status=0
	# It waits for /tmp/go, which the host writes through the init's root.
	dr_bg "$OUT" --info-file "$info" -- 'sleep 1000 & sh -c "trap \"\" TERM HUP; sleep 1000" & while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 4'
	wait_for 30 test -s "$info"
	cg=$(sed -n 's/^cgroup=//p' "$info")
	init=$(sed -n 's/^init=//p' "$info")
	# init, sh, sleep, sh, sleep and the waiting loop's sleep
	wait_for 30 cgroup_has "$cg" 5
	: >"/proc/$init/root/tmp/go"
	wait "$DR_PID" || status=$?
	assert_equal "$status" 4
	run dr_cgroups
	assert_output ""
	run cgroup_pids "$cg"
	assert_output ""
}

@test "if dyno-run is killed outright, its dyno dies with it" {
	local info="$DYNO_TEST_DIR/info" init
	dr_bg "$OUT" --info-file "$info" -- 'echo ready; sleep 1000'
	wait_for 30 test -s "$info"
	wait_for 30 grep -qx ready "$OUT"
	init=$(sed -n 's/^init=//p' "$info")
	kill -KILL "$DR_PID"
	wait_for 30 bash -c "! kill -0 $init 2>/dev/null"
}

# A SIGTERM handler that needs 2 s, in a command run without exec.
SLOW_PY='import signal, sys, time
def term(*a):
    time.sleep(2)
    print("cleaned", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, term)
print("ready", flush=True)
time.sleep(300)'

@test "a lone command is the shell's own process: its cleanup finishes and its status is the dyno's" {
	require_cmd python3
	printf '%s\n' "$SLOW_PY" >"$DR_SLUG/job.py"
	dr_bg "$OUT" --name worker.1 -- python3 job.py
	wait_for 30 grep -qx ready "$OUT"
	kill -TERM "$DR_PID"
	wait_exit "$DR_PID"
	assert_equal "$RC" 0
	run cat "$OUT"
	assert_line "cleaned"
	assert_line --regexp "^$TS heroku\[worker\.1\]: Process exited with status 0$"
	refute_line --partial "R12"
}

@test "every process of the dyno gets the grace period, not only the command" {
	dr_bg "$OUT" --name worker.1 -- 'sh -c "trap \"sleep 2; echo child-cleaned; exit 0\" TERM; echo child-ready; while :; do sleep 0.1; done" & trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done'
	wait_for 30 grep -qx ready "$OUT"
	wait_for 30 grep -qx child-ready "$OUT"
	kill -TERM "$DR_PID"
	wait_exit "$DR_PID"
	assert_equal "$RC" 0
	run cat "$OUT"
	assert_line "child-cleaned"
	assert_line --regexp "^$TS heroku\[worker\.1\]: Process exited with status 0$"
	refute_line --partial "R12"
	run dr_cgroups
	assert_output ""
}

# stop_early DELAYS_MS...: start a dyno, SIGTERM dyno-run that many ms
# later, for each delay; prints "R12 N" (how many stops hung).
stop_early() {
	python3 - "$DR_APP" "$@" <<'PY'
import signal, subprocess, sys, time
app, r12 = sys.argv[1], 0
for ms in sys.argv[2:]:
    p = subprocess.Popen(["dyno-run", "--app", app, "--net", "none",
        "--name", "web.1", "--grace", "3", "--", "trap 'exit 0' TERM; "
        "while :; do sleep 0.1; done"], stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(int(ms) / 1000)
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=60)[1]
    r12 += "R12" in err
print("R12", r12)
PY
}

@test "a SIGTERM during the dyno's setup is not lost (stops 0 to 40 ms after the start)" {
	require_cmd python3
	run --separate-stderr stop_early $(seq 0 2 40)
	assert_success
	assert_output "R12 0"
	run dr_cgroups
	assert_output ""
}
