#!/usr/bin/env bats
# dyno-build: the classic buildpack API end to end, from a folder or tarball.
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

@test "usage errors exit 64 and say why" {
	run --separate-stderr dyno-build
	assert_equal "$status" 64
	[[ $stderr == *"usage: dyno-build"* ]]
	run --separate-stderr dyno-build BAD_APP "$DYNO_TEST_DIR"
	assert_equal "$status" 64
	run --separate-stderr dyno-build --commit 'x;y' dynotest-a "$DYNO_TEST_DIR"
	assert_equal "$status" 64
	run --separate-stderr dyno-build --output dynotest-a v1x
	assert_equal "$status" 64
}

@test "detect, compile (cache, ENV_DIR, unprivileged), release YAML, slug, release create" {
	db_setup
	db_pack "$DYNO_TEST_DIR/default-packs/a" Dynotest marker.txt
	echo hi >"$DB_SRC/marker.txt"
	mkdir -p "$DB_SRC/.git" "$DB_SRC/docs"
	echo junk >"$DB_SRC/.git/config"
	echo big >"$DB_SRC/docs/manual.pdf"
	echo keep >"$DB_SRC/docs/readme.txt"
	printf '*.pdf\n/marker.txt\n' >"$DB_SRC/.slugignore"
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	assert_line --index 0 -- "-----> Building on the dyno stack"
	assert_line -- "-----> Dynotest app detected"
	assert_line -- "-----> Compiling as uid 65534"
	assert_line -- "       build number 1"
	assert_line -- "-----> Discovering process types"
	assert_line -- "       Default types for buildpack -> web"
	assert_line -- "-----> Compressing..."
	assert_line --regexp '^       Done: [0-9.]+M$'
	assert_line -- "-----> Launching..."
	assert_line -- "       Released v1"
	local slug="$DYNO_ROOT/apps/$DB_APP/releases/v1/slug"
	assert [ -x "$slug/bin/web" ]
	assert_equal "$(cat "$slug/Procfile")" "web: bin/web"
	assert [ -f "$slug/docs/readme.txt" ]
	assert [ ! -e "$slug/docs/manual.pdf" ]
	assert [ ! -e "$slug/marker.txt" ]
	assert [ ! -e "$slug/.git" ]
	# The output is kept with the release.
	run --separate-stderr dyno-build --output "$DB_APP" v1
	assert_success
	assert_line -- "       Released v1"
	# release show prints it with the release.
	run --separate-stderr release show "$DB_APP" v1 --output
	assert_success
	assert_line "=== Build output"
	assert_line -- "-----> Dynotest app detected"
	assert_line -- "       Released v1"
	run --separate-stderr release show "$DB_APP" --num 2
	assert_equal "$status" 64
	# Config vars reach ENV_DIR; the cache survives builds.
	release config set "$DB_APP" GREETING='hi there' >/dev/null
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "       build number 2"
	assert_line -- "       greeting: hi there"
	assert_line -- "       Released v3"
	# No build folder or env file is left behind.
	assert [ ! -e "$DYNO_ROOT/apps/$DB_APP/build" ]
	assert [ ! -e "$DYNO_ROOT/apps/$DB_APP/build.env" ]
	assert [ -f "$DYNO_ROOT/apps/$DB_APP/cache/count" ]
}

@test "a Procfile wins over the buildpack's default types; a tarball source" {
	db_setup
	db_pack "$DYNO_TEST_DIR/default-packs/a" Dynotest marker.txt
	echo hi >"$DB_SRC/marker.txt"
	echo 'worker: bin/web --worker' >"$DB_SRC/Procfile"
	tar -C "$DB_SRC" -czf "$DYNO_TEST_DIR/app.tgz" .
	run --separate-stderr db_build "$DB_APP" "$DYNO_TEST_DIR/app.tgz"
	assert_success
	assert_line -- "       Procfile declares types -> worker"
	assert_line -- "       Default types for buildpack -> web"
	run cat "$DYNO_ROOT/apps/$DB_APP/releases/v1/slug/Procfile"
	assert_line --index 0 "worker: bin/web --worker"
	assert_line --index 1 "web: bin/web"
}

