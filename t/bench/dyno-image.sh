#!/bin/bash
# SPDX-License-Identifier: ISC
# dyno-image: the import of a 3-layer image against `umoci unpack`, then
# the start of a dyno on the flattened image (warm) against `podman run
# --rm` of the same image.  Medians of RUNS.  Run by `make bench`.
set -eu

RUNS=${RUNS:-5}
START_RUNS=${START_RUNS:-20}
# shellcheck source=t/helper/bench.bash
. "$(dirname "$0")/../helper/bench.bash"
bench_root
bench_build
bench_need umoci umoci
bench_need bc bc

DIR=$(mktemp -d /tmp/dynotest-bench-XXXXXX)
LCIMG=/tmp/dynotest-bench-oci-$$
cleanup() {
	if [ -n "${CONTAINERS_STORAGE_CONF:-}" ]; then
		podman rmi -a -f >/dev/null 2>&1 || true
	fi
	space-net destroy common --force >/dev/null 2>&1 || true
	rm -rf "$DIR" "$LCIMG"
}
trap cleanup EXIT
export DYNO_ROOT="$DIR/root" DYNO_RUNDIR="$DIR/run" DYNO_CONF="$DIR/dyno.conf"
mkdir -p "$DYNO_ROOT" "$DYNO_RUNDIR"
bench_conf </dev/null

# Layer 1: a shell and its libraries; 2: a part of Python's standard
# library (some thousands of files); 3: a whiteout and a changed file.
layers() {
	local s="$DIR/l1" lib py
	mkdir -p "$s/bin" "$s/srv"
	cp /bin/dash "$s/bin/sh"
	for lib in $(ldd /bin/dash | grep -o '/[^ ]*'); do
		mkdir -p "$s${lib%/*}"
		cp -L "$lib" "$s$lib"
	done
	py=$(python3 -c 'import os, sysconfig; print(sysconfig.get_paths()["stdlib"])')
	mkdir -p "$DIR/l2$py"
	for p in asyncio email encodings html http importlib json logging \
		unittest urllib xml; do
		cp -a "$py/$p" "$DIR/l2$py/"
	done
	mkdir -p "$DIR/l3/srv"
	echo new >"$DIR/l3/srv/page"
	touch "$DIR/l3/srv/.wh.gone"
	umoci init --layout "$DIR/img" >/dev/null
	umoci new --image "$DIR/img:app" >/dev/null
	for l in l1 l2 l3; do
		tar -C "$DIR/$l" --numeric-owner -cf "$DIR/$l.tar" .
		umoci raw add-layer --image "$DIR/img:app" "$DIR/$l.tar" >/dev/null
		rm -f "$DIR/$l.tar"
	done
	umoci config --image "$DIR/img:app" --config.cmd true >/dev/null
}

# median_ms CMD...: the median wall time of RUNS runs, in milliseconds.
median_ms() {
	local i t0 t1 times=()
	for ((i = 0; i < RUNS; i++)); do
		"$PREP"
		t0=$(date +%s%N)
		"$@" >/dev/null 2>"$DIR/err" ||
			bench_fail "failed: $*: $(tail -3 "$DIR/err")"
		t1=$(date +%s%N)
		times+=($(((t1 - t0) / 1000000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n "$((RUNS / 2 + 1))p"
}

fresh_images() {
	rm -rf "$DYNO_ROOT/images" "$DIR/bundle"
	sync
}

nop() {
	:
}

layers
echo "image: 3 layers, $(du -sh "$DIR/img/blobs" | cut -f1) compressed," \
	"$(find "$DIR/l2" | wc -l) files"
PREP=fresh_images
dimp=$(median_ms dyno-image import dynotest-bench web "$DIR/img")
umo=$(median_ms umoci unpack --image "$DIR/img:app" "$DIR/bundle")
umor=$(median_ms umoci unpack --rootless --image "$DIR/img:app" "$DIR/bundle")
echo "import  dyno-image ${dimp} ms   umoci unpack ${umo} ms   umoci unpack --rootless ${umor} ms"

hex=$(dyno-image import dynotest-bench web "$DIR/img")
IMG="$DYNO_ROOT/images/sha256-${hex#sha256:}"
PREP=nop
RUNS=$START_RUNS
dstart=$(median_ms dyno-run --net none --image "$IMG" -- true)
echo "start   dyno-run --image ${dstart} ms (warm, true)"
bench_need podman podman
export CONTAINERS_STORAGE_CONF="$DIR/storage.conf"
printf '[storage]\ndriver = "vfs"\nrunroot = "%s/crun"\ngraphroot = "%s/cstore"\n' \
	"$DIR" "$DIR" >"$CONTAINERS_STORAGE_CONF"
# Pulled once (warm, as the dyno's image is flattened once): runs name the
# stored image by id, so none of them pulls again.
# podman names the image after the layout's path, which must be lower case.
ln -s "$DIR/img" "$LCIMG"
pid=$(podman pull -q "oci:$LCIMG:app") || bench_fail "podman pull failed"
# podman run with what this host allows, measured the same way:
# - explicit nofile at this shell's hard limit and nproc at 4096: as root
#   podman asks for 1048576 and more, above them, and without
#   CAP_SYS_RESOURCE (a container host) crun fails with "setrlimit
#   RLIMIT_NOFILE: Operation not permitted"; --ulimit host fails the same
#   way, and so does nproc at the hard limit itself (measured: 4096 runs);
# - a hybrid cgroup host (v1 controllers, a cgroup2 with controllers at
#   /sys/fs/cgroup/unified) makes crun refuse ("cgroups in hybrid mode not
#   supported"): the podman runs get a private mount namespace without
#   that mount, so crun uses the v1 controllers as dyno-run does.  Nothing
#   outside that namespace sees the change.
podman_median() {
	local opts
	opts="--ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=4096:4096"
	unshare --mount --propagation private bash -c "
		$(declare -f median_ms nop bench_fail)
		if grep -q ' /sys/fs/cgroup/unified cgroup2 ' /proc/mounts &&
			grep -q . /sys/fs/cgroup/unified/cgroup.controllers; then
			umount -l /sys/fs/cgroup/unified
		fi
		BENCH_NAME=$BENCH_NAME DIR=$DIR RUNS=$RUNS PREP=nop
		median_ms podman run --rm --network none $opts $1 /bin/sh -c true"
}
bench_need unshare util-linux
pod=$(podman_median "$pid") || bench_fail "podman run failed"
echo "start   podman run --rm ${pod} ms (warm, sh -c true, crun)   ratio $(echo "scale=1; $pod / ($dstart + 0.5)" | bc)x"
