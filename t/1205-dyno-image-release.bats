#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-image release: one release vN naming each type's image, carried
# over by config changes, and rollbacks between image and slug releases.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-image

setup() {
	dyno_setup
	require_root
	require_cmd umoci
	I="$DYNO_TEST_DIR/img"
	image_new "$I"
	mkdir -p "$DYNO_TEST_DIR/l/srv"
	echo page >"$DYNO_TEST_DIR/l/srv/index"
	image_add_dir "$I" "$DYNO_TEST_DIR/l"
	umoci config --image "$I:app" --config.cmd 'exec serve --port $PORT' >/dev/null
	run --separate-stderr dyno-image import dynotest-imgrel web "$I"
	assert_success
	WEB=$output
	umoci config --image "$I:app" --config.entrypoint /bin/work \
		--config.cmd "it's" --config.cmd 'a b' >/dev/null
	run --separate-stderr dyno-image import dynotest-imgrel worker "$I"
	assert_success
	WORKER=$output
	A="$DYNO_ROOT/apps/dynotest-imgrel"
}

teardown() {
	dyno_teardown
}

@test "one release names each type's image and runs each command" {
	run --separate-stderr dyno-image release dynotest-imgrel web worker
	assert_success
	assert_output v1
	[ "$(cat "$A/releases/v1/images/web")" = "$WEB" ]
	[ "$(cat "$A/releases/v1/images/worker")" = "$WORKER" ]
	run cat "$A/releases/v1/slug/Procfile"
	assert_line 'web: exec serve --port $PORT'
	assert_line "worker: exec '/bin/work' 'it'\\''s' 'a b'"
	run --separate-stderr release list dynotest-imgrel
	assert_output --partial "Deploy images web, worker"
	[ -z "$(find "$DYNO_ROOT/images" -maxdepth 1 -name '.stage-*')" ]
}

@test "config changes keep the images; rollbacks go to a slug release and back" {
	run --separate-stderr dyno-image release dynotest-imgrel web
	assert_success
	run --separate-stderr release config set dynotest-imgrel FOO=bar
	assert_success
	[ "$(cat "$A/releases/v2/images/web")" = "$WEB" ]
	mkdir -p "$DYNO_TEST_DIR/slug"
	echo 'web: echo slug' >"$DYNO_TEST_DIR/slug/Procfile"
	run --separate-stderr release create dynotest-imgrel --slug "$DYNO_TEST_DIR/slug"
	assert_output v3
	[ ! -e "$A/releases/v3/images" ]
	run --separate-stderr release rollback dynotest-imgrel v2
	assert_output v4
	[ "$(cat "$A/releases/v4/images/web")" = "$WEB" ]
	run --separate-stderr release rollback dynotest-imgrel v3
	assert_output v5
	[ ! -e "$A/releases/v5/images" ]
	grep -qx 'web: echo slug' "$A/releases/v5/slug/Procfile"
}

@test "a type without an imported image is refused, nothing released" {
	run --separate-stderr dyno-image release dynotest-imgrel web clock
	[ "$status" -eq 66 ]
	[[ "$stderr" == *"no image imported for clock"* ]]
	[ ! -e "$A/releases/v1" ]
}

@test "the release's images are what gc keeps" {
	run --separate-stderr dyno-image release dynotest-imgrel web
	assert_success
	rm -r "$A/images"
	run --separate-stderr dyno-image gc
	assert_output "$WORKER"
	[ -d "$DYNO_ROOT/images/sha256-${WEB#sha256:}" ]
}

@test "release --images refuses a bad image file" {
	mkdir -p "$DYNO_TEST_DIR/imgs" "$DYNO_TEST_DIR/slug"
	echo 'web: true' >"$DYNO_TEST_DIR/slug/Procfile"
	echo 'sha256:../../etc' >"$DYNO_TEST_DIR/imgs/web"
	run --separate-stderr release create dynotest-imgrel --slug "$DYNO_TEST_DIR/slug" --images "$DYNO_TEST_DIR/imgs"
	[ "$status" -eq 65 ]
}

@test "stack NAME records the stack's image, which gc keeps" {
	run --separate-stderr dyno-image stack dynotest-stk "$I"
	assert_success
	[ "$(cat "$DYNO_ROOT/stacks/dynotest-stk")" = "$output" ]
	rm -r "$A/images"
	run --separate-stderr dyno-image gc
	assert_success
	[ "$(dyno-image list | wc -l)" -eq 1 ]
	run --separate-stderr dyno-image stack Bad/Name "$I"
	[ "$status" -eq 64 ]
}

@test "a release image runs the release phase on that image, and its failure stops the release" {
	R="$DYNO_TEST_DIR/rimg"
	image_with_shell "$R"
	umoci config --image "$R:app" --config.cmd 'read -r p </srv/index && test ! -e /usr/bin/env && echo "release phase on $p"' >/dev/null
	run --separate-stderr dyno-image import dynotest-imgrel release "$R"
	assert_success
	run --separate-stderr dyno-image release dynotest-imgrel web release
	assert_success
	assert_output v1
	grep -q 'release phase on page' <<<"$stderr"
	grep -q '^status=succeeded' "$A/releases/v1/release"
	[ "$(readlink "$A/current")" = releases/v1 ]
	# A release image that fails: the release is failed, current stays.
	umoci config --image "$R:app" --config.cmd 'echo failing; exit 3' >/dev/null
	run --separate-stderr dyno-image import dynotest-imgrel release "$R"
	assert_success
	run --separate-stderr dyno-image release dynotest-imgrel web release
	assert_failure
	grep -q '^status=failed' "$A/releases/v2/release"
	[ "$(readlink "$A/current")" = releases/v1 ]
}