@test "several buildpacks in order: export of one reaches the next" {
	db_setup
	db_pack "$DYNO_TEST_DIR/a" First marker.txt
	db_pack "$DYNO_TEST_DIR/b" Second marker.txt
	cat >>"$DYNO_TEST_DIR/a/bin/compile" <<'SH'
echo "export FROM_FIRST=yes" >"$(dirname "$0")/../export"
SH
	cat >>"$DYNO_TEST_DIR/b/bin/compile" <<'SH'
echo "       from first: ${FROM_FIRST:-no}"
SH
	echo hi >"$DB_SRC/marker.txt"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/a" \
		--buildpack "$DYNO_TEST_DIR/b" "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "-----> First app detected"
	assert_line -- "-----> Second app detected"
	assert_line -- "       from first: yes"
}

@test "detection: several match (the first wins, said so); none match fails" {
	db_setup
	db_pack "$DYNO_TEST_DIR/default-packs/1-one" One marker.txt
	db_pack "$DYNO_TEST_DIR/default-packs/2-two" Two marker.txt
	db_pack "$DYNO_TEST_DIR/default-packs/3-three" Three other.txt
	echo hi >"$DB_SRC/marker.txt"
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	assert_line --partial "Multiple default buildpacks reported the ability"
	assert_line -- "       Detected buildpacks: One,Two"
	assert_line -- "-----> One app detected"
	refute_line -- "-----> Two app detected"
	rm "$DB_SRC/marker.txt"
	echo x >"$DB_SRC/nothing.txt"
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_equal "$status" 65
	assert_line -- " !     No default language could be detected for this app."
	assert_equal "$(readlink "$DYNO_ROOT/apps/$DB_APP/current")" releases/v1
	assert [ -f "$DYNO_ROOT/apps/$DB_APP/builds/failed.log" ]
}

@test "failures leave the current release: compile fails, bad YAML, no detect" {
	db_setup
	db_pack "$DYNO_TEST_DIR/a" Dynotest marker.txt
	echo hi >"$DB_SRC/marker.txt"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/a" "$DB_APP" "$DB_SRC"
	assert_success
	cp -r "$DYNO_TEST_DIR/a" "$DYNO_TEST_DIR/fails"
	echo 'echo "boom"; exit 3' >>"$DYNO_TEST_DIR/fails/bin/compile"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/fails" "$DB_APP" "$DB_SRC"
	assert_equal "$status" 65
	assert_line "boom"
	assert_line -- " !     Push rejected, failed to compile Dynotest app."
	cp -r "$DYNO_TEST_DIR/a" "$DYNO_TEST_DIR/yaml"
	printf '#!/bin/sh\necho "default_process_types: {web: [unclosed"\n' \
		>"$DYNO_TEST_DIR/yaml/bin/release"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/yaml" "$DB_APP" "$DB_SRC"
	assert_equal "$status" 65
	assert_line --partial " !     bin/release printed bad YAML: line"
	printf '#!/bin/sh\nprintf "default_process_types:\\n  \\"a b\\": x\\n"\n' \
		>"$DYNO_TEST_DIR/yaml/bin/release"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/yaml" "$DB_APP" "$DB_SRC"
	assert_equal "$status" 65
	assert_line --partial "printed bad YAML: process type"
	rm "$DB_SRC/marker.txt"; echo x >"$DB_SRC/other"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/a" "$DB_APP" "$DB_SRC"
	assert_equal "$status" 65
	assert_line -- "-----> App not compatible with buildpack: $DYNO_TEST_DIR/a"
	assert_equal "$(readlink "$DYNO_ROOT/apps/$DB_APP/current")" releases/v1
}

@test "limits: the build's time, its memory, the slug's 500M (here 1M)" {
	db_setup
	cat >>"$DYNO_CONF" <<'CONF'
[build]
timeout = 3s
size = dynotest
[release]
slug_max = 1M
[size dynotest]
memory = 32M
memory_max = 48M
pids = 64
CONF
	db_pack "$DYNO_TEST_DIR/slow" Slow marker.txt
	echo 'sleep 60' >>"$DYNO_TEST_DIR/slow/bin/compile"
	echo hi >"$DB_SRC/marker.txt"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/slow" "$DB_APP" "$DB_SRC"
	assert_equal "$status" 75
	assert_line -- " !     Timed out compiling Slow app (3s)"
	db_pack "$DYNO_TEST_DIR/fat" Fat marker.txt
	echo 'python3 -c "b = bytearray(200 << 20)"' >>"$DYNO_TEST_DIR/fat/bin/compile"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/fat" "$DB_APP" "$DB_SRC"
	assert_equal "$status" 65
	assert_line -- " !     Push rejected, failed to compile Fat app."
	db_pack "$DYNO_TEST_DIR/big" Big marker.txt
	echo 'head -c 3000000 /dev/urandom >"$1/blob"' >>"$DYNO_TEST_DIR/big/bin/compile"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/big" "$DB_APP" "$DB_SRC"
	assert_equal "$status" 65
	assert_line --regexp '^ !     Compiled slug size: 2\.[0-9]M is too large \(max is 1M\)\.$'
	assert [ ! -e "$DYNO_ROOT/apps/$DB_APP/current" ]
}

