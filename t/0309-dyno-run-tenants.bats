#!/usr/bin/env bats
# dyno-run: each app (tenant) runs under host ids of its own, so per-user
# kernel limits (inotify, queued signals, ...) are never shared.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-run

BASE=1879048192		# userns_base's default in dyno.conf(5)
SIZE=65536		# userns_size's default

setup() {
	dyno_setup
	dr_setup
	require_cmd python3
	B="$DR_APP-b"
	dr_release "$B" v1
	OUT="$DYNO_TEST_DIR/out"
}

teardown() {
	local a=$DR_APP
	dr_teardown
	DR_APP=$B dr_teardown
	DR_APP=$a
	dyno_teardown
}

# run_in APP ARGS...: dyno-run on APP's current release, with a deadline.
run_in() {
	local app=$1
	shift
	timeout -k 5 120 dyno-run --app "$app" --net none "$@"
}

MAP='read -r a b c </proc/self/uid_map; echo "$a $b $c"'

@test "by default each app gets its own range of host ids, kept for good" {
	run --separate-stderr run_in "$DR_APP" -- "$MAP"
	assert_success
	assert_output "0 $BASE $SIZE"
	run --separate-stderr run_in "$B" -- "$MAP"
	assert_success
	assert_output "0 $((BASE + SIZE)) $SIZE"
	run --separate-stderr run_in "$DR_APP" -- "$MAP"
	assert_output "0 $BASE $SIZE"
	assert_equal "$(cat "$DYNO_ROOT/userns/$DR_APP")" "$(printf 'base=%s\nsize=%s' "$BASE" "$SIZE")"
	assert_equal "$(cat "$DYNO_ROOT/userns/$B")" "$(printf 'base=%s\nsize=%s' "$((BASE + SIZE))" "$SIZE")"
}

@test "the first dynos of a new app, started together, share one range" {
	local i
	for i in 1 2 3 4; do
		dr_bg "$OUT.$i" -- "$MAP"
	done
	for i in 1 2 3 4; do
		wait "${DR_PIDS[$((i - 1))]}"
	done
	for i in 1 2 3 4; do
		assert_equal "$(grep -v heroku "$OUT.$i")" "0 $BASE $SIZE"
	done
	assert_equal "$(ls "$DYNO_ROOT/userns")" "$DR_APP"
}

@test "app A holding every inotify instance leaves app B its own" {
	local max
	max=$(cat /proc/sys/fs/inotify/max_user_instances)
	cp "$TOP/t/data/dyno-run/hog.py" "$DR_SLUG/"
	cp "$TOP/t/data/dyno-run/hog.py" "$DYNO_ROOT/apps/$B/releases/v1/slug/"
	dr_bg "$OUT" -- python3 /app/hog.py inotify
	wait_for 30 grep -q "^held" "$OUT"
	run grep "^held" "$OUT"
	assert_output "held $max EMFILE"
	# A second dyno of A shares A's count: the limit still holds per app.
	run --separate-stderr run_in "$DR_APP" -- python3 /app/hog.py inotify-once
	assert_output "inotify EMFILE"
	run --separate-stderr run_in "$B" -- python3 /app/hog.py inotify-once
	assert_success
	assert_output "inotify ok"
}

@test "app A filling its queue of real-time signals leaves app B its timers" {
	cp "$TOP/t/data/dyno-run/hog.py" "$DR_SLUG/"
	cp "$TOP/t/data/dyno-run/hog.py" "$DYNO_ROOT/apps/$B/releases/v1/slug/"
	dr_bg "$OUT" -- python3 /app/hog.py sigqueue
	wait_for 60 grep -q "^held" "$OUT"
	run grep "^held" "$OUT"
	assert_output --regexp "^held [0-9]+ EAGAIN$"
	run --separate-stderr run_in "$DR_APP" -- python3 /app/hog.py timer-once
	assert_output "timer_create EAGAIN"
	run --separate-stderr run_in "$B" -- python3 /app/hog.py timer-once
	assert_success
	assert_output "timer_create ok"
}

@test "when every range is taken the next app is refused with 78; --no-userns still runs" {
	printf '[dyno]\nuserns_ranges = 1\n' >>"$DYNO_CONF"
	run --separate-stderr run_in "$DR_APP" -- true
	assert_success
	run --separate-stderr run_in "$B" -- true
	assert_equal "$status" 78
	assert_equal "$stderr" "dyno-run: userns: app $B: no free range of host ids: all 1 ranges of $SIZE ids from $BASE are taken or in /etc/subuid (dyno.conf: [dyno] userns_ranges)"
	run --separate-stderr run_in "$B" --no-userns -- "$MAP; id -u"
	assert_success
	assert_output "$(printf '0 0 4294967295\n65534')"
	run ls "$DYNO_ROOT/userns"
	assert_output "$DR_APP"
}

@test "userns = no in dyno.conf turns it off; --userns turns it back on" {
	printf '[dyno]\nuserns = no\n' >>"$DYNO_CONF"
	run --separate-stderr run_in "$DR_APP" -- "$MAP"
	assert_output "0 0 4294967295"
	run --separate-stderr run_in "$DR_APP" --userns -- "$MAP"
	assert_output "0 $BASE $SIZE"
}

@test "ranges given to users in /etc/subuid are never handed out" {
	require_cmd unshare
	[ -f /etc/subuid ] || skip "no /etc/subuid to cover"
	printf 'dynotest:%s:%s\n' "$BASE" 100 >"$DYNO_TEST_DIR/subuid"
	run --separate-stderr unshare -m --propagation private sh -c \
		'mount --bind "$1" /etc/subuid && shift && exec "$@"' _ \
		"$DYNO_TEST_DIR/subuid" timeout 60 dyno-run --app "$DR_APP" \
		--net none -- "$MAP"
	assert_success
	assert_output "0 $((BASE + SIZE)) $SIZE"
}
