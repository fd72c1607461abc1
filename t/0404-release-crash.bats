#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# release under kill -9: current always names a complete release.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
	APP="$DYNO_TEST_DIR/app"
	mkdir -p "$APP/d"
	printf 'web: ./server\n' >"$APP/Procfile"
	# Enough files that unpacking takes a while to interrupt.
	for i in $(seq 1 300); do
		head -c 2000 /dev/urandom >"$APP/d/f$i"
	done
	tar czf "$DYNO_TEST_DIR/app.tgz" -C "$APP" .
	A="$DYNO_ROOT/apps/dynotest-k"
}

teardown() {
	dyno_teardown
}

# current names releases/vN with status succeeded, an env and a slug.
current_complete() {
	local t
	t=$(readlink "$A/current") || return 1
	[[ "$t" =~ ^releases/v[0-9]+$ ]] || return 1
	grep -qx 'status=succeeded' "$A/$t/release" || return 1
	[ -f "$A/$t/env" ] || return 1
	[ -f "$A/$t/slug/Procfile" ] || return 1
	[ "$(ls "$A/$t/slug/d" | wc -l)" -eq 300 ]
}

@test "kill -9 at random moments during create" {
	local i pid
	release create dynotest-k --slug "$DYNO_TEST_DIR/app.tgz" >/dev/null 2>&1
	for i in $(seq 1 25); do
		release create dynotest-k --slug "$DYNO_TEST_DIR/app.tgz" \
		    >/dev/null 2>&1 3>&- &
		pid=$!
		sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
		current_complete || { echo "round $i: $(readlink "$A/current")"; false; }
	done
	# The next run tidies up: no staging left, nothing pending.
	run --separate-stderr release create dynotest-k --slug "$DYNO_TEST_DIR/app.tgz"
	assert_success
	current_complete
	run bash -c "ls -A '$A/releases' | grep -c staging"
	assert_output 0
	run grep -l 'status=pending' "$A"/releases/v*/release
	assert_failure
}

@test "kill -9 during config set" {
	local i pid
	release create dynotest-k --slug "$DYNO_TEST_DIR/app.tgz" >/dev/null 2>&1
	for i in $(seq 1 15); do
		release config set dynotest-k "K$i=$i" >/dev/null 2>&1 3>&- &
		pid=$!
		sleep "0.0$((RANDOM % 10))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
		current_complete
	done
	run release config set dynotest-k LAST=1
	assert_success
	current_complete
}

@test "a half-made release is marked failed and never current" {
	release create dynotest-k --slug "$DYNO_TEST_DIR/app.tgz" >/dev/null 2>&1
	# What a run killed after publishing v2 leaves: pending, not current.
	cp -a "$A/releases/v1" "$A/releases/v2"
	chmod u+w "$A/releases/v2"
	sed -i 's/^version=1$/version=2/;s/^status=.*/status=pending/' \
	    "$A/releases/v2/release"
	mkdir "$A/releases/.staging-999999"
	run --separate-stderr release config set dynotest-k A=1
	assert_success
	assert_output v3
	[[ "$stderr" == *"v2 was interrupted; marked failed"* ]]
	grep -qx 'status=failed' "$A/releases/v2/release"
	[ ! -e "$A/releases/.staging-999999" ]
	run release list dynotest-k
	assert_line --regexp '^v2 .* failed$'
}

@test "a pending release that current names is completed" {
	release create dynotest-k --slug "$DYNO_TEST_DIR/app.tgz" >/dev/null 2>&1
	sed -i 's/^status=.*/status=pending/' "$A/releases/v1/release"
	run release config set dynotest-k A=1
	assert_success
	grep -qx 'status=succeeded' "$A/releases/v1/release"
}

@test "a succeeded release newer than current was never deployed" {
	release create dynotest-k --slug "$DYNO_TEST_DIR/app.tgz" >/dev/null 2>&1
	cp -a "$A/releases/v1" "$A/releases/v2"
	chmod u+w "$A/releases/v2"
	sed -i 's/^version=1$/version=2/' "$A/releases/v2/release"
	run --separate-stderr release config set dynotest-k A=1
	assert_output v3
	grep -qx 'status=failed' "$A/releases/v2/release"
	[ "$(readlink "$A/current")" = releases/v3 ]
}
