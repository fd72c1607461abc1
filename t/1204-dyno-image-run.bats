#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-run --image: the image's root under an ephemeral writable layer,
# its command, Env, WorkingDir; never root; config vars over Env.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-run
load helper/dyno-image

setup() {
	dyno_setup
	dr_setup
	require_cmd umoci
	I="$DYNO_TEST_DIR/img"
	image_with_shell "$I"
	umoci config --image "$I:app" --config.env FOO=image --config.env BAR=image \
		--config.workingdir /srv --config.user 0 \
		--config.cmd 'echo "foo=$FOO bar=$BAR port=$PORT dir=$(pwd)"; read -r p </srv/index; echo "page=$p"' >/dev/null
	run --separate-stderr dyno-image import "$DR_APP" web "$I"
	assert_success
	IMG="$DYNO_ROOT/images/sha256-${output#sha256:}"
	printf 'BAR=config\n' >"$DR_REL/env"
}

dynos_running() {
	[ -n "$(test_dynoruns "$DR_APP")" ]
}

no_dynos() {
	[ -z "$(test_dynoruns "$DR_APP")" ]
}

teardown() {
	dr_teardown
	dyno_teardown
}

@test "the image's command runs with Env, then config vars, then PORT" {
	run --separate-stderr dr_run --image "$IMG" --port 5000
	assert_success
	assert_line "foo=image bar=config port=5000 dir=/srv"
	assert_line "page=page"
}

@test "the root is the image's, writable, and the writes die with the dyno" {
	run --separate-stderr dr_run --image "$IMG" -- 'echo new >/srv/new && read -r p </srv/new && echo "$p"; test -e /usr/bin/env || echo no-host-usr'
	assert_success
	assert_line new
	assert_line no-host-usr
	[ ! -e "$IMG/rootfs/srv/new" ]
}

@test "User 0 in the image still runs unprivileged" {
	run --separate-stderr dr_run --image "$IMG" -- 'while read -r k v _; do [ "$k" = Uid: ] && echo "uid=$v"; done </proc/self/status; true'
	assert_success
	assert_output --regexp '^uid=[0-9]+$'
	refute_output uid=0
}

@test "an image dyno is isolated as a slug dyno: no capabilities, no_new_privs, seccomp, masked /proc" {
	# Only the image's shell: its builtins read /proc.
	run --separate-stderr dr_run --image "$IMG" -- 'while read -r k v _; do case $k in Cap*|NoNewPrivs:|Seccomp:) echo "$k$v";; esac; done </proc/self/status; for f in kcore keys timer_list; do if read -r l </proc/$f 2>/dev/null && [ -n "$l" ]; then echo "$f:readable"; else echo "$f:masked"; fi; done; echo x >/proc/sys/kernel/hostname 2>/dev/null || echo sys-ro'
	assert_success
	local set
	for set in CapInh CapPrm CapEff CapBnd CapAmb; do
		assert_line "$set:0000000000000000"
	done
	assert_line "NoNewPrivs:1"
	assert_line "Seccomp:2"
	assert_line kcore:masked
	assert_line keys:masked
	assert_line timer_list:masked
	assert_line sys-ro
}

@test "an Entrypoint's words reach the program unchanged" {
	umoci config --image "$I:app" --config.entrypoint /bin/sh \
		--config.entrypoint -c --config.cmd "echo \"it's \$0\"" --config.cmd 'a b' >/dev/null
	run --separate-stderr dyno-image import "$DR_APP" web "$I"
	assert_success
	run --separate-stderr dr_run --image "$DYNO_ROOT/images/sha256-${output#sha256:}"
	assert_success
	assert_output "it's a b"
}

