#!/usr/bin/env bats
# dyno-run and dyno-manager on a pure cgroup v2 hierarchy: systemd's
# delegation rules, controllers enabled top-down, a missing controller.
# The cases that make cgroups outside dyno's own subtree run only in the
# throw-away kernel of t/helper/uml-suite.sh (DYNO_TEST_UML=1).
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-run

setup() {
	dyno_setup
	dr_setup
	dr_size
	OUT="$DYNO_TEST_DIR/out"
	[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] ||
		skip "this host is not pure cgroup v2 (make check runs it under user-mode-linux too)"
	SCRATCH=()
	# The manager's dynos on the host's network: Debian's user-mode-linux
	# kernel has no nftables NAT, which a space needs.
	printf '[manager]\nnetwork = host\nbase_port = %s\n' "$(free_port)" >>"$DYNO_CONF"
}

teardown() {
	local d
	dr_teardown
	for d in "${SCRATCH[@]}"; do
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	dyno_teardown
}

# stderr_has LINE: one whole line of $stderr is LINE (the dyno's own
# "Starting process" line may come first).
stderr_has() {
	grep -qxF -- "$1" <<<"$stderr" || {
		printf 'stderr has no line:\n%s\nstderr:\n%s\n' "$1" "$stderr" >&2
		return 1
	}
}

uml_only() {
	[ "${DYNO_TEST_UML:-}" = 1 ] ||
		skip "makes cgroups outside dyno's subtree: only in user-mode-linux"
}

# unit DIR CONTROLLERS DELEGATED: a cgroup like a systemd unit's, whose
# parent gives it CONTROLLERS, marked delegated or not, with a leaf
# "payload" for the test's own processes.
unit() {
	local parent=${1%/*}
	mkdir -p "$1/payload"
	SCRATCH+=("$parent")
	[ -z "$2" ] || echo "$2" >"$parent/cgroup.subtree_control"
	[ "$3" = yes ] && setfattr -n trusted.delegate -v 1 "$1"
	return 0
}

# in_cgroup DIR CMD...: run CMD moved into DIR first.
in_cgroup() {
	local dir=$1
	shift
	bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$dir" "$@"
}

@test "a dyno's cgroup gets memory, pids and cpu, enabled from the top down" {
	dr_bg "$OUT" --size dynotest --info-file "$DYNO_TEST_DIR/info" -- 'echo ready; exec sleep 300'
	wait_for 30 test -s "$DYNO_TEST_DIR/info"
	cg=$(sed -n 's/^cgroup=//p' "$DYNO_TEST_DIR/info")
	[ -d "/sys/fs/cgroup/$cg" ]
	# every folder above the dyno's gives its children the three
	d=/sys/fs/cgroup/${cg%/*}
	while [ "$d" != /sys/fs/cgroup ]; do
		d=${d%/*}
		run grep -ow -e cpu -e memory -e pids "$d/cgroup.subtree_control"
		assert_output $'cpu\nmemory\npids'
		[ -n "$(getfattr --only-values -n trusted.delegate "$d" 2>/dev/null)" ] && break
	done
	assert_equal "$(cat "/sys/fs/cgroup/$cg/pids.max")" 48
}

@test "the manager's formation comes up, each dyno in its own cgroup" {
	local mgr
	mkdir -p "$DYNO_TEST_DIR/slug"
	printf 'web: exec python3 -m http.server $PORT\nworker: exec sleep 300\n' >"$DYNO_TEST_DIR/slug/Procfile"
	release create dynotest-cg --slug "$DYNO_TEST_DIR/slug" >/dev/null 2>&1
	dyno-manager scale dynotest-cg web=1 worker=2 >/dev/null
	dyno-manager dynotest-cg >"$OUT" 2>&1 3>&- &
	mgr=$!
	wait_for 120 bash -c "[ \$(grep -lx up '$DYNO_ROOT'/apps/dynotest-cg/dynos/*/state 2>/dev/null | wc -l) -eq 3 ]"
	assert_equal "$(app_pids dynotest-cg | wc -l)" 6	# an init and a command each
	assert_equal "$(wc -l <"$DYNO_ROOT/apps/dynotest-cg/routes")" 1
	kill -TERM "$mgr"
	wait "$mgr"
	assert_equal "$(dyno_cgroup_dirs dynotest-cg)" ""
}

@test "under systemd, a delegated unit's dynos are made inside it" {
	uml_only
	[ -d /run/systemd/system ] || skip "no systemd layout"
	local u=/sys/fs/cgroup/dynotest-a.slice/dynotest-a.service
	unit "$u" "+cpu +memory +pids" yes
	run -0 --separate-stderr in_cgroup "$u/payload" timeout 60 dyno-run --app "$DR_APP" --net none -- 'cat /proc/self/cgroup; echo ok'
	assert_line ok
	[ -d "$u/dyno" ]
	run grep -ow -e cpu -e memory -e pids "$u/cgroup.subtree_control"
	assert_output $'cpu\nmemory\npids'
}

