#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Hostile image layers for t/1202: `dyno-image-layer.py CASE HOSTDIR OUT`
writes the uncompressed tar layer of CASE to OUT (gzip when OUT ends in
.gz).  HOSTDIR is a host folder the layer tries to reach."""
import gzip
import io
import sys
import tarfile


def reg(name, data=b"x", mode=0o644):
    t = tarfile.TarInfo(name)
    t.size, t.mode = len(data), mode
    return t, io.BytesIO(data)


def link(name, target, kind):
    t = tarfile.TarInfo(name)
    t.type, t.linkname = kind, target
    return t, None


def node(name, kind):
    t = tarfile.TarInfo(name)
    t.type, t.devmajor, t.devminor = kind, 1, 3
    return t, None


class Zeros(io.RawIOBase):
    """A file of n zero bytes, read without holding it in memory."""

    def __init__(self, n):
        self.left = n

    def readinto(self, b):
        k = min(len(b), self.left)
        b[:k] = bytes(k)
        self.left -= k
        return k

    def readable(self):
        return True


def cases(host):
    up = "../" * 12
    return {
        "dotdot": [reg(up + host.lstrip("/") + "/pwned")],
        "absolute": [reg(host + "/pwned")],
        "symlink-write": [link("a", host, tarfile.SYMTYPE),
                          reg("a/pwned"),
                          link("b", up + host.lstrip("/"), tarfile.SYMTYPE),
                          reg("b/pwned2")],
        "hardlink-out": [link("h", up + host.lstrip("/") + "/secret",
                              tarfile.LNKTYPE)],
        "hardlink-abs": [link("h", host + "/secret", tarfile.LNKTYPE)],
        "hardlink-via-symlink": [link("s", host, tarfile.SYMTYPE),
                                 link("h", "s/secret", tarfile.LNKTYPE)],
        "whiteout-root": [reg(".wh..", b"")],
        "whiteout-dot": [reg("etc/.wh..", b"")],
        "whiteout-via-symlink": [link("w", host, tarfile.SYMTYPE),
                                 reg("w/.wh.secret", b"")],
        "root-symlink": [link(".", host, tarfile.SYMTYPE)],
        "devices": [node("dev/mem", tarfile.CHRTYPE),
                    node("dev/sda", tarfile.BLKTYPE), reg("ok")],
        "many": [reg("f%d" % i) for i in range(300)],
    }


def main():
    case, host, out = sys.argv[1:4]
    raw = open(out, "wb")
    f = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1) \
        if out.endswith(".gz") else raw
    with tarfile.open(fileobj=f, mode="w", format=tarfile.GNU_FORMAT) as tar:
        if case == "bomb":
            t = tarfile.TarInfo("zeros")
            t.size = 64 << 20
            tar.addfile(t, Zeros(t.size))
        else:
            for t, data in cases(host)[case]:
                tar.addfile(t, data)
    if f is not raw:
        f.close()
    raw.close()


main()
