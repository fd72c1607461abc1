#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A raw HTTP/2 client for t/0607-dyno-route-h2.bats, frames written by hand
(Debian's python3 has no h2 module by default).

Usage: dyno-route-h2.py PORT HOST CASE

Cases: reset (a stream reset mid-download, the others go on), stall (one
stream never read, the others go on), and attacks whose answer it prints:
preface, headers0, bighdr, window, dataidle, toomany.  Bodies are checked
against the bulk test dyno's pattern: "ok STREAM BYTES" when they match.
"""
import socket
import ssl
import struct
import sys

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINUP, CONT = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 1, 4, 1
PATTERN = bytes(range(251))


def frame(t, flags, sid, payload=b""):
    return (struct.pack(">I", len(payload))[1:] + bytes([t, flags]) +
            struct.pack(">I", sid) + payload)


def hint(n, prefix, first):
    """An HPACK integer."""
    top = (1 << prefix) - 1
    if n < top:
        return bytes([first | n])
    out = [first | top]
    n -= top
    while n >= 128:
        out.append((n & 127) | 128)
        n >>= 7
    out.append(n)
    return bytes(out)


def block(headers):
    """Literal fields without indexing, new names, no Huffman."""
    return b"".join(b"\x00" + hint(len(k), 7, 0) + k + hint(len(v), 7, 0) + v
                    for k, v in headers)


def req(host, path, method=b"GET", extra=()):
    return block([(b":method", method), (b":scheme", b"https"),
                  (b":authority", host), (b":path", path)] + list(extra))


def pattern_ok(offset, data):
    n = len(data)
    start = offset % 251
    want = (PATTERN * ((start + n) // 251 + 2))[start:start + n]
    return want == data


class Conn:
    def __init__(self, port, host):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.s = ctx.wrap_socket(raw, server_hostname=host)
        if self.s.selected_alpn_protocol() != "h2":
            sys.exit("no h2 by ALPN")
        self.host = host.encode()
        self.buf = b""

    def send(self, b):
        self.s.sendall(b)

    def start(self):
        self.send(PREFACE + frame(SETTINGS, 0, 0))

    def read(self):
        """One frame (type, flags, stream, payload), or None at EOF."""
        while True:
            if len(self.buf) >= 9:
                n = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) >= 9 + n:
                    break
            try:
                d = self.s.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                d = b""
            if not d:
                return None
            self.buf += d
        t, fl = self.buf[3], self.buf[4]
        sid = struct.unpack(">I", self.buf[5:9])[0] & 0x7FFFFFFF
        p, self.buf = self.buf[9:9 + n], self.buf[9 + n:]
        if t == SETTINGS and not fl & ACK:
            self.send(frame(SETTINGS, ACK, 0))
        if t == PING and not fl & ACK:
            self.send(frame(PING, ACK, 0, p))
        return t, fl, sid, p

    def get(self, sid, path, end=True):
        self.send(frame(HEADERS, END_HEADERS | (END_STREAM if end else 0),
                        sid, req(self.host, path)))

    def update(self, sid, n):
        self.send(frame(WINUP, 0, sid, struct.pack(">I", n)))


def downloads(c, sizes, reset=None, stall=None):
    """Read streams to their end; reset or never update one of them."""
    got = {sid: 0 for sid in sizes}
    good = {sid: True for sid in sizes}
    done = set()
    for sid, n in sizes.items():
        c.get(sid, b"/%d" % n)
    others = set(sizes) - {reset, stall}
    while not others <= done:
        f = c.read()
        if f is None:
            print("eof")
            return
        t, fl, sid, p = f
        if t == RST:
            print("rst %d code=%d" % (sid, struct.unpack(">I", p)[0]))
            done.add(sid)
        if t == GOAWAY:
            print("goaway")
            return
        if t != DATA or sid not in got:
            continue
        if p:
            c.update(0, len(p))
        if sid == reset and got[sid] >= 100000:
            continue
        good[sid] = good[sid] and pattern_ok(got[sid], p)
        got[sid] += len(p)
        if sid == reset and got[sid] >= 100000:
            c.send(frame(RST, 0, sid, struct.pack(">I", 8)))
            print("reset %d" % sid)
        elif sid != stall and p:
            c.update(sid, len(p))
        if fl & END_STREAM:
            done.add(sid)
            if good[sid] and got[sid] == sizes[sid]:
                print("ok %d %d" % (sid, got[sid]))
    if stall is not None:
        print("stalled %d at %d" % (stall, got[stall]))


def answer(c):
    """Frames until the end: what the router said."""
    while True:
        f = c.read()
        if f is None:
            print("eof")
            return
        t, fl, sid, p = f
        if t == GOAWAY:
            print("goaway code=%d" % struct.unpack(">I", p[4:8])[0])
        elif t == RST:
            print("rst %d code=%d" % (sid, struct.unpack(">I", p)[0]))
        elif t == DATA and fl & END_STREAM:
            print("end %d" % sid)
            if sid == 3:
                return


def big_headers(c):
    """A header list over the router's 64 KiB: that stream alone is reset."""
    fields = [(b"x-big-%d" % i, b"v" * 4000) for i in range(20)]
    hb = req(c.host, b"/10") + block(fields)
    chunks = [hb[i:i + 16000] for i in range(0, len(hb), 16000)]
    c.send(frame(HEADERS, END_STREAM, 1, chunks[0]))
    for i, ch in enumerate(chunks[1:], 1):
        c.send(frame(CONT, END_HEADERS if i == len(chunks) - 1 else 0, 1, ch))
    c.get(3, b"/10")
    answer(c)


def too_many(c):
    """Stream 203 is one over SETTINGS_MAX_CONCURRENT_STREAMS."""
    while True:
        f = c.read()
        if f is None or (f[0] == SETTINGS and f[1] & ACK):
            break
    for sid in range(1, 202, 2):
        c.send(frame(HEADERS, END_HEADERS, sid,
                     req(c.host, b"/", b"POST", [(b"content-length", b"1")])))
    c.send(frame(HEADERS, END_HEADERS, 203, req(c.host, b"/", b"POST")))
    while True:
        f = c.read()
        if f is None:
            print("eof")
            return
        if f[0] in (RST, GOAWAY):
            p = f[3] if f[0] == RST else f[3][4:8]
            print("%s %d code=%d" % ("rst" if f[0] == RST else "goaway",
                                     f[2], struct.unpack(">I", p)[0]))
            return


def main():
    port, host, case = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    c = Conn(port, host)
    if case == "preface":
        c.send(b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % c.host)
        return answer(c)
    c.start()
    if case == "reset":
        downloads(c, {1: 20000000, 3: 3000000, 5: 3000000}, reset=1)
    elif case == "stall":
        downloads(c, {1: 50000000, 3: 2000000, 5: 2000000, 7: 2000000},
                  stall=1)
    elif case == "headers0":
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, 0, req(c.host, b"/")))
        answer(c)
    elif case == "bighdr":
        big_headers(c)
    elif case == "window":
        c.update(0, 0x7FFFFFFF)
        answer(c)
    elif case == "dataidle":
        c.send(frame(DATA, END_STREAM, 7, b"hello"))
        answer(c)
    elif case == "toomany":
        too_many(c)


main()
