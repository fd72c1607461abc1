#!/bin/bash
# SPDX-License-Identifier: ISC
# uml-suite LAYOUT FILE...: run bats files inside a user-mode-linux kernel
# booted over this machine's root, on a pure cgroup v2 hierarchy, and print
# their TAP.  LAYOUT is the cgroup tree the tests find:
#   systemd  controllers enabled at the top, the suite inside a delegated
#            unit's cgroup (trusted.delegate, as systemd marks Delegate=yes),
#            in a leaf of its own, systemd's /run/systemd/system present
#   bare     a fresh cgroup2 mount: nothing enabled, the suite at the root
# The guest mounts what it writes (tmpfs on /tmp, /run, /var/tmp; the tree
# under an overlay), so the host is never written, and its kernel is its
# own: nothing the suite makes is visible outside it.
set -u
layout=$1
shift
top=$(cd "$(dirname "$0")/../.." && pwd)
uml=${LINUX_UML:-linux.uml}

skip_all() { echo "1..0 # SKIP $*"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip_all "needs root"
command -v "$uml" >/dev/null 2>&1 || skip_all "needs $uml (Debian: user-mode-linux)"
kver=$(find /usr/lib/uml/modules -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | head -1)
[ -n "$kver" ] || skip_all "no /usr/lib/uml/modules"
# ASan builds do not start dynos inside the guest (its shadow memory at
# fixed addresses; seen: every dyno-run there failed); the same suites run
# on the host in that build.
[ "${SANITIZE:-}" != 1 ] || skip_all "ASan builds (SANITIZE=1) do not run under user-mode-linux"

out=$(mktemp -d /tmp/dynotest-uml-XXXXXX)
trap 'rm -rf "$out"' EXIT
# The guest's init: every path it needs is on the host's root (hostfs).
cat >"$out/init" <<INIT
#!/bin/bash
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 CI=\${CI:-} DYNO_TEST_UML=1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t hostfs -o "$out" none /mnt
exec >/mnt/console.log 2>&1
# The tree may be under a folder the guest covers next (a clone in /tmp):
# hold it open, and mount it back from that handle (as is: mount(8) would
# look its name up again, under the tmpfs).
exec 9<"$top"
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tmpfs -o mode=755 run /run
mount -t tmpfs -o mode=1777 vartmp /var/tmp
mkdir -p /dev/pts /dev/shm
ln -sfn /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
ln -sf pts/ptmx /dev/ptmx 2>/dev/null || mount --bind /dev/pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777 shm /dev/shm
# The guest's modules, for modprobe and the kernel's own requests.
mkdir -p /run/uml/lib
ln -s /usr/lib/uml/modules /run/uml/lib/modules
printf '#!/bin/sh\nexec /sbin/modprobe -d /run/uml "\$@"\n' >/mnt/modprobe
chmod 755 /mnt/modprobe
echo /mnt/modprobe >/proc/sys/kernel/modprobe
for m in overlay veth bridge nf_tables nft_ct nft_masq nft_limit; do
	/mnt/modprobe -q \$m || echo "uml-suite: modprobe \$m failed"
done
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
hostname dynotest-uml
ip link set lo up
# The tree, writable for the run only.
mkdir -p /tmp/.tree/up /tmp/.tree/work /tmp/.tree/low "$top"
mount --no-canonicalize --bind /proc/self/fd/9 /tmp/.tree/low
exec 9<&-
mount -t overlay -o lowerdir=/tmp/.tree/low,upperdir=/tmp/.tree/up,workdir=/tmp/.tree/work overlay "$top"
case $layout in
systemd)
	mkdir -p /run/systemd/system
	echo "+cpu +io +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control
	u=/sys/fs/cgroup/system.slice/dynotest.service
	mkdir -p \$u/payload
	echo "+cpu +io +memory +pids" >/sys/fs/cgroup/system.slice/cgroup.subtree_control
	setfattr -n trusted.delegate -v 1 \$u
	echo \$\$ >\$u/payload/cgroup.procs
	;;
bare)	;;
esac
cd "$top" || exit 1
echo "layout $layout: \$(cat /proc/self/cgroup)"
bats --tap $* </dev/null >/mnt/tap 2>/mnt/stderr
echo \$? >/mnt/rc
sync
poweroff -f
INIT
chmod 755 "$out/init"

start=$(date +%s)
# In a subshell of its own: the kernel may end by abort(3) after its
# poweroff, and the shell's "Aborted" notice is then the subshell's.
(timeout -k 10 "${UML_TIMEOUT:-1500}" "$uml" mem=2G root=/dev/root rootfstype=hostfs \
	rootflags=/ ro init="$out/init" con0=fd:0,fd:1 con=null quiet \
	</dev/null >"$out/kernel.log" 2>&1; exit $?) 2>>"$out/kernel.log"
if [ ! -s "$out/rc" ]; then
	echo "Bail out! uml-suite $layout: the guest did not finish"
	tail -n 20 "$out/console.log" "$out/kernel.log" 2>/dev/null | tr -d '\r' | sed 's/^/# /'
	exit 1
fi
tr -d '\r' <"$out/tap"
echo "# uml-suite $layout: $(($(date +%s) - start)) s in the guest"
sed 's/^/# /' "$out/stderr" | tail -n 40
exit "$(cat "$out/rc")"
