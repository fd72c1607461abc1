#!/usr/bin/env bats
# dyno-run --userns: the dyno's ids are shifted onto an unused host range,
# and every other wall still stands.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-run

BASE=1879048192		# USERNS_BASE of bin/run/dyno-run.h

setup() {
	dyno_setup
	dr_setup
	OUT="$DYNO_TEST_DIR/out"
}

teardown() {
	dr_teardown
	dyno_teardown
}

@test "--userns: the dyno's ids 0-65535 are the host's BASE and up" {
	echo hello >"$DR_SLUG/f"
	run --separate-stderr dr_run --userns -- 'read -r a b c </proc/self/uid_map; echo "$a $b $c"; read -r a b c </proc/self/gid_map; echo "$a $b $c"; id -u; id -g; stat -c %u /app/f; echo changed >>/app/f && echo wrote'
	assert_success
	assert_output "$(printf '0 %s 65536\n0 %s 65536\n65534\n65534\n65534\nwrote' "$BASE" "$BASE")"
	assert_equal "$(cat "$DR_SLUG/f")" "hello"
}

@test "--userns: on the host the dyno runs as BASE+uid with no capability" {
	local info="$DYNO_TEST_DIR/info" init cmd ids p
	dr_bg "$OUT" --userns --info-file "$info" -- 'touch /tmp/made /app/made; echo ready; exec sleep 300'
	wait_for 30 test -s "$info"
	wait_for 30 grep -qx ready "$OUT"
	init=$(sed -n 's/^init=//p' "$info")
	cmd=$(cut -d' ' -f1 "/proc/$init/task/$init/children")
	[ -n "$cmd" ]
	ids="$((BASE + 65534))	$((BASE + 65534))	$((BASE + 65534))	$((BASE + 65534))"
	for p in "$init" "$cmd"; do
		run grep -E '^(Uid|Gid|Cap(Prm|Eff|Bnd|Amb)):' "/proc/$p/status"
		assert_line "Uid:	$ids"
		assert_line "Gid:	$ids"
		assert_line "CapEff:	0000000000000000"
		assert_line "CapPrm:	0000000000000000"
		assert_line "CapBnd:	0000000000000000"
	done
	# Files it makes belong to the mapped id, never to a host user.
	assert_equal "$(stat -c %u:%g "/proc/$cmd/root/tmp/made")" "$((BASE + 65534)):$((BASE + 65534))"
	assert_equal "$(stat -c %u "/proc/$cmd/root/app/made")" "$((BASE + 65534))"
	# Its user namespace is not the host's, and it is still in its cgroup.
	[ "$(readlink "/proc/$cmd/ns/user")" != "$(readlink /proc/self/ns/user)" ]
	grep -q "/dyno/$DR_APP/" "/proc/$cmd/cgroup"
}

@test "--userns: host root's files are nobody's; mount, unshare and setuid fail" {
	cp /usr/bin/id "$DR_SLUG/suid-id"
	chmod 4755 "$DR_SLUG/suid-id"
	run --separate-stderr dr_run --userns -- 'stat -c %u /usr/bin/env; mount -t tmpfs x /tmp 2>/dev/null || echo no-mount; unshare -r true 2>/dev/null || echo no-unshare; /app/suid-id -u; echo x >/usr/dynotest 2>/dev/null || echo no-write; ls /proc | grep -c "^[0-9]"; hostname'
	assert_success
	assert_line --index 0 65534
	assert_line --index 1 no-mount
	assert_line --index 2 no-unshare
	assert_line --index 3 65534
	assert_line --index 4 no-write
	[ "${lines[5]}" -le 6 ]
	refute_line "$(hostname)"
}

@test "--userns: exit status and signals as without it; nothing left behind" {
	run --separate-stderr dr_run --userns -- 'exit 7'
	assert_equal "$status" 7
	run --separate-stderr dr_run --userns -- 'kill -TERM $$'
	assert_equal "$status" 143
	err_has "Process exited with status 143"
	run dr_cgroups
	assert_output ""
}
