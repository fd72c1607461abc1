#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-image gc: an image no app, release or stack names goes, unless a
# dyno holds it; crashed imports' temp folders go too.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-image

setup() {
	dyno_setup
	require_root
	require_cmd umoci
	I="$DYNO_TEST_DIR/img"
	image_new "$I"
	mkdir -p "$DYNO_TEST_DIR/l/etc"
	echo a >"$DYNO_TEST_DIR/l/etc/a"
	image_add_dir "$I" "$DYNO_TEST_DIR/l"
	run --separate-stderr dyno-image import dynotest-gc web "$I"
	assert_success
	HEX=${output#sha256:}
}

teardown() {
	exec 7<&- || true
	dyno_teardown
}

@test "a pushed image is kept, an unreferenced one removed" {
	run --separate-stderr dyno-image gc
	assert_success
	assert_output ""
	[ -d "$(image_root "$HEX")" ]
	rm "$DYNO_ROOT/apps/dynotest-gc/images/web"
	run --separate-stderr dyno-image gc --dry-run
	assert_output "sha256:$HEX"
	[ -d "$(image_root "$HEX")" ]
	run --separate-stderr dyno-image gc
	assert_output "sha256:$HEX"
	[ ! -e "$DYNO_ROOT/images/sha256-$HEX" ]
}

@test "a release or a stack that names the image keeps it" {
	rm "$DYNO_ROOT/apps/dynotest-gc/images/web"
	mkdir -p "$DYNO_ROOT/apps/dynotest-gc/releases/v1/images"
	echo "sha256:$HEX" >"$DYNO_ROOT/apps/dynotest-gc/releases/v1/images/web"
	run --separate-stderr dyno-image gc
	assert_output ""
	rm -r "$DYNO_ROOT/apps/dynotest-gc/releases"
	mkdir -p "$DYNO_ROOT/stacks"
	echo "sha256:$HEX" >"$DYNO_ROOT/stacks/dynotest-bookworm"
	run --separate-stderr dyno-image gc
	assert_output ""
	[ -d "$(image_root "$HEX")" ]
}

@test "an image a dyno holds is kept until it lets go" {
	rm "$DYNO_ROOT/apps/dynotest-gc/images/web"
	exec 7<"$DYNO_ROOT/images/sha256-$HEX/config.json"
	flock -s 7
	run --separate-stderr dyno-image gc
	assert_success
	assert_output ""
	[ -d "$(image_root "$HEX")" ]
	exec 7<&-
	run --separate-stderr dyno-image gc
	assert_output "sha256:$HEX"
}

@test "a crashed import's temp folders are removed" {
	mkdir -p "$DYNO_ROOT/images/.stage-abc123" "$DYNO_ROOT/images/.tmp-x-abc123/rootfs"
	run --separate-stderr dyno-image gc
	assert_success
	[ ! -e "$DYNO_ROOT/images/.stage-abc123" ]
	[ ! -e "$DYNO_ROOT/images/.tmp-x-abc123" ]
}

@test "list shows each image and its command" {
	run --separate-stderr dyno-image list
	assert_success
	assert_output --partial "sha256:$HEX"
}
