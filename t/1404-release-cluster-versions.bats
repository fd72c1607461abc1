#!/usr/bin/env bats
# Release versions are the cluster's: two hosts making releases of one app
# at the same time never both make vN, and no config change is lost (each
# builds on the cluster's current release, under the app's release lock in
# etcd, and takes its version there before writing anything).
bats_require_minimum_version 1.5.0
load helper/common
load helper/etcd

APPNAME=dynotest-ver
HOSTS="h1 h2"
N=6

setup() {
	require_root
	dyno_setup
	etcd_setup
	slug_hosts_setup
	# no agents in this file
	slug_host_register
}

teardown() {
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		ectl get --prefix /dyno/apps/ --keys-only | sed 's/^/# /' >&3
	fi
	slug_hosts_teardown
	etcd_teardown
	dyno_teardown
}

# versions: the app's release keys in etcd, one vN a line, sorted.
versions() {
	ectl get --prefix "/dyno/apps/$APPNAME/releases/" --keys-only |
		sed -n 's|.*/releases/||p' | sort -V
}

# sets H PREFIX: N config sets on host H, one var each (PREFIX1..N); the
# versions they printed into H.out, failures into H.err.
sets() {
	local i
	for ((i = 1; i <= N; i++)); do
		on "$1" release config set "$APPNAME" "$2$i=x" \
			>>"$DYNO_TEST_DIR/$1.out" 2>>"$DYNO_TEST_DIR/$1.err" ||
			echo "exit $?" >>"$DYNO_TEST_DIR/$1.err"
	done
}

@test "two hosts racing $N config sets each: 2N distinct versions, no change lost, both hosts on one list" {
	run --separate-stderr on h1 release create "$APPNAME" --slug "$DYNO_TEST_DIR/slug.tgz"
	assert_success
	assert_output v1
	local t0 p1 p2 s1 s2
	t0=$(date +%s%N)
	sets h1 A &
	p1=$!
	sets h2 B &
	p2=$!
	wait_status "$p1"
	s1=$status
	wait_status "$p2"
	s2=$status
	echo "# $((2 * N)) racing config sets in $((($(date +%s%N) - t0) / 1000000)) ms" >&3
	[ "$s1" -eq 0 ] && [ "$s2" -eq 0 ]
	# no command failed (stderr has only the app[api] lines)
	run grep -v ' app\[api\]: ' "$DYNO_TEST_DIR/h1.err" "$DYNO_TEST_DIR/h2.err"
	assert_output ""
	# every printed version once, v2..v(2N+1), and etcd has exactly those
	run bash -c "cat $DYNO_TEST_DIR/h1.out $DYNO_TEST_DIR/h2.out | sort -V | tr '\n' ' '"
	assert_output "$(seq -f 'v%g' 2 $((2 * N + 1)) | tr '\n' ' ')"
	run versions
	assert_output "$(seq -f 'v%g' 1 $((2 * N + 1)))"
	run ectl get "/dyno/apps/$APPNAME/current" --print-value-only
	assert_output "\"v$((2 * N + 1))\""
	# no lost update: the last release has all 2N vars, on both hosts
	local h
	for h in $HOSTS; do
		run --separate-stderr on "$h" release follow "$APPNAME"
		assert_success
		assert_output "v$((2 * N + 1))"
		run --separate-stderr on "$h" release config "$APPNAME" --shell
		assert_success
		assert_equal "$(grep -c "^export [AB][0-9]*='x'$" <<<"$output")" $((2 * N))
	done
	# a version both hosts have is the same release on both
	local v
	for v in $(versions); do
		[ -d "$DYNO_TEST_DIR/h1/root/apps/$APPNAME/releases/$v" ] &&
		[ -d "$DYNO_TEST_DIR/h2/root/apps/$APPNAME/releases/$v" ] || continue
		cmp "$DYNO_TEST_DIR/h1/root/apps/$APPNAME/releases/$v/env" \
			"$DYNO_TEST_DIR/h2/root/apps/$APPNAME/releases/$v/env"
	done
	# the lock is freed when each command ends
	run ectl get "/dyno/apps/$APPNAME/lock"
	assert_output ""
}

@test "a config set on a host that lacks the cluster's current builds on it (made here first)" {
	run --separate-stderr on h1 release create "$APPNAME" --slug "$DYNO_TEST_DIR/slug.tgz"
	assert_success
	run --separate-stderr on h1 release config set "$APPNAME" ONE=1
	assert_output v2
	# h2 has never seen the app
	run --separate-stderr on h2 release config set "$APPNAME" TWO=2
	assert_success
	assert_output v3
	run --separate-stderr on h2 release config get "$APPNAME" ONE
	assert_output 1
	[ -d "$DYNO_TEST_DIR/h2/root/apps/$APPNAME/releases/v2" ]
	# h1's own next version is etcd's, not its local v3
	run --separate-stderr on h1 release config set "$APPNAME" THREE=3
	assert_output v4
	run --separate-stderr on h1 release config get "$APPNAME" TWO
	assert_output 2
}

@test "the first release's formation in etcd: web=1 with a web type, none without" {
	run --separate-stderr on h1 release create "$APPNAME" --slug "$DYNO_TEST_DIR/slug.tgz"
	assert_success
	run ectl get --print-value-only "/dyno/apps/$APPNAME/formation"
	assert_output '{"web":1}'
	mkdir "$DYNO_TEST_DIR/noweb"
	printf 'worker: exec sleep 4242.404\n' >"$DYNO_TEST_DIR/noweb/Procfile"
	tar czf "$DYNO_TEST_DIR/noweb.tgz" -C "$DYNO_TEST_DIR/noweb" .
	run --separate-stderr on h1 release create dynotest-cvw --slug "$DYNO_TEST_DIR/noweb.tgz"
	assert_success
	run ectl get --print-value-only /dyno/apps/dynotest-cvw/formation
	assert_output '{}'
	# and it can be scaled: the formation names no type it lacks
	run --separate-stderr on h1 dyno-manager scale dynotest-cvw worker=0
	assert_success
}

@test "the release lock: a holder's command waits, and goes on when the holder's lease ends" {
	run --separate-stderr on h1 release create "$APPNAME" --slug "$DYNO_TEST_DIR/slug.tgz"
	assert_success
	local lease t0 ms
	lease=$(ectl lease grant 3 | awk '{print $2}')
	ectl put --lease="$lease" "/dyno/apps/$APPNAME/lock" '{"host":"dead","pid":1}' >/dev/null
	t0=$(date +%s%N)
	run --separate-stderr on h2 release config set "$APPNAME" X=1
	ms=$((($(date +%s%N) - t0) / 1000000))
	assert_success
	assert_output v2
	echo "# waited $ms ms for a dead holder's 3 s lease" >&3
	[ "$ms" -ge 1000 ]
}

@test "etcd down: no release is made, on no host (exit 69)" {
	run --separate-stderr on h1 release create "$APPNAME" --slug "$DYNO_TEST_DIR/slug.tgz"
	assert_success
	etcd_kill 1
	etcd_kill 2
	etcd_kill 3
	run --separate-stderr on h1 release config set "$APPNAME" X=1
	assert_failure 69
	assert_output ""
	[ "$(grep -c "no release made" <<<"$stderr")" -eq 1 ]
	[ ! -e "$DYNO_TEST_DIR/h1/root/apps/$APPNAME/releases/v2" ]
	run --separate-stderr on h1 release config get "$APPNAME" X
	assert_failure 1
}
