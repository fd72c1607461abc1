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
	[ -n "${HTTP_PID:-}" ] && kill "$HTTP_PID" 2>/dev/null
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

# db_http DIR: a loopback HTTP server on DIR; its base URL in HTTP_URL.
db_http() {
	local port
	port=$(free_port)
	python3 -m http.server --bind 127.0.0.1 --directory "$1" "$port" \
		>/dev/null 2>&1 3>&- &
	HTTP_PID=$!
	HTTP_URL="http://127.0.0.1:$port"
	wait_for 10 curl -sf -o /dev/null "$HTTP_URL/"
}

# db_tar_pack NAME LABEL: a buildpack tarball NAME.tgz served by db_http.
db_tar_pack() {
	db_pack "$DYNO_TEST_DIR/www-src/$1" "$2" marker.txt
	mkdir -p "$DYNO_TEST_DIR/www"
	tar -C "$DYNO_TEST_DIR/www-src" -czf "$DYNO_TEST_DIR/www/$1.tgz" "$1"
}

@test "the app's list: app.conf buildpacks=, then BUILDPACK_URL, then .buildpacks" {
	db_setup
	db_pack "$DYNO_TEST_DIR/conf" FromConf marker.txt
	db_tar_pack var FromVar
	db_tar_pack file1 FromFile1
	db_tar_pack file2 FromFile2
	db_http "$DYNO_TEST_DIR/www"
	echo hi >"$DB_SRC/marker.txt"
	printf '# packs\n%s\n\n%s\n' "$HTTP_URL/file1.tgz" "$HTTP_URL/file2.tgz" \
		>"$DB_SRC/.buildpacks"
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "-----> FromFile1 app detected"
	assert_line -- "-----> FromFile2 app detected"
	release config set "$DB_APP" BUILDPACK_URL="$HTTP_URL/var.tgz" >/dev/null
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "-----> FromVar app detected"
	refute_line -- "-----> FromFile1 app detected"
	# app.conf is the operator's (DYNO_ROOT): a host folder is fine there.
	printf '[app]\nbuildpacks = %s\n' "$DYNO_TEST_DIR/conf" \
		>"$DYNO_ROOT/apps/$DB_APP/app.conf"
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "-----> FromConf app detected"
	kill "$HTTP_PID"
}

@test "hostile: the app names a host folder, file://, ssh:// or ext:: buildpack" {
	db_setup
	local url secret="$DYNO_TEST_DIR/secret"
	db_pack "$secret" Secret marker.txt
	echo hi >"$DB_SRC/marker.txt"
	for url in "$secret" "./../../secret" "file://$secret" \
		"file://$DYNO_TEST_DIR/x.tgz" "ssh://127.0.0.1/x.git" "ext::sh -c id"; do
		printf '%s\n' "$url" >"$DB_SRC/.buildpacks"
		run --separate-stderr db_build "$DB_APP" "$DB_SRC"
		assert_equal "$status" 65
		assert_line -- " !     Buildpack $url refused: the app may name http(s):// and git:// buildpacks only"
		refute_line -- "-----> Secret app detected"
	done
	assert [ ! -e "$DYNO_ROOT/apps/$DB_APP/current" ]
	rm "$DB_SRC/.buildpacks"
	# The operator may name the folder; the config var may not.
	run --separate-stderr db_build --buildpack "$secret" "$DB_APP" "$DB_SRC"
	assert_success
	release config set "$DB_APP" BUILDPACK_URL="$secret" >/dev/null
	local before
	before=$(readlink "$DYNO_ROOT/apps/$DB_APP/current")
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_equal "$status" 65
	assert_line --partial "Buildpack $secret refused"
	assert_equal "$(readlink "$DYNO_ROOT/apps/$DB_APP/current")" "$before"
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
