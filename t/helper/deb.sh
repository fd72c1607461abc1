#!/bin/sh
# SPDX-License-Identifier: ISC
# Builds a throw-away dyno .deb from `make install DESTDIR=... PREFIX=/usr`,
# as a Debian maintainer would, to check the install with lintian.
# Usage: t/helper/deb.sh OUTDIR   (prints the path of the .deb)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$1
root=$out/root
rm -rf "$root"
mkdir -p "$root/DEBIAN" "$out/src/debian"
make -s -C "$top" install DESTDIR="$root" PREFIX=/usr >/dev/null
version=$(cat "$top/VERSION")-1
arch=$(dpkg --print-architecture)
doc=$root/usr/share/doc/dyno
# Debian wants the license as the copyright file, and a changelog.
{
	printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n'
	printf 'Upstream-Name: dyno\n\nFiles: *\nCopyright: 2026 the dyno authors\n'
	printf 'License: ISC\n'
	sed -e '1,/^Copyright/d' -e 's/^$/./' -e 's/^/ /' "$doc/LICENSE"
} >"$doc/copyright"
rm "$doc/LICENSE"
printf 'dyno (%s) unstable; urgency=medium\n\n  * Test build.\n\n -- dyno test <dynotest@example.org>  Mon, 07 Dec 2026 00:00:00 +0000\n' \
	"$version" | gzip -9n >"$doc/changelog.Debian.gz"
# What dh_strip, dh_compress and dh_fixperms do.
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
	"$root"/usr/bin/* "$root"/usr/sbin/*
gzip -9n "$root"/usr/share/man/man*/*
find "$root" -path "$root/DEBIAN" -prune -o -type d -exec chmod 755 {} +
# Library dependencies, as dh_shlibdeps finds them; space-net dlopen()s
# libnftables, which no ELF header names, so it is named by hand.
printf 'Source: dyno\n\nPackage: dyno\nArchitecture: any\n' >"$out/src/debian/control"
deps=$(cd "$out/src" && dpkg-shlibdeps -O "$root"/usr/bin/* "$root"/usr/sbin/* 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f \
	-printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
cat >"$root/DEBIAN/control" <<EOC
Package: dyno
Version: $version
Architecture: $arch
Maintainer: dyno test <dynotest@example.org>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $deps, libnftables1, systemd | cron
Section: admin
Priority: optional
Homepage: https://example.org/dyno
Description: Heroku's dyno runtime as small Linux tools
 dyno-run, dyno-manager, dyno-route, logplexd, release and the rest run
 Procfile apps in isolated, limited, ephemeral dynos.
EOC
deb=$out/dyno_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