@test "gc keeps an image while a dyno runs on it" {
	rm "$DYNO_ROOT/apps/$DR_APP/images/web"
	# The dyno waits on its stdin, a pipe nothing writes to.
	(sleep 60 | timeout 60 dyno-run --app "$DR_APP" --net none --image "$IMG" -- 'read -r x') 3>&- &
	wait_for 20 dynos_running
	pid=$(test_dynoruns "$DR_APP" | head -1)
	run --separate-stderr dyno-image gc
	assert_output ""
	[ -d "$IMG/rootfs" ]
	kill "$pid"
	wait_for 20 no_dynos
	run --separate-stderr dyno-image gc
	assert_output "sha256:${IMG##*sha256-}"
}

@test "a folder that is not an image is refused" {
	run --separate-stderr dr_run --image "$DYNO_TEST_DIR" -- true
	[ "$status" -eq 66 ]
}

@test "app.conf stack=NAME runs slug dynos on the stack's image; an update is seen at the next start" {
	run --separate-stderr dyno-image stack dynotest-stk "$I"
	assert_success
	printf '[app]\nstack = dynotest-stk\n' >"$DYNO_ROOT/apps/$DR_APP/app.conf"
	echo 'slug file' >"$DR_SLUG/hello"
	run --separate-stderr dr_run -- 'read -r p </srv/index; read -r h </app/hello; echo "$p/$h"; test -e /usr/bin/env || echo no-host-usr'
	assert_success
	assert_line "page/slug file"
	assert_line no-host-usr
	# The stack is updated: a new image under the same name.
	mkdir -p "$DYNO_TEST_DIR/l2/srv"
	echo page2 >"$DYNO_TEST_DIR/l2/srv/index"
	image_add_dir "$I" "$DYNO_TEST_DIR/l2"
	run --separate-stderr dyno-image stack dynotest-stk "$I"
	assert_success
	run --separate-stderr dr_run -- 'read -r p </srv/index; echo "$p"'
	assert_output page2
}

@test "a stack that is not installed is a configuration error" {
	printf '[app]\nstack = dynotest-nostack\n' >"$DYNO_ROOT/apps/$DR_APP/app.conf"
	run --separate-stderr dr_run -- true
	[ "$status" -eq 78 ]
}

# image_user_layer: a layer with the image's passwd and group, and a home
# its user 1000 owns (0700: nobody else may write or even list it).
image_user_layer() {
	local l="$DYNO_TEST_DIR/ul"
	mkdir -p "$l/etc" "$l/home/app"
	printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' >"$l/etc/passwd"
	printf 'root:x:0:\napp:x:1000:\nstaff:x:1002:\n' >"$l/etc/group"
	echo mine >"$l/home/app/own"
	chown -R 1000:1000 "$l/home/app"
	chmod 0700 "$l/home/app"
	image_add_dir "$I" "$l"
}

@test "in the app's user namespace the image's User owns its files, as in the image" {
	image_user_layer
	umoci config --image "$I:app" --config.user app >/dev/null
	run --separate-stderr dyno-image import "$DR_APP" web "$I"
	assert_success
	img="$DYNO_ROOT/images/sha256-${output#sha256:}"
	run --separate-stderr dr_run --userns --image "$img" -- 'while read -r k v _; do [ "$k" = Uid: ] && echo "uid=$v"; [ "$k" = Gid: ] && echo "gid=$v"; done </proc/self/status; echo "home=$HOME"; read -r o <"$HOME/own" && echo "own=$o"; echo w >"$HOME/new" && echo wrote'
	assert_success
	assert_line uid=1000
	assert_line gid=1000
	assert_line home=/home/app
	assert_line own=mine
	assert_line wrote
	# The image's files stay as the importer left them.
	[ "$(stat -c %u "$img/rootfs/home/app")" = 1000 ]
	[ ! -e "$img/rootfs/home/app/new" ]
}

