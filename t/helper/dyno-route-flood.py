#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# Hostile clients for dyno-route's resource tests (loopback only, bounded).
# Usage: dyno-route-flood.py CMD PORT ARGS...
#   halfclose PORT N [SRC]  N times: connect, send half a head, close
#   trickle PORT HOST SECS  send a head one byte every 0.2 s for at most
#                           SECS; print "closed after Xs: FIRST-LINE"
#   hold PORT N SRC SECS    open N connections from SRC, half a head each;
#                           print how many the router kept open after 1 s
#                           (not closed, no answer); hold them SECS, close
#   get PORT HOST SECS      one GET; print "STATUS MS" (status 0: failed)
import socket
import sys
import time

HALF = b"GET / HTTP/1.1\r\nHost: flood.localhost\r\nX-Pad: "


def connect(port, src=None, timeout=5):
    s = socket.socket()
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def halfclose(port, n, src=None):
    failed = 0
    for _ in range(n):
        try:
            s = connect(port, src)
            s.sendall(HALF + b"x" * 200)
            s.close()
        except OSError:
            failed += 1
    print("sent %d failed %d" % (n - failed, failed))


def first_line(s):
    try:
        d = s.recv(4096)
    except OSError:
        return "(reset)"
    return d.split(b"\r\n")[0].decode("latin-1") if d else "(closed)"


def trickle(port, host, secs):
    head = ("GET / HTTP/1.1\r\nHost: %s\r\nX-Slow: %s\r\n\r\n"
            % (host, "y" * 400)).encode()
    s = connect(port)
    start = time.monotonic()
    for b in head:
        if time.monotonic() - start > secs:
            break
        try:
            s.send(bytes([b]))
        except OSError:
            break
        s.settimeout(0.2)
        try:
            d = s.recv(4096, socket.MSG_PEEK)
        except socket.timeout:
            continue
        except OSError:
            break
        break
    s.settimeout(5)
    line = first_line(s)
    print("closed after %.1fs: %s" % (time.monotonic() - start, line))


def hold(port, n, src, secs):
    socks = []
    for _ in range(n):
        try:
            s = connect(port, src)
            s.sendall(HALF)
            socks.append(s)
        except OSError:
            pass
    time.sleep(1)
    kept = 0
    for s in socks:
        s.settimeout(0)
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                continue
        except BlockingIOError:
            kept += 1
        except OSError:
            continue
    print("kept %d" % kept, flush=True)
    time.sleep(secs)
    for s in socks:
        s.close()


def get(port, host, secs):
    start = time.monotonic()
    status = 0
    try:
        s = connect(port, timeout=secs)
        s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % host).encode())
        line = first_line(s)
        if line.startswith("HTTP/1.1 "):
            status = int(line.split()[1])
    except (OSError, ValueError):
        pass
    print("%d %d" % (status, (time.monotonic() - start) * 1000))


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    a = sys.argv[3:]
    if cmd == "halfclose":
        halfclose(port, int(a[0]), a[1] if len(a) > 1 else None)
    elif cmd == "trickle":
        trickle(port, a[0], float(a[1]))
    elif cmd == "hold":
        hold(port, int(a[0]), a[1], float(a[2]))
    elif cmd == "get":
        get(port, a[0], float(a[1]))
    else:
        sys.exit("unknown command " + cmd)


main()
