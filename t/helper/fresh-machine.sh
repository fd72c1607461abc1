#!/bin/bash
# SPDX-License-Identifier: ISC
# fresh-machine.sh: the README's two commands, as a newcomer types them, on
# a Debian 12 that never had the project: a minimal root from Debian's
# archive (mmdebstrap --variant=minbase, with git, make and ca-certificates
# only), a fresh clone of this checkout's HEAD in it, entered with
# pivot_root in a private mount namespace (a plain chroot would break
# dyno-run's own pivot_root).  For maintainers, before a release:
# `make fresh-check` (FRESH_GOALS="demo" for the first command alone).
# Needs root, mmdebstrap and Debian's archive.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine: needs root" >&2; exit 77; }
command -v mmdebstrap >/dev/null ||
	{ echo "fresh-machine: needs mmdebstrap (apt-get install mmdebstrap)" >&2; exit 69; }

root=$(mktemp -d "${FRESH_TMPDIR:-/var/tmp}/dynotest-fresh-XXXXXX")
cleanup() {
	# Nothing is mounted outside the private namespace; only files remain.
	rm -rf --one-file-system "$root"
}
trap cleanup EXIT

echo "fresh-machine: building a minimal Debian 12 root in $root" >&2
mmdebstrap --quiet --variant=minbase --include=git,make,ca-certificates \
	bookworm "$root" "${FRESH_MIRROR:-http://deb.debian.org/debian}"
git clone --quiet "$top" "$root/root/dyno"
cp /etc/resolv.conf "$root/etc/resolv.conf"

# In a private mount namespace: the new root gets /proc, /sys (with the
# host's cgroups), /dev, fresh /run and /tmp, then becomes / by pivot_root.
# shellcheck disable=SC2016 # the script is for the inner shell
unshare --mount --propagation private -- /bin/bash -euc '
	root=$1
	mount --rbind "$root" "$root"
	mount -t proc proc "$root/proc"
	mount --rbind /sys "$root/sys"
	mount --rbind /dev "$root/dev"
	mount -t tmpfs -o mode=755 run "$root/run"
	mount -t tmpfs -o mode=1777 tmp "$root/tmp"
	cd "$root"
	mkdir -p .oldroot
	pivot_root . .oldroot
	umount -l /.oldroot
	rmdir /.oldroot
	cd /root/dyno
	exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 CI="${CI:-}" TERM=dumb \
		bash -c "set -e; for goal in $2; do echo \"== make \$goal\"; make \$goal; done"
' fresh-machine "$root" "${FRESH_GOALS:-demo check}"
echo "fresh-machine: make ${FRESH_GOALS:-demo check}: passed on a fresh Debian 12" >&2