@test "an image's User:group by name, and a numeric one" {
	image_user_layer
	umoci config --image "$I:app" --config.user app:staff >/dev/null
	run --separate-stderr dyno-image import "$DR_APP" web "$I"
	img="$DYNO_ROOT/images/sha256-${output#sha256:}"
	run --separate-stderr dr_run --userns --image "$img" -- 'while read -r k v _; do [ "$k" = Gid: ] && echo "gid=$v"; done </proc/self/status; true'
	assert_success
	assert_output gid=1002
	umoci config --image "$I:app" --config.user 1001 >/dev/null
	run --separate-stderr dyno-image import "$DR_APP" web "$I"
	img="$DYNO_ROOT/images/sha256-${output#sha256:}"
	run --separate-stderr dr_run --userns --image "$img" -- 'while read -r k v _; do [ "$k" = Uid: ] && echo "uid=$v"; done </proc/self/status; echo "home=$HOME"'
	assert_success
	assert_line uid=1001
	assert_line home=/
}

@test "an image's User the image lacks, or above the mapped ids, is refused" {
	umoci config --image "$I:app" --config.user dynotest-nobody >/dev/null
	run --separate-stderr dyno-image import "$DR_APP" web "$I"
	img="$DYNO_ROOT/images/sha256-${output#sha256:}"
	run --separate-stderr dr_run --userns --image "$img" -- true
	[ "$status" -eq 65 ]
	err_has "User dynotest-nobody: not in the image's passwd or group"
	umoci config --image "$I:app" --config.user 70000 >/dev/null
	run --separate-stderr dyno-image import "$DR_APP" web "$I"
	img="$DYNO_ROOT/images/sha256-${output#sha256:}"
	run --separate-stderr dr_run --userns --image "$img" -- true
	[ "$status" -eq 65 ]
	err_has "are not mapped"
}

@test "an image's passwd that leads out of the image is not read" {
	mkdir -p "$DYNO_TEST_DIR/pl/etc"
	ln -s /etc/passwd "$DYNO_TEST_DIR/pl/etc/passwd"
	image_add_dir "$I" "$DYNO_TEST_DIR/pl"
	umoci config --image "$I:app" --config.user root >/dev/null
	run --separate-stderr dyno-image import "$DR_APP" web "$I"
	img="$DYNO_ROOT/images/sha256-${output#sha256:}"
	run --separate-stderr dr_run --userns --image "$img" -- true
	[ "$status" -eq 65 ]
}

@test "an image whose /etc is a link to the host's never has the host written" {
	# Until the root is built, the host's tree is at /oldroot: an /etc
	# pointing there would have dyno-run replace the host's /etc/hosts.
	host="$DYNO_TEST_DIR/hostetc"
	mkdir -p "$host" "$DYNO_TEST_DIR/el"
	echo dynotest-marker >"$host/hosts"
	ln -s "/oldroot$host" "$DYNO_TEST_DIR/el/etc"
	rm -rf "$DYNO_TEST_DIR/shroot/etc"
	cp -a "$DYNO_TEST_DIR/el/etc" "$DYNO_TEST_DIR/shroot/etc"
	J="$DYNO_TEST_DIR/img2"
	image_new "$J"
	image_add_dir "$J" "$DYNO_TEST_DIR/shroot"
	run --separate-stderr dyno-image import "$DR_APP" web "$J"
	assert_success
	img="$DYNO_ROOT/images/sha256-${output#sha256:}"
	[ -L "$img/rootfs/etc" ]
	run --separate-stderr dr_run --image "$img" -- 'read -r a b </etc/hosts; echo "$a $b"'
	assert_success
	assert_output "127.0.0.1 localhost"
	[ "$(cat "$host/hosts")" = dynotest-marker ]
	# The same image as a stack.
	run --separate-stderr dyno-image stack dynotest-stk2 "$J"
	assert_success
	printf '[app]\nstack = dynotest-stk2\n' >"$DYNO_ROOT/apps/$DR_APP/app.conf"
	run --separate-stderr dr_run -- 'read -r a b </etc/hosts; echo "$a $b"'
	assert_success
	assert_output "127.0.0.1 localhost"
	[ "$(cat "$host/hosts")" = dynotest-marker ]
}