@test "under systemd, outside a delegated cgroup: exit 78 and what to do" {
	uml_only
	[ -d /run/systemd/system ] || skip "no systemd layout"
	local u=/sys/fs/cgroup/dynotest-b.slice/dynotest-b.service
	unit "$u" "+cpu +memory +pids" no
	run -78 --separate-stderr in_cgroup "$u/payload" env DYNO_SCOPE=1 \
		dyno-run --app "$DR_APP" --net none -- true
	assert_equal "$stderr" "dyno-run: cgroup /dynotest-b.slice/dynotest-b.service/payload is not delegated to dyno by systemd: run it from a unit with Delegate=yes (dyno-manager@.service, or systemd-run --scope -p Delegate=yes)"
	[ ! -d "$u/dyno" ]
}

@test "under systemd, outside a delegated cgroup: dyno-run asks for a scope" {
	uml_only
	[ -d /run/systemd/system ] || skip "no systemd layout"
	local u=/sys/fs/cgroup/dynotest-c.slice/dynotest-c.service bin="$DYNO_TEST_DIR/sd"
	unit "$u" "+cpu +memory +pids" no
	echo "+cpu +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control
	SCRATCH+=(/sys/fs/cgroup/dyno.slice)
	# systemd-run --scope as systemd documents it: a new scope unit in
	# the slice, delegated, holding the caller, which then execs argv.
	mkdir -p "$bin"
	cat >"$bin/systemd-run" <<'SH'
#!/bin/bash
echo "$*" >"$ARGS_FILE"
while [ "$1" != -- ]; do shift; done
shift
s=/sys/fs/cgroup/dyno.slice/run-u$$.scope
mkdir -p "$s"
echo "+cpu +memory +pids" >/sys/fs/cgroup/dyno.slice/cgroup.subtree_control
setfattr -n trusted.delegate -v 1 "$s"
echo $$ >"$s/cgroup.procs"
exec "$@"
SH
	chmod 755 "$bin/systemd-run"
	run -0 --separate-stderr in_cgroup "$u/payload" env ARGS_FILE="$DYNO_TEST_DIR/args" PATH="$bin:$PATH" \
		timeout 60 dyno-run --app "$DR_APP" --net none -- 'echo in-scope'
	assert_output in-scope
	run cat "$DYNO_TEST_DIR/args"
	assert_output --regexp "^--scope --quiet --collect --slice=dyno.slice --property=Delegate=yes -- /.*/dyno-run --app $DR_APP --net none -- echo in-scope\$"
	[ ! -d "$u/dyno" ]
}

@test "a controller missing from the delegated unit: exit 78 naming it" {
	uml_only
	[ -d /run/systemd/system ] || skip "no systemd layout"
	local u=/sys/fs/cgroup/dynotest-d.slice/dynotest-d.service
	echo "+cpu +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control
	unit "$u" "+cpu +memory" yes
	run -78 --separate-stderr in_cgroup "$u/payload" dyno-run --app "$DR_APP" --net none -- true
	stderr_has "dyno-run: cgroup v2 controller pids is not available in $u: enable it in its parent's cgroup.subtree_control (under systemd: Delegate=yes on the unit)"
}

@test "a unit whose processes sit in its own cgroup: exit 78, no internal processes" {
	uml_only
	[ -d /run/systemd/system ] || skip "no systemd layout"
	local u=/sys/fs/cgroup/dynotest-e.slice/dynotest-e.service pid
	unit "$u" "+cpu +memory +pids" yes
	sleep 300 &
	pid=$!
	echo "$pid" >"$u/cgroup.procs"
	run -78 --separate-stderr in_cgroup "$u/payload" dyno-run --app "$DR_APP" --net none -- true
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	stderr_has "dyno-run: enable controllers in $u: it holds processes (cgroup v2 lets only a cgroup without processes give controllers to its children): move them into a leaf"
}

@test "a manager started in its unit's own cgroup moves into a leaf" {
	uml_only
	[ -d /run/systemd/system ] || skip "no systemd layout"
	local u=/sys/fs/cgroup/dynotest-f.slice/dynotest-f.service mgr
	unit "$u" "+cpu +memory +pids" yes
	mkdir -p "$DYNO_TEST_DIR/slug"
	echo 'worker: exec sleep 300' >"$DYNO_TEST_DIR/slug/Procfile"
	release create dynotest-cg --slug "$DYNO_TEST_DIR/slug" >/dev/null 2>&1
	dyno-manager scale dynotest-cg worker=1 >/dev/null
	bash -c 'echo $$ >"$0/cgroup.procs" && exec dyno-manager dynotest-cg' "$u" >"$OUT" 2>&1 3>&- &
	mgr=$!
	wait_for 60 grep -qx up "$DYNO_ROOT/apps/dynotest-cg/dynos/worker.1/state"
	run cat "/proc/$mgr/cgroup"
	assert_output "0::/dynotest-f.slice/dynotest-f.service/supervisor"
	run find "$u/dyno/dynotest-cg" -mindepth 1 -maxdepth 1 -name 'worker.1-*'
	assert_success
	[ -n "$output" ]
	kill -TERM "$mgr"
	wait "$mgr"
	[ ! -d "$u/dyno/dynotest-cg" ]
}
