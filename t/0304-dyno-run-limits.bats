#!/usr/bin/env bats
# dyno-run: the dyno size's limits, R14 and R15, and the cgroup's lifetime.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-run

setup() {
	dyno_setup
	dr_setup
	dr_size
	OUT="$DYNO_TEST_DIR/out"
}

teardown() {
	dr_teardown
	dyno_teardown
}

# v2: the host's /sys/fs/cgroup is cgroup2 (dyno-run then uses v2 only).
v2() {
	[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]
}

@test "a fork bomb stops at the size's process limit; the host is unaffected" {
	require_cmd python3
	cat >"$DR_SLUG/bomb.py" <<'PY'
import os, sys, time
n = 0
try:
    while n < 1000:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
except OSError as e:
    print("stopped", n < 48, e.strerror)
    sys.exit(0)
print("not stopped", n)
PY
	run --separate-stderr dr_run --size dynotest -- python3 bomb.py
	assert_success
	assert_output "stopped True Resource temporarily unavailable"
	run dr_cgroups
	assert_output ""
	run sh -c 'echo host-forks'
	assert_output "host-forks"
}

@test "a memory bomb is killed at the hard limit with the R15 lines" {
	require_cmd python3
	printf 'b = []\nwhile True:\n    b.append(bytearray(1 << 20))\n' >"$DR_SLUG/mem.py"
	run --separate-stderr dr_run --name worker.1 --size dynotest -- python3 mem.py
	assert_equal "$status" 137
	err_line "$TS heroku\[worker\.1\]: Process running mem=[0-9]+M\([0-9]+\.[0-9]%\)"
	err_line "$TS heroku\[worker\.1\]: Error R15 \(Memory quota vastly exceeded\)"
	err_line "$TS heroku\[worker\.1\]: Stopping process with SIGKILL"
	err_line "$TS heroku\[worker\.1\]: Process exited with status 137"
	run dr_cgroups
	assert_output ""
}

@test "above the quota the dyno keeps running and logs R14" {
	require_cmd python3
	cat >"$DR_SLUG/hold.py" <<'PY'
import sys, time
b = bytearray(32 << 20)
for i in range(0, len(b), 4096):
    b[i] = 1
print("held", flush=True)
time.sleep(300)
PY
	dr_bg "$OUT" --name web.1 --size dynotest -- python3 hold.py
	wait_for 60 grep -q "Error R14 (Memory quota exceeded)" "$OUT"
	run cat "$OUT"
	assert_line --regexp "^$TS heroku\[web\.1\]: Process running mem=(2[4-9]|[3-4][0-9])M\(1[0-9][0-9]\.[0-9]%\)$"
	refute_line --partial "R15"
	kill -TERM "$DR_PID"
	wait "$DR_PID" || true
}

@test "the cgroup carries the size's limits while the dyno runs, then is gone" {
	local info="$DYNO_TEST_DIR/info" cg
	dr_bg "$OUT" --size dynotest --info-file "$info" -- 'echo ready; exec sleep 300'
	wait_for 30 test -s "$info"
	cg=$(sed -n 's/^cgroup=//p' "$info")
	if v2; then
		# memory.high is the size's hard limit (R15 there); memory.max
		# an eighth above is only the kernel's backstop
		assert_equal "$(cat "/sys/fs/cgroup/$cg/memory.high")" $((48 << 20))
		assert_equal "$(cat "/sys/fs/cgroup/$cg/memory.max")" $((54 << 20))
		assert_equal "$(cat "/sys/fs/cgroup/$cg/pids.max")" 48
		assert_equal "$(cat "/sys/fs/cgroup/$cg/cpu.weight")" 100
	else
		assert_equal "$(cat "/sys/fs/cgroup/memory/$cg/memory.limit_in_bytes")" $((48 << 20))
		assert_equal "$(cat "/sys/fs/cgroup/pids/$cg/pids.max")" 48
		assert_equal "$(cat "/sys/fs/cgroup/cpu/$cg/cpu.shares")" 1024
	fi
	kill -TERM "$DR_PID"
	wait "$DR_PID" || true
	run dr_cgroups
	assert_output ""
}

@test "inside, the dyno's cgroup namespace shows its own cgroup as the root" {
	run --separate-stderr dr_run -- 'cat /proc/self/cgroup'
	assert_success
	refute_output --partial "dyno/"
	refute_output --partial "$DR_APP"
}

@test "cgroup v2: the dyno is born in its cgroup with the limits (pure v2 hosts)" {
	v2 || skip "this host is not pure cgroup v2 (make check runs it under user-mode-linux too)"
	local info="$DYNO_TEST_DIR/info" cg
	dr_bg "$OUT" --size dynotest --info-file "$info" -- 'echo ready; exec sleep 300'
	wait_for 30 test -s "$info"
	cg=$(sed -n 's/^cgroup=//p' "$info")
	init=$(sed -n 's/^init=//p' "$info")
	run grep -x "0::/$cg" "/proc/$init/cgroup"
	assert_success
	assert_equal "$(cat "/sys/fs/cgroup/$cg/memory.oom.group")" 1
	kill -TERM "$DR_PID"
	wait "$DR_PID" || true
	[ ! -d "/sys/fs/cgroup/$cg" ]
}
