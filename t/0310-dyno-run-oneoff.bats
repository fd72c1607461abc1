#!/usr/bin/env bats
# dyno-run one-off dynos (heroku run): ps, complete, process types, detached.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-run
load helper/logplexd

setup() {
	dyno_setup
	dr_setup
	printf 'web: exec python3 web.py\nworker: echo worker ran with\n' >"$DR_SLUG/Procfile"
	OUT="$DYNO_TEST_DIR/out"
}

teardown() {
	dr_teardown
	lp_cleanup
	dyno_teardown
}

@test "a one-off dyno is listed by ps while it runs, then logs up to complete" {
	dr_bg "$OUT" -- 'echo ready; sleep 300'
	wait_for 30 grep -qx ready "$OUT"
	run -0 --separate-stderr dyno-manager ps "$DR_APP"
	assert_line --index 0 "=== run: one-off processes (1)"
	assert_line --index 1 --regexp '^run\.[0-9]+ \(Standard-1X\): up [0-9/]+ [0-9:]+ \+0000 \(~ [0-9]+s ago\): echo ready; sleep 300$'
	local name=${lines[1]%% *}
	kill -TERM "$DR_PID"
	wait "$DR_PID" || true
	run cat "$OUT"
	assert_line --regexp "^$TS heroku\[$name\]: State changed from starting to up$"
	assert_line --regexp "^$TS heroku\[$name\]: Process exited with status 143$"
	assert_line --regexp "^$TS heroku\[$name\]: State changed from up to complete$"
	run -0 --separate-stderr dyno-manager ps "$DR_APP"
	assert_output "No dynos on $DR_APP"
}

@test "two one-off dynos at once get two names" {
	dr_bg "$OUT" -- 'echo ready; sleep 300'
	dr_bg "$OUT.2" -- 'echo ready; sleep 300'
	wait_for 30 grep -qx ready "$OUT"
	wait_for 30 grep -qx ready "$OUT.2"
	run -0 --separate-stderr dyno-manager ps "$DR_APP"
	assert_line --index 0 "=== run: one-off processes (2)"
	[ "${lines[1]%% *}" != "${lines[2]%% *}" ]
}

@test "a process type name as the command runs its Procfile command, arguments appended" {
	run -0 --separate-stderr dr_run -- worker 42
	assert_output "worker ran with 42"
	err_has "Starting process with command \`echo worker ran with 42\`"
	# a formation dyno's command is never replaced
	run -0 --separate-stderr dr_run --name worker.1 -- echo worker
	assert_output "worker"
}

@test "--detach: the name at once, the output in the log stream, up to complete" {
	lp_start
	local t0 t1 name
	t0=$(date +%s)
	run -0 --separate-stderr timeout 60 dyno-run --app "$DR_APP" --net none --detach -- 'echo detached-out; echo detached-err >&2; sleep 3; echo done'
	t1=$(date +%s)
	[ $((t1 - t0)) -lt 3 ]
	assert_output --regexp '^run\.[0-9]+$'
	name=$output
	wait_for 30 lp_log_has "$DR_APP" "heroku[$name]: State changed from up to complete"
	run -0 dyno-logs "$DR_APP" --dyno "$name"
	assert_line --regexp "app\[$name\]: detached-out$"
	assert_line --regexp "app\[$name\]: detached-err$"
	assert_line --regexp "app\[$name\]: done$"
	assert_line --regexp "heroku\[$name\]: Process exited with status 0$"
	run dr_cgroups
	assert_output ""
}

@test "--detach is for one-off dynos of an app only" {
	run -64 --separate-stderr dyno-run --app "$DR_APP" --name web.1 --detach -- true
	assert_equal "$stderr" "dyno-run: --detach: only a one-off dyno of an app (--app, no --name) runs detached"
}