@test "the time limit covers the slug's compression, not only the compile" {
	db_setup
	printf '[build]\ntimeout = 20s\n' >>"$DYNO_CONF"
	db_pack "$DYNO_TEST_DIR/late" Late marker.txt
	# 200M of random bytes in the source, which gzip needs seconds for;
	# the compile ends half a second before the deadline (the test's clock,
	# started just before the build).
	head -c 200000000 /dev/urandom >"$DB_SRC/blob"
	cat >>"$DYNO_TEST_DIR/late/bin/compile" <<SH
now=\$(date +%s%N)
left=\$(( ($(date +%s%N) + 19500000000 - now) / 1000000 ))
[ "\$left" -gt 0 ] && sleep "\$((left / 1000)).\$(printf %03d \$((left % 1000)))"
exit 0
SH
	echo hi >"$DB_SRC/marker.txt"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/late" "$DB_APP" "$DB_SRC"
	assert_equal "$status" 75
	refute_line --partial "Timed out compiling"
	assert_line -- "-----> Compressing..."
	assert_line -- " !     Timed out compressing the slug (20s)"
	refute_line --partial "Released"
	assert [ ! -e "$DYNO_ROOT/apps/$DB_APP/current" ]
	assert [ ! -e "$DYNO_ROOT/apps/$DB_APP/build" ]
}

@test "the build's disk: a build writing past [build] disk fails, the host's disk untouched" {
	db_setup
	printf '[build]\ndisk = 16M\n' >>"$DYNO_CONF"
	db_pack "$DYNO_TEST_DIR/fill" Fill marker.txt
	# Past the bound: 64M of zeros; the write that crosses it fails.
	echo 'head -c 64000000 /dev/zero >"$1/fill"' >>"$DYNO_TEST_DIR/fill/bin/compile"
	echo hi >"$DB_SRC/marker.txt"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/fill" "$DB_APP" "$DB_SRC"
	assert_equal "$status" 65
	assert_line --partial "No space left on device"
	assert_line -- " !     The build used all of its disk (16.0M)"
	assert_line -- " !     Push rejected, failed to compile Fill app."
	assert [ ! -e "$DYNO_ROOT/apps/$DB_APP/build" ]
	assert [ ! -e "$DYNO_ROOT/apps/$DB_APP/current" ]
	# The tmpfs lived in the build's own mount namespace only.
	run grep -c " $DYNO_ROOT/apps/$DB_APP/build " /proc/self/mountinfo
	assert_output 0
	# Within the bound, the same build goes through; its cache is kept.
	sed -i 's/64000000/4000000/' "$DYNO_TEST_DIR/fill/bin/compile"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/fill" "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "       Released v1"
	assert [ -f "$DYNO_ROOT/apps/$DB_APP/cache/count" ]
	# A cache that no longer fits the disk is dropped, not a failure.
	head -c 20000000 /dev/zero >"$DYNO_ROOT/apps/$DB_APP/cache/big"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/fill" "$DB_APP" "$DB_SRC"
	assert_success
	[[ $stderr == *"warning: cache not used:"* ]]
	assert_line -- "       build number 1"
	assert [ ! -e "$DYNO_ROOT/apps/$DB_APP/cache/big" ]
}

