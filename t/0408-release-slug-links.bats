#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# A hostile slug: links and special files that would make root read a host
# file or hang are refused by release create and by every Procfile reader.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
	A="$DYNO_ROOT/apps/dynotest-slug"
	S="$DYNO_TEST_DIR/slug"
	mkdir -p "$S"
	# A host file only root reads; no slug may ever show its line.
	SECRET="$DYNO_TEST_DIR/host/Procfile"
	mkdir -p "${SECRET%/*}"
	printf 'web: dynotest-SECRET-4242\n' >"$SECRET"
	chmod 600 "$SECRET"
	mkfifo "$DYNO_TEST_DIR/host/fifo"
}

# WRAP=no-openat2 runs the tools where openat2(2) answers ENOSYS, so they
# resolve with lib/beneath's own walk, as on Linux before 5.6.
WRAP=

fallback() {
	no-openat2 true || skip "no-openat2 cannot run here"
	WRAP=no-openat2
}

teardown() {
	dyno_teardown
}

# up: a link text that passes any count of ".." against the link's depth
# (16 "a/b" where a/b -> "..", then 32 ".."), so it climbs to /.
up() {
	printf 'a/b/%.0s' $(seq 16)
	printf '../%.0s' $(seq 32)
}

# attack DIR KIND: make DIR/Procfile hostile.
attack() {
	local d=$1
	rm -rf "${d:?}/Procfile" "$d/a" "$d/l1" "$d/l2"
	case $2 in
	chain)	mkdir "$d/a"; ln -s .. "$d/a/b"
		ln -s "$(up)${SECRET#/}" "$d/Procfile" ;;
	shadow)	mkdir "$d/a"; ln -s .. "$d/a/b"
		ln -s "$(up)etc/shadow" "$d/Procfile" ;;
	dotdot)	ln -s "$(printf '../%.0s' $(seq 32))etc/shadow" "$d/Procfile" ;;
	absolute) ln -s "$SECRET" "$d/Procfile" ;;
	fifo-link) mkdir "$d/a"; ln -s .. "$d/a/b"
		ln -s "$(up)${DYNO_TEST_DIR#/}/host/fifo" "$d/Procfile" ;;
	fifo)	mkfifo "$d/Procfile" ;;
	device)	mknod "$d/Procfile" c 1 3 ;;
	folder)	mkdir "$d/Procfile"; echo 'web: x' >"$d/Procfile/web" ;;
	huge)	{ echo 'web: ./server'; head -c 2000000 /dev/zero | tr '\0' '#'; } >"$d/Procfile" ;;
	sparse)	truncate -s 1G "$d/Procfile" ;;
	loop)	ln -s l1 "$d/Procfile"; ln -s l2 "$d/l1"; ln -s l1 "$d/l2" ;;
	selfloop) ln -s Procfile "$d/Procfile" ;;
	esac
}

# no_secret: nothing a command printed came from a host file.
no_secret() {
	[[ "$output$stderr" != *SECRET-4242* ]] || { echo "leaked: $output$stderr"; false; }
	[[ "$output$stderr" != *root:* ]] || { echo "leaked shadow"; false; }
}

# refused KIND REASON: release create of a folder slug made hostile by KIND
# fails with 65 and REASON, at once, with no release and no leak.
refused() {
	attack "$S" "$1"
	run --separate-stderr timeout 20 $WRAP release create dynotest-slug --slug "$S"
	no_secret
	[ "$status" -eq 65 ] || { echo "status $status: $stderr"; false; }
	[[ "$stderr" == "release: "*"Procfile: $2"* ]] || { echo "stderr: $stderr"; false; }
	[ ! -e "$A/current" ]
}

# refused_tar KIND REASON: the same slug as a tar archive.
refused_tar() {
	attack "$S" "$1"
	tar cf "$DYNO_TEST_DIR/slug.tar" -C "$S" .
	run --separate-stderr timeout 20 $WRAP release create dynotest-slug --slug "$DYNO_TEST_DIR/slug.tar"
	no_secret
	[ "$status" -eq 65 ] || { echo "status $status: $stderr"; false; }
	[[ "$stderr" == "release: "*"Procfile: $2"* ]] || { echo "stderr: $stderr"; false; }
	[ ! -e "$A/current" ]
}

