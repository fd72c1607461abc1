# SPDX-License-Identifier: ISC
# Run inside a dyno: make a socket of each address family, print
# "NAME ok" or "NAME ERRNO-NAME" (socketpair(2) the same, prefixed).
import ctypes
import errno
import os
import socket

libc = ctypes.CDLL(None, use_errno=True)

FAMILIES = [  # name, family, type, protocol
    ("AF_UNIX", 1, socket.SOCK_STREAM, 0),
    ("AF_INET", 2, socket.SOCK_STREAM, 0),
    ("AF_INET6", 10, socket.SOCK_DGRAM, 0),
    ("AF_NETLINK", 16, socket.SOCK_RAW, 0),       # NETLINK_ROUTE
    ("AF_UNSPEC", 0, socket.SOCK_STREAM, 0),
    ("AF_AX25", 3, socket.SOCK_SEQPACKET, 0),
    ("AF_APPLETALK", 5, socket.SOCK_DGRAM, 0),
    ("AF_X25", 9, socket.SOCK_SEQPACKET, 0),
    ("AF_KEY", 15, socket.SOCK_RAW, 2),
    ("AF_PACKET", 17, socket.SOCK_DGRAM, 0),
    ("AF_RDS", 21, socket.SOCK_SEQPACKET, 0),
    ("AF_CAN", 29, socket.SOCK_RAW, 1),
    ("AF_TIPC", 30, socket.SOCK_RDM, 0),
    ("AF_BLUETOOTH", 31, socket.SOCK_STREAM, 3),
    ("AF_ALG", 38, socket.SOCK_SEQPACKET, 0),
    ("AF_VSOCK", 40, socket.SOCK_STREAM, 0),
    ("AF_XDP", 44, socket.SOCK_RAW, 0),
    ("AF_MCTP", 45, socket.SOCK_DGRAM, 0),
    ("AF_MAX", 46, socket.SOCK_STREAM, 0),
    ("NEGATIVE", -1, socket.SOCK_STREAM, 0),
]


def report(name, rc):
    e = ctypes.get_errno()
    print(name, "ok" if rc >= 0 else errno.errorcode.get(e, e))


# The libc calls themselves: Python's socket() takes -1 as "the default".
for name, fam, kind, proto in FAMILIES:
    fd = libc.socket(fam, kind, proto)
    report(name, fd)
    if fd >= 0:
        os.close(fd)
pair = (ctypes.c_int * 2)()
for name, fam, kind in (("pair-AF_UNIX", 1, socket.SOCK_STREAM),
                        ("pair-AF_TIPC", 30, socket.SOCK_DGRAM)):
    report(name, libc.socketpair(fam, kind, 0, pair))