@test "hostile input: a tarball climbing out, a link out of the slug" {
	db_setup
	db_pack "$DYNO_TEST_DIR/a" Dynotest marker.txt
	python3 - "$DYNO_TEST_DIR/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    i = tarfile.TarInfo("../../dynotest-escaped"); d = b"x"
    i.size = len(d); t.addfile(i, io.BytesIO(d))
PY
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/a" "$DB_APP" "$DYNO_TEST_DIR/evil.tar"
	assert_equal "$status" 65
	assert_line --partial 'a ".." in a path'
	assert [ ! -e "$DYNO_ROOT/dynotest-escaped" ]
	# An absolute name, a write through a link, a hard link out: refused,
	# nothing written outside the build folder.
	python3 - "$DYNO_TEST_DIR" <<'PY'
import io, sys, tarfile
d = sys.argv[1]
def tar(name, members):
    with tarfile.open(d + "/" + name, "w") as t:
        for m, data in members:
            t.addfile(m, io.BytesIO(data) if data is not None else None)
def f(n, data=b"x"):
    i = tarfile.TarInfo(n); i.size = len(data); return (i, data)
def link(n, target, kind):
    i = tarfile.TarInfo(n); i.type = kind; i.linkname = target; return (i, None)
tar("abs.tar", [f(d + "/dynotest-abs")])
tar("through.tar", [link("l", d, tarfile.SYMTYPE), f("l/dynotest-through")])
tar("hard.tar", [link("h", "/etc/passwd", tarfile.LNKTYPE)])
PY
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/a" "$DB_APP" "$DYNO_TEST_DIR/abs.tar"
	assert_equal "$status" 65
	assert_line --partial ": an absolute path"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/a" "$DB_APP" "$DYNO_TEST_DIR/hard.tar"
	assert_equal "$status" 65
	assert_line --partial "h: a hard link out of the tree"
	# A member under a link: the link is replaced, nothing goes through it.
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/a" "$DB_APP" "$DYNO_TEST_DIR/through.tar"
	assert_equal "$status" 65
	assert [ ! -e "$DYNO_TEST_DIR/dynotest-abs" ]
	assert [ ! -e "$DYNO_TEST_DIR/dynotest-through" ]
	echo hi >"$DB_SRC/marker.txt"
	# A Procfile the build turns into a link to a host file is not read.
	cp -r "$DYNO_TEST_DIR/a" "$DYNO_TEST_DIR/p"
	echo 'ln -s /etc/passwd "$1/Procfile"' >>"$DYNO_TEST_DIR/p/bin/compile"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/p" "$DB_APP" "$DB_SRC"
	assert_failure
	assert_line --partial " !     Procfile: "
	refute_output --partial "root:"
	assert [ ! -e "$DYNO_ROOT/apps/$DB_APP/current" ]
	# bin/release's aliases are shared, never expanded (billion laughs).
	cp -r "$DYNO_TEST_DIR/a" "$DYNO_TEST_DIR/y"
	cat >"$DYNO_TEST_DIR/y/bin/release" <<'SH'
#!/bin/sh
echo 'a: &a ["x","x","x","x","x","x","x","x","x"]'
prev=a
for i in b c d e f g h i j k l m n o p q r s t u v w x y z; do
	echo "$i: &$i [*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev]"
	prev=$i
done
echo 'default_process_types: {web: bin/web}'
SH
	run --separate-stderr timeout 60 dyno-build --buildpack "$DYNO_TEST_DIR/y" "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "       Default types for buildpack -> web"
	echo 'ln -s /etc/shadow "$1/shadow"' >>"$DYNO_TEST_DIR/a/bin/compile"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/a" "$DB_APP" "$DB_SRC"
	assert_failure
	assert_equal "$(readlink "$DYNO_ROOT/apps/$DB_APP/current")" releases/v1
}

@test "app[api] lines: Build started, Build succeeded / failed" {
	db_setup
	db_pack "$DYNO_TEST_DIR/a" Dynotest marker.txt
	echo hi >"$DB_SRC/marker.txt"
	run --separate-stderr db_build --user alice@example.com --buildpack "$DYNO_TEST_DIR/a" "$DB_APP" "$DB_SRC"
	assert_success
	[[ $stderr == *"app[api]: Build started by user alice@example.com"* ]]
	[[ $stderr == *"app[api]: Build succeeded"* ]]
	rm "$DB_SRC/marker.txt"
	run --separate-stderr db_build --buildpack "$DYNO_TEST_DIR/a" "$DB_APP" "$DB_SRC"
	[[ $stderr == *"app[api]: Build failed"* ]]
}
