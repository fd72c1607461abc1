#!/usr/bin/env bats
# dyno-build: where buildpacks and sources come from (folder, git URL#ref,
# tarball URL, app.conf, BUILDPACK_URL, .buildpacks), all on this machine.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-build

setup() {
	dyno_setup
}

teardown() {
	db_teardown
	dyno_teardown
}

# A git repository holding a buildpack: v1 tagged "Tagged", main "Main".
db_pack_repo() {
	PR="$DYNO_TEST_DIR/pack.git"
	db_pack "$PR" Tagged marker.txt
	git -C "$PR" init -q -b main
	git -C "$PR" add -A
	git -C "$PR" -c user.name=t -c user.email=t@example.com commit -qm v1
	git -C "$PR" tag v1
	sed -i 's/^echo "Tagged"$/echo "Main"/' "$PR/bin/detect"
	git -C "$PR" -c user.name=t -c user.email=t@example.com commit -qam main
}

@test "a buildpack from a git URL, at a tag and at its head" {
	db_setup
	db_pack_repo
	echo hi >"$DB_SRC/marker.txt"
	run --separate-stderr db_build --buildpack "file://$PR#v1" "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "-----> Tagged app detected"
	run --separate-stderr db_build --buildpack "file://$PR" "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "-----> Main app detected"
}

@test "a buildpack from a tarball URL (one top folder); a source tarball URL" {
	db_setup
	db_pack "$DYNO_TEST_DIR/t/pack-1.0" Tarred marker.txt
	tar -C "$DYNO_TEST_DIR/t" -czf "$DYNO_TEST_DIR/pack.tgz" pack-1.0
	echo hi >"$DB_SRC/marker.txt"
	tar -C "$DB_SRC" -czf "$DYNO_TEST_DIR/src.tar.gz" .
	run --separate-stderr db_build --buildpack "file://$DYNO_TEST_DIR/pack.tgz" \
		"$DB_APP" "file://$DYNO_TEST_DIR/src.tar.gz"
	assert_success
	assert_line -- "-----> Tarred app detected"
	run --separate-stderr db_build --buildpack "file://$DYNO_TEST_DIR/nothing.tgz" \
		"$DB_APP" "$DB_SRC"
	assert_equal "$status" 69
}

@test "the app's list: app.conf buildpacks=, then BUILDPACK_URL, then .buildpacks" {
	db_setup
	db_pack "$DYNO_TEST_DIR/conf" FromConf marker.txt
	db_pack "$DYNO_TEST_DIR/var" FromVar marker.txt
	db_pack "$DYNO_TEST_DIR/file1" FromFile1 marker.txt
	db_pack "$DYNO_TEST_DIR/file2" FromFile2 marker.txt
	echo hi >"$DB_SRC/marker.txt"
	printf '# packs\n%s\n\n%s\n' "$DYNO_TEST_DIR/file1" "$DYNO_TEST_DIR/file2" \
		>"$DB_SRC/.buildpacks"
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "-----> FromFile1 app detected"
	assert_line -- "-----> FromFile2 app detected"
	release config set "$DB_APP" BUILDPACK_URL="$DYNO_TEST_DIR/var" >/dev/null
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "-----> FromVar app detected"
	refute_line -- "-----> FromFile1 app detected"
	printf '[app]\nbuildpacks = %s\n' "$DYNO_TEST_DIR/conf" \
		>"$DYNO_ROOT/apps/$DB_APP/app.conf"
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "-----> FromConf app detected"
}

@test "a source from a git URL#ref records its commit" {
	db_setup
	db_pack "$DYNO_TEST_DIR/a" Dynotest marker.txt
	git init -q -b main "$DB_SRC"
	echo hi >"$DB_SRC/marker.txt"
	git -C "$DB_SRC" add -A
	git -C "$DB_SRC" -c user.name=t -c user.email=t@example.com commit -qm one
	git -C "$DB_SRC" tag v7
	local sha
	sha=$(git -C "$DB_SRC" rev-parse HEAD)
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/a" "$DB_APP" "file://$DB_SRC#v7"
	assert_success
	run -0 release show "$DB_APP"
	assert_output --partial "$sha"
	assert [ ! -e "$DYNO_ROOT/apps/$DB_APP/releases/v1/slug/.git" ]
}
