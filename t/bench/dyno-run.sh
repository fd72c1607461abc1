#!/bin/bash
# SPDX-License-Identifier: ISC
# Start-to-exit time of `true` in a dyno, side by side with unshare (the
# floor), bwrap with a dyno-like setup, and crun and runc running an OCI
# bundle with the same limits and seccomp allow-list.  Warm medians, then
# cold ones (page cache dropped before each start).  Run by `make bench`.
set -eu

TOP=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-40}
COLD_RUNS=${COLD_RUNS:-5}
# shellcheck source=t/helper/bench.bash
. "$(dirname "$0")/../helper/bench.bash"
bench_root
bench_build
bench_need bc bc

# crun refuses hybrid hosts (v1 controllers plus a cgroup2 mount): run the
# whole bench in a private mount namespace without the cgroup2 mount.
if [ -z "${DYNO_BENCH_NS:-}" ] && [ -d /sys/fs/cgroup/unified ]; then
	exec unshare -m --propagation private env DYNO_BENCH_NS=1 bash "$0" "$@"
fi
if [ -n "${DYNO_BENCH_NS:-}" ]; then
	umount /sys/fs/cgroup/unified 2>/dev/null || true
fi

DIR=$(mktemp -d /tmp/dynotest-bench-XXXXXX)
cleanup() {
	umount -R "$DIR/bundle/rootfs" 2>/dev/null || true
	space-net destroy common --force >/dev/null 2>&1 || true
	rm -rf "$DIR"
}
trap cleanup EXIT

export DYNO_ROOT="$DIR/root" DYNO_RUNDIR="$DIR/run" DYNO_CONF="$DIR/dyno.conf"
mkdir -p "$DYNO_ROOT" "$DYNO_RUNDIR" "$DIR/slug"
bench_conf </dev/null

# The dyno's seccomp allow-list, for the OCI bundle's profile.
syscalls() {
	sed -n '/^static const char \*const allow/,/^};/p' \
		"$TOP/bin/run/dyno-run.bpfgen.c" | grep -o '"[a-z0-9_]*"' | paste -sd,
}

bundle() {
	mkdir -p "$DIR/bundle/rootfs"/{usr,proc,dev,tmp,etc}
	ln -s usr/bin "$DIR/bundle/rootfs/bin"
	ln -s usr/lib "$DIR/bundle/rootfs/lib"
	ln -s usr/lib64 "$DIR/bundle/rootfs/lib64"
	cat >"$DIR/bundle/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "user": { "uid": 65534, "gid": 65534 },
    "args": [ "/bin/true" ],
    "env": [ "PATH=/usr/bin:/bin", "HOME=/app" ],
    "cwd": "/",
    "noNewPrivileges": true,
    "capabilities": { "bounding": [], "effective": [], "permitted": [] },
    "rlimits": [ { "type": "RLIMIT_NOFILE", "hard": 10000, "soft": 10000 } ]
  },
  "root": { "path": "rootfs", "readonly": true },
  "hostname": "dyno",
  "mounts": [
    { "destination": "/usr", "type": "bind", "source": "/usr",
      "options": [ "rbind", "ro", "nosuid", "nodev" ] },
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
      "options": [ "nosuid", "mode=755", "size=64k" ] },
    { "destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
      "options": [ "nosuid", "nodev", "mode=1777", "size=256m" ] }
  ],
  "linux": {
    "namespaces": [ { "type": "pid" }, { "type": "mount" }, { "type": "ipc" },
      { "type": "uts" }, { "type": "network" }, { "type": "cgroup" } ],
    "resources": {
      "memory": { "limit": 1073741824 },
      "pids": { "limit": 256 },
      "cpu": { "shares": 1024 }
    },
    "maskedPaths": [ "/proc/kcore", "/proc/keys", "/proc/timer_list" ],
    "readonlyPaths": [ "/proc/sys", "/proc/sysrq-trigger" ],
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "architectures": [ "SCMP_ARCH_X86_64" ],
      "syscalls": [ { "names": [ $(syscalls) ], "action": "SCMP_ACT_ALLOW" },
        { "names": [ "clone" ], "action": "SCMP_ACT_ALLOW",
          "args": [ { "index": 0, "value": 2114060288, "valueTwo": 0,
            "op": "SCMP_CMP_MASKED_EQ" } ] },
        { "names": [ "clone3" ], "action": "SCMP_ACT_ERRNO", "errnoRet": 38 } ]
    }
  }
}
JSON
}

