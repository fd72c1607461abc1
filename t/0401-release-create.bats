#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# release create: slugs from archives and folders, refusals, list and show.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
	APP="$DYNO_TEST_DIR/app"
	mkdir -p "$APP/lib"
	printf 'web: ./server\nworker: ./work\n' >"$APP/Procfile"
	echo 'echo hi' >"$APP/lib/x.sh"
	ln -s lib/x.sh "$APP/link"
	tar czf "$DYNO_TEST_DIR/app.tgz" -C "$APP" .
	A="$DYNO_ROOT/apps/dynotest-a"
}

teardown() {
	[ -n "${HUPPER:-}" ] && kill "$HUPPER" 2>/dev/null
	dyno_teardown
}

# evil_tar OUT KIND: a tar with a valid Procfile and one bad member.
evil_tar() {
	python3 - "$1" "$2" <<'EOF'
import io, sys, tarfile
out, kind = sys.argv[1], sys.argv[2]
with tarfile.open(out, "w:gz") as t:
    def add(name, data=b"x", **kw):
        ti = tarfile.TarInfo(name)
        for k, v in kw.items():
            setattr(ti, k, v)
        ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
        t.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    add("Procfile", b"web: ./server\n")
    if kind == "dotdot":
        add("../dynotest-escape")
    elif kind == "deep-dotdot":
        add("lib/../../dynotest-escape")
    elif kind == "absolute":
        add("/tmp/dynotest-escape")
    elif kind == "symlink":
        add("lib/out", type=tarfile.SYMTYPE, linkname="../../etc/passwd")
    elif kind == "abs-symlink":
        add("out", type=tarfile.SYMTYPE, linkname="/etc/passwd")
    elif kind == "hardlink":
        add("out", type=tarfile.LNKTYPE, linkname="../../etc/passwd")
    elif kind == "device":
        add("dev", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
    elif kind == "fifo":
        add("fifo", type=tarfile.FIFOTYPE)
    elif kind == "through-symlink":
        add("lib", type=tarfile.SYMTYPE, linkname=".")
        add("lib/lib", type=tarfile.SYMTYPE, linkname="..")
EOF
}

@test "create from a tgz makes v1, current, formation and app.conf" {
	run --separate-stderr release create dynotest-a --slug "$DYNO_TEST_DIR/app.tgz"
	assert_success
	assert_output v1
	[ "$(readlink "$A/current")" = releases/v1 ]
	[ "$(cat "$A/formation")" = web=1 ]
	grep -qx '\[app\]' "$A/app.conf"
	grep -qx 'status=succeeded' "$A/releases/v1/release"
	sha=$(sha256sum "$DYNO_TEST_DIR/app.tgz" | cut -d' ' -f1)
	grep -qx "slug_sha256=$sha" "$A/releases/v1/release"
	grep -qE '^created=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "$A/releases/v1/release"
	grep -qx "user=$(id -un)" "$A/releases/v1/release"
	[ "$(cat "$A/releases/v1/slug/lib/x.sh")" = "echo hi" ]
	[ "$(readlink "$A/releases/v1/slug/link")" = lib/x.sh ]
	[ -e "$A/releases/v1/env" ]
	# Deploy and Release lines as app[api] (on stderr: no logplexd here).
	[[ "$stderr" == *"app[api]: Deploy ${sha:0:8} by user $(id -un)"* ]]
	[[ "$stderr" == *"app[api]: Release v1 created by user $(id -un)"* ]]
}

@test "the slug is read-only once the release exists" {
	release create dynotest-a --slug "$DYNO_TEST_DIR/app.tgz" >/dev/null 2>&1
	run stat -c %a "$A/releases/v1/slug/Procfile"
	assert_output 444
	run stat -c %a "$A/releases/v1/slug/lib"
	assert_output 555
}

@test "create from a folder, with --commit and --description" {
	run --separate-stderr release create dynotest-a --slug "$APP" --commit 0123456789abcdef
	assert_success
	assert_output v1
	grep -qx 'description=Deploy 01234567' "$A/releases/v1/release"
	grep -qx 'commit=0123456789abcdef' "$A/releases/v1/release"
	[[ "$stderr" == *"app[api]: Deploy 01234567 by user"* ]]
	run --separate-stderr release create dynotest-a --description 'hot fix; now' --slug "$APP"
	assert_output v2
	grep -qx 'description=hot fix, now' "$A/releases/v2/release"
	# The same tree hashes the same.
	s1=$(grep slug_sha256 "$A/releases/v1/release")
	s2=$(grep slug_sha256 "$A/releases/v2/release")
	[ "$s1" = "$s2" ]
}

@test "a Procfile without web gives an empty formation" {
	printf 'worker: ./work\n' >"$APP/Procfile"
	run release create dynotest-a --slug "$APP"
	assert_success
	[ -e "$A/formation" ] && [ ! -s "$A/formation" ]
}

@test "a later deploy keeps config vars and the formation" {
	release create dynotest-a --slug "$APP" >/dev/null 2>&1
	release config set dynotest-a FOO=bar >/dev/null 2>&1
	echo 'web=3' >"$A/formation"
	run --separate-stderr release create dynotest-a --slug "$DYNO_TEST_DIR/app.tgz"
	assert_output v3
	run release config get dynotest-a FOO
	assert_output bar
	[ "$(cat "$A/formation")" = web=3 ]
}

@test "list and show" {
	release create dynotest-a --slug "$APP" >/dev/null 2>&1
	release config set dynotest-a FOO=1 >/dev/null 2>&1
	run --separate-stderr release list dynotest-a
	assert_success
	assert_line --index 0 '=== dynotest-a Releases - Current: v2'
	assert_line --regexp '^v2 +Set FOO config vars +[^ ]+ .*succeeded \(current\)$'
	assert_line --regexp '^v1 +Deploy [0-9a-f]{8} .*succeeded$'
	run release list dynotest-a --num 1
	refute_line --regexp '^v1 '
	run --separate-stderr release show dynotest-a v1
	assert_success
	assert_line 'Current:     no'
	assert_line 'Process types: web, worker'
	run release show dynotest-a
	assert_line '=== dynotest-a Release v2'
	assert_line 'Config vars: FOO'
	run release show dynotest-a v9
	assert_failure 66
}

@test "a running dyno-manager gets SIGHUP" {
	mkdir -p "$DYNO_RUNDIR/apps/dynotest-a"
	# a stand-in manager; it says when its trap is set, so no SIGHUP can
	# come before it (bounded: 60 s)
	bash -c 'trap "echo hup >>'"$DYNO_TEST_DIR"'/hup" HUP; : >'"$DYNO_TEST_DIR"'/trapped
		for _ in $(seq 600); do sleep 0.1; done' 3>&- &
	HUPPER=$!
	wait_for 20 test -e "$DYNO_TEST_DIR/trapped"
	echo "$HUPPER" >"$DYNO_RUNDIR/apps/dynotest-a/manager.pid"
	release create dynotest-a --slug "$APP" >/dev/null 2>&1
	wait_for 20 test -s "$DYNO_TEST_DIR/hup"
	release config set dynotest-a X=1 >/dev/null 2>&1
	wait_for 20 bash -c '[ "$(wc -l <"$1")" -eq 2 ]' _ "$DYNO_TEST_DIR/hup"
}

@test "a stale manager pid file is fine" {
	mkdir -p "$DYNO_RUNDIR/apps/dynotest-a"
	echo 999999 >"$DYNO_RUNDIR/apps/dynotest-a/manager.pid"
	run release create dynotest-a --slug "$APP"
	assert_success
}

@test "bad app names, unknown apps and bad usage" {
	run --separate-stderr release create Bad_Name --slug "$APP"
	assert_failure 64
	[[ "$stderr" == "release: Bad_Name: bad app name: "* ]]
	run --separate-stderr release list dynotest-none
	assert_failure 66
	assert_equal "$stderr" "release: dynotest-none: no such app"
	run release config dynotest-none
	assert_failure 66
	run release rollback dynotest-none
	assert_failure 66
	run release create dynotest-a
	assert_failure 64
	run release list dynotest-a --slug x
	assert_failure 64
	run release frob dynotest-a
	assert_failure 64
	run release
	assert_failure 64
	run release create dynotest-a --slug "$APP" --commit 'a b'
	assert_failure 64
	[ ! -e "$A" ]
}

# refused_cmd WORD...: exit 64, and an unknown name says so on one line.
refused_cmd() {
	run -64 --separate-stderr release "$@" dynotest-a
	if [[ " create list show rollback config labs maintenance " != *" $1 "* ]]; then
		assert_equal "${stderr_lines[0]}" "release: unknown command \"$1\""
	fi
}

@test "subcommands are whole words from one table (no first-letter dispatch)" {
	refused_cmd cr --slug "$APP"
	refused_cmd crash --slug "$APP"
	refused_cmd creates --slug "$APP"
	refused_cmd l
	refused_cmd lists
	refused_cmd s
	refused_cmd r
	refused_cmd configs
	refused_cmd m
	refused_cmd labs on
	refused_cmd maintenance enable
	refused_cmd config gets KEY
	run -64 --separate-stderr release labs dynotest-a --num 3
	assert_equal "${stderr_lines[0]}" "release: --num does not apply to labs"
}

@test "--help prints the man page SYNOPSIS" {
	run release --help
	assert_success
	want=$(MANWIDTH=300 mandoc -Tascii -Owidth=300 "$TOP/man/release.1" |
	    col -b | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' |
	    sed 's/^ *//;/^$/d')
	got=$(sed '/^$/,$d;s/^usage: //;s/^ *//' <<<"$output")
	assert_equal "$got" "$want"
}

@test "a missing slug, a slug without a Procfile, a broken archive" {
	run --separate-stderr release create dynotest-a --slug "$DYNO_TEST_DIR/nope.tgz"
	assert_failure 66
	rm "$APP/Procfile"
	run --separate-stderr release create dynotest-a --slug "$APP"
	assert_failure 65
	assert_equal "$stderr" "release: slug has no Procfile"
	printf 'web\n' >"$APP/Procfile"
	run --separate-stderr release create dynotest-a --slug "$APP"
	assert_failure 65
	assert_equal "$stderr" "release: slug: Procfile: no process types declared"
	printf 'web: x\n' >"$APP/Procfile"
	head -c 200000 /dev/urandom >"$APP/blob"
	tar czf "$DYNO_TEST_DIR/app.tgz" -C "$APP" .
	head -c 100000 "$DYNO_TEST_DIR/app.tgz" >"$DYNO_TEST_DIR/cut.tgz"
	run --separate-stderr release create dynotest-a --slug "$DYNO_TEST_DIR/cut.tgz"
	assert_failure 65
	[[ "$stderr" == *"broken archive"* ]] || [[ "$stderr" == *"Truncated"* ]]
	echo 'not a tar' >"$DYNO_TEST_DIR/junk.tgz"
	run --separate-stderr release create dynotest-a --slug "$DYNO_TEST_DIR/junk.tgz"
	assert_failure 65
	[ ! -e "$A" ]
}

@test "archive members that leave the slug are refused" {
	local k
	mkdir -p "$DYNO_ROOT/apps"
	for k in dotdot deep-dotdot absolute symlink abs-symlink hardlink \
	    device fifo through-symlink; do
		evil_tar "$DYNO_TEST_DIR/$k.tgz" "$k"
		run --separate-stderr release create dynotest-a --slug "$DYNO_TEST_DIR/$k.tgz"
		[ "$status" -eq 65 ] || { echo "$k: status $status: $stderr"; false; }
		[[ "$stderr" == "release: $DYNO_TEST_DIR/$k.tgz: "* ]] ||
		    { echo "$k: $stderr"; false; }
	done
	[ ! -e /tmp/dynotest-escape ]
	[ ! -e "$DYNO_ROOT/apps/dynotest-escape" ]
	[ ! -e "$DYNO_ROOT/dynotest-escape" ]
	[ ! -e "$A" ]
}

@test "folders with links pointing out or devices are refused" {
	ln -s /etc/passwd "$APP/out"
	run --separate-stderr release create dynotest-a --slug "$APP"
	assert_failure 65
	[[ "$stderr" == *"out: symlink to an absolute path" ]]
	rm "$APP/out"
	ln -s ../../x "$APP/lib/out"
	run release create dynotest-a --slug "$APP"
	assert_failure 65
	rm "$APP/lib/out"
	mkfifo "$APP/fifo"
	run release create dynotest-a --slug "$APP"
	assert_failure 65
}

@test "a slug over slug_max is refused" {
	printf '[release]\nslug_max = 1K\n' | conf_put
	head -c 4096 /dev/urandom >"$APP/blob"
	tar czf "$DYNO_TEST_DIR/big.tgz" -C "$APP" .
	run --separate-stderr release create dynotest-a --slug "$DYNO_TEST_DIR/big.tgz"
	assert_failure 65
	[[ "$stderr" == *"over the 1024-byte limit"* ]]
}

@test "a failed create on an existing app changes nothing" {
	release create dynotest-a --slug "$APP" >/dev/null 2>&1
	evil_tar "$DYNO_TEST_DIR/bad.tgz" dotdot
	run release create dynotest-a --slug "$DYNO_TEST_DIR/bad.tgz"
	assert_failure 65
	[ "$(readlink "$A/current")" = releases/v1 ]
	run ls -A "$A/releases"
	assert_output v1
}