# planted KIND REASON: a release made before the check (or tampered with
# on disk) holds a hostile Procfile; release show, dyno-manager -n and the
# release phase of a config change refuse to read it, at once.
planted() {
	printf 'web: ./server\n' >"$S/Procfile"
	release create dynotest-slug --slug "$S" >/dev/null 2>&1
	chmod u+w "$A/releases/v1/slug"
	attack "$A/releases/v1/slug" "$1"
	run --separate-stderr timeout 20 $WRAP release show dynotest-slug v1
	no_secret
	[ "$status" -eq 0 ] || { echo "show: status $status: $stderr"; false; }
	refute_line --partial 'Process types:'
	[[ "$stderr" == *"Procfile: $2"* ]] || { echo "show: $stderr"; false; }
	run --separate-stderr timeout 20 $WRAP dyno-manager -n dynotest-slug
	no_secret
	[ "$status" -eq 65 ] || { echo "manager: status $status: $stderr"; false; }
	[[ "$stderr" == *"Procfile: $2"* ]] || { echo "manager: $stderr"; false; }
	run --separate-stderr timeout 20 $WRAP release config set dynotest-slug X=1
	no_secret
	[ "$status" -eq 65 ] || { echo "config set: status $status: $stderr"; false; }
	[[ "$stderr" == *"Procfile: $2"* ]] || { echo "config set: $stderr"; false; }
	[ "$(readlink "$A/current")" = releases/v1 ]
}

@test "create: a link chain to a host file" { refused chain 'symlink leads outside the slug'; }
@test "create: a link chain in a tar archive" { refused_tar chain 'symlink leads outside the slug'; }
@test "create: a link chain to /etc/shadow" { refused shadow 'symlink leads outside the slug'; }
@test "create: an absolute link" { refused absolute 'symlink to an absolute path'; }
@test "create: a link chain to a host FIFO" { refused fifo-link 'symlink leads outside the slug'; }
@test "create: a folder as Procfile" { refused folder 'a folder, not a regular file'; }
@test "create: a 2 MB Procfile" { refused huge 'larger than 1048576 bytes'; }
@test "create: a symlink loop" { refused selfloop 'symlink loop'; }

@test "readers: a link chain to a host file" { planted chain 'leads outside the slug'; }
@test "readers: an absolute link" { planted absolute 'leads outside the slug'; }
@test "readers: a link to /etc/shadow via .." { planted dotdot 'leads outside the slug'; }
@test "readers: a FIFO Procfile" { planted fifo 'not a regular file'; }
@test "readers: a device node Procfile" { require_root; planted device 'not a regular file'; }
@test "readers: a folder as Procfile" { planted folder 'a folder, not a regular file'; }
@test "readers: a 1 GB sparse Procfile" { planted sparse 'larger than 1048576 bytes'; }
@test "readers: a symlink loop" { planted loop 'symlink loop'; }

@test "without openat2: a link chain on create" { fallback; refused chain 'symlink leads outside the slug'; }
@test "without openat2: a link chain for readers" { fallback; planted chain 'leads outside the slug'; }
@test "without openat2: a FIFO Procfile" { fallback; planted fifo 'not a regular file'; }
@test "without openat2: a symlink loop" { fallback; planted loop 'symlink loop'; }

@test "links that stay inside the slug still work" {
	mkdir -p "$S/a/conf"
	ln -s .. "$S/a/b"
	printf 'web: ./server\nworker: ./work\n' >"$S/a/conf/Procfile"
	ln -s a/b/a/conf/Procfile "$S/Procfile"
	ln -s missing/file "$S/dangling"
	run --separate-stderr release create dynotest-slug --slug "$S"
	assert_success
	run --separate-stderr release show dynotest-slug
	assert_line 'Process types: web, worker'
	run -0 dyno-manager -n dynotest-slug
	fallback
	run --separate-stderr $WRAP release show dynotest-slug
	assert_line 'Process types: web, worker'
	run -0 $WRAP dyno-manager -n dynotest-slug
}
