#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# Hostile clients for dyno-route's resource tests (loopback only, bounded).
# Usage: dyno-route-flood.py CMD PORT ARGS...
#   halfclose PORT N [SRC]  N times: connect, send half a head, close
#   trickle PORT HOST SECS  send a head one byte every 0.2 s until the
#                           router answers or SECS pass; print "STATUS S"
#                           (the router's status, 0 for none; seconds)
#   hold PORT N SRC SECS    open N connections from SRC, half a head each;
#                           print how many the router kept open after 1 s
#                           (not closed, no answer); hold them SECS, close
#   get PORT HOST SECS [SRC]  one GET; print "STATUS MS" (0: no answer)
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
        return ""
    return d.split(b"\r\n")[0].decode("latin-1")


def status_of(line):
    parts = line.split()
    if len(parts) > 1 and parts[0].startswith("HTTP/1.") and \
            parts[1].isdigit():
        return int(parts[1])
    return 0


def trickle(port, host, secs):
    head = ("GET / HTTP/1.1\r\nHost: %s\r\nX-Slow: %s\r\n\r\n"
            % (host, "y" * 400)).encode()
    s = connect(port)
    start = time.monotonic()
    s.settimeout(0.2)
    for b in head:
        if time.monotonic() - start > secs:
            break
        try:
            s.send(bytes([b]))
            if s.recv(1, socket.MSG_PEEK) is not None:
                break
        except socket.timeout:
            continue
        except OSError:
            break
    s.settimeout(2)
    line = first_line(s)
    print("%d %.1f" % (status_of(line), time.monotonic() - start))


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
            s.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            kept += 1
        except OSError:
            pass
    print("kept %d" % kept, flush=True)
    time.sleep(secs)
    for s in socks:
        s.close()


def get(port, host, secs, src=None):
    start = time.monotonic()
    status = 0
    try:
        s = connect(port, src, timeout=secs)
        s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % host).encode())
        status = status_of(first_line(s))
    except OSError:
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
        get(port, a[0], float(a[1]), a[2] if len(a) > 2 else None)
    else:
        sys.exit("unknown command " + cmd)


main()
