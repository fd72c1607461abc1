#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Hostile layers: each is refused, or contained in the image's own root;
# nothing is ever written, linked or removed outside the image folder.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-image

setup() {
	dyno_setup
	require_root
	require_cmd umoci
	H="$DYNO_TEST_DIR/host"
	mkdir -p "$H"
	echo 'dynotest-SECRET' >"$H/secret"
	chmod 600 "$H/secret"
	I="$DYNO_TEST_DIR/img"
	image_new "$I"
}

teardown() {
	dyno_teardown
}

# hostile CASE [OPTIONS]: import an image whose one layer is CASE.
hostile() {
	local t="$DYNO_TEST_DIR/$1.tar"
	dyno-image-layer.py "$1" "$H" "$t"
	image_add_tar "$I" "$t"
	shift
	run --separate-stderr dyno-image import dynotest-img web "$I" "$@"
}

# The host folder is as setup() left it, and no partial image remains.
host_intact() {
	[ "$(ls -A "$H")" = secret ]
	[ "$(cat "$H/secret")" = dynotest-SECRET ]
	[ "$(stat -c %h "$H/secret")" = 1 ]
	[ -z "$(find "$DYNO_ROOT/images" -mindepth 1 -maxdepth 1 -name '.*-*')" ]
	[ ! -e "$DYNO_TEST_DIR/pwned" ] && [ ! -e /pwned ]
}

root_of() {
	image_root "${1#sha256:}"
}

@test "a name with .. is refused" {
	hostile dotdot
	[ "$status" -eq 65 ]
	[[ "$stderr" == *'".."'* ]]
	host_intact
}

@test "an absolute name is refused" {
	hostile absolute
	[ "$status" -eq 65 ]
	host_intact
}

@test "a write through a symlink stays in the image" {
	hostile symlink-write
	host_intact
	if [ "$status" -eq 0 ]; then
		r=$(root_of "$output")
		[ -f "$r$H/pwned" ] || [ -f "$r/a/pwned" ]
	else
		[ "$status" -eq 65 ]
	fi
}

@test "a hard link out of the tree is refused" {
	hostile hardlink-out
	[ "$status" -eq 65 ]
	host_intact
}

@test "a hard link to an absolute path is refused" {
	hostile hardlink-abs
	[ "$status" -eq 65 ]
	host_intact
}

@test "a hard link through a symlink resolves inside the image" {
	hostile hardlink-via-symlink
	[ "$status" -ne 0 ]
	host_intact
}

@test "a whiteout of the root or of . is refused" {
	hostile whiteout-root
	[ "$status" -eq 65 ]
	host_intact
	image_new "$DYNO_TEST_DIR/img2"
	I="$DYNO_TEST_DIR/img2"
	hostile whiteout-dot
	[ "$status" -eq 65 ]
	host_intact
}

@test "a whiteout through a symlink removes nothing outside" {
	hostile whiteout-via-symlink
	host_intact
}

@test "an entry that turns the root into a symlink is refused" {
	hostile root-symlink
	[ "$status" -eq 65 ]
	host_intact
}

@test "device nodes are skipped" {
	hostile devices
	assert_success
	r=$(root_of "$output")
	[ -f "$r/ok" ]
	[ ! -e "$r/dev/mem" ] && [ ! -e "$r/dev/sda" ]
}

@test "a decompression bomb stops at the size limit" {
	t="$DYNO_TEST_DIR/bomb.tar"
	dyno-image-layer.py bomb "$H" "$t"
	image_add_tar "$I" "$t"
	rm -f "$t"
	# 64 MiB of zeros, stored by umoci as a gzip blob of some 64 KiB.
	[ -z "$(find "$I/blobs" -size +1M)" ]
	run --separate-stderr dyno-image import dynotest-img web "$I" --max-size 8M
	[ "$status" -eq 65 ]
	[[ "$stderr" == *limit* ]]
	host_intact
}

@test "the entry limit holds" {
	hostile many --max-entries 100
	[ "$status" -eq 65 ]
	[[ "$stderr" == *entries* ]]
	host_intact
	run --separate-stderr dyno-image import dynotest-img web "$I" --max-entries 1000
	assert_success
}