N=0
run_unshare() { unshare --pid --fork --mount --uts --ipc --net --cgroup true; }
run_bwrap() {
	bwrap --unshare-all --die-with-parent --cap-drop ALL \
		--ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib \
		--symlink usr/lib64 /lib64 --proc /proc --dev /dev --tmpfs /tmp \
		--bind "$DIR/slug" /app --chdir /app -- /bin/true
}
run_crun() { N=$((N + 1)); crun run --bundle "$DIR/bundle" "dynotest-b$$-$N" >/dev/null; }
run_runc() { N=$((N + 1)); runc run --bundle "$DIR/bundle" "dynotest-b$$-$N" >/dev/null; }
run_dyno() {
	"$TOP/bin/dyno-run" --app-dir "$DIR/slug" --net none --size standard-1x \
		-- true 2>/dev/null
}

# median_ms FN COUNT COLD: the median wall time of COUNT runs, in ms.
median_ms() {
	local fn=$1 count=$2 cold=$3 i t0 t1 times=()
	for ((i = 0; i < count; i++)); do
		if [ "$cold" = 1 ]; then
			sync
			echo 3 >/proc/sys/vm/drop_caches
		fi
		t0=$EPOCHREALTIME
		"$fn" || { echo "dyno-run bench: $fn failed" >&2; return 1; }
		t1=$EPOCHREALTIME
		times+=("$(echo "($t1 - $t0) * 1000" | bc -l)")
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1}
		END { m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		      printf "%.2f\n", m }'
}

command -v bc >/dev/null || { echo "dyno-run bench: needs bc"; exit 1; }
bundle
declare -A have=([unshare]=1 [dyno]=1)
command -v bwrap >/dev/null && have[bwrap]=1
command -v crun >/dev/null && have[crun]=1
command -v runc >/dev/null && have[runc]=1

report() {
	local mode=$1 count=$2 cold=$3 t base crunt name
	declare -A ms
	for name in unshare bwrap crun runc dyno; do
		[ -n "${have[$name]:-}" ] || continue
		[ "$cold" = 1 ] || median_ms "run_$name" 3 0 >/dev/null	# warm up
		ms[$name]=$(median_ms "run_$name" "$count" "$cold")
	done
	base=${ms[unshare]}
	crunt=${ms[crun]:-}
	echo "== dyno-run start-to-exit of true, $mode medians ($count runs each)"
	for name in unshare bwrap crun runc dyno; do
		[ -n "${ms[$name]:-}" ] || { printf '  %-8s missing\n' "$name"; continue; }
		t=${ms[$name]}
		printf '  %-8s %8.2f ms  %5.2fx unshare' "$name" "$t" \
			"$(echo "$t / $base" | bc -l)"
		[ -n "$crunt" ] && printf '  crun/it %5.2fx' "$(echo "$crunt / $t" | bc -l)"
		echo
	done
	printf '  goals: dyno <= 2x unshare: %s; crun >= 4x dyno: %s\n' \
		"$(echo "${ms[dyno]} <= 2 * $base" | bc -l | sed 's/1/met/;s/0/missed/')" \
		"$([ -n "$crunt" ] && echo "$crunt >= 4 * ${ms[dyno]}" | bc -l |
			sed 's/1/met/;s/0/missed/')"
}

report warm "$RUNS" 0
report cold "$COLD_RUNS" 1
