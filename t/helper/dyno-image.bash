# SPDX-License-Identifier: ISC
# Images for the dyno-image tests, made offline with Debian's umoci.
# shellcheck shell=bash

# image_new DIR: an empty OCI layout DIR holding the tag "app".
image_new() {
	umoci init --layout "$1" >/dev/null
	umoci new --image "$1:app" >/dev/null
}

# image_add_tar DIR TAR: add the uncompressed TAR as the next layer.
image_add_tar() {
	umoci raw add-layer --image "$1:app" "$2" >/dev/null
}

# image_add_dir DIR SRC: add the files of folder SRC as the next layer.
image_add_dir() {
	local t="$DYNO_TEST_DIR/layer.$$.$RANDOM.tar"
	tar -C "$2" --numeric-owner -cf "$t" .
	image_add_tar "$1" "$t"
	rm -f "$t"
}

# image_tree DIR: one line per file below DIR (type, mode, owner, size,
# link target, content hash), sorted; what two unpackers must agree on.
image_tree() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %U:%G %s %l ' \
		-exec sh -c '[ -f "$1" ] && [ ! -L "$1" ] &&
			sha256sum <"$1" | cut -c1-16 || echo -' sh {} \; | sort)
}

# image_root HEX: the flattened root of image sha256:HEX.
image_root() {
	echo "$DYNO_ROOT/images/sha256-$1/rootfs"
}

# image_with_shell DIR: an image of the host's dash and libc alone, with
# a page in /srv: enough for a shell command, nothing of the host's /usr.
image_with_shell() {
	local s="$DYNO_TEST_DIR/shroot" lib
	mkdir -p "$s/bin" "$s/srv"
	cp /bin/dash "$s/bin/sh"
	for lib in $(ldd /bin/dash | grep -o '/[^ ]*'); do
		mkdir -p "$s${lib%/*}"
		cp -L "$lib" "$s$lib"
	done
	echo page >"$s/srv/index"
	chmod 1777 "$s/srv"
	mkdir -p "$s/etc"
	printf '127.0.0.1\tlocalhost\n' >"$s/etc/hosts"
	image_new "$1"
	image_add_dir "$1" "$s"
}
