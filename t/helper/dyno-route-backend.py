#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# A test dyno for dyno-route that behaves (or misbehaves) on purpose.
# Usage: dyno-route-backend.py MODE PORTFILE [NAME]
# Modes: ok (answers with the request head it saw, keep-alive), chunked,
# hang (never answers), close (closes without answering), reset (half a
# response then RST), badstatus, silent (first bytes then silence),
# ws (WebSocket echo), slow (answers after 1.5 s), hop (a response whose
# Connection header names X-Private), bulk (GET /N: N pattern bytes,
# /chunked/N the same chunked, /hang never answers; a body sent: its length
# and SHA-1).  It writes its port to PORTFILE once listening.
import base64
import hashlib
import os
import socket
import struct
import sys
import threading

MODE, PORTFILE = sys.argv[1], sys.argv[2]
NAME = sys.argv[3] if len(sys.argv) > 3 else "dyno"


def read_head(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            return lines
        lines.append(line.decode("latin-1").rstrip("\r\n"))


def read_body(f, headers):
    te = headers.get("transfer-encoding", "")
    if "chunked" in te.lower():
        body = bytearray()      # not bytes: += on bytes is quadratic
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b""):
                    pass
                return bytes(body)
            body += f.read(size)
            f.readline()
    n = int(headers.get("content-length", "0"))
    return f.read(n) if n else b""


def ws_accept(key):
    g = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    return base64.b64encode(hashlib.sha1(g.encode()).digest()).decode()


def ws_echo(conn, f):
    while True:
        hdr = f.read(2)
        if len(hdr) < 2:
            return
        op, ln = hdr[0] & 0x0F, hdr[1] & 0x7F
        if ln == 126:
            ln = struct.unpack(">H", f.read(2))[0]
        mask = f.read(4) if hdr[1] & 0x80 else b"\0\0\0\0"
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(f.read(ln)))
        if op == 8:
            conn.sendall(b"\x88\x00")
            return
        out = bytes([0x80 | op]) + (bytes([len(data)]) if len(data) < 126
                                    else b"\x7e" + struct.pack(">H", len(data)))
        conn.sendall(out + data)


def answer(conn, f, lines, headers):
    body = read_body(f, headers)
    if MODE == "hang":
        threading.Event().wait()
    if MODE == "slow":
        threading.Event().wait(1.5)
    if MODE == "close":
        return False
    if MODE == "badstatus":
        conn.sendall(b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok")
        return False
    if MODE == "reset":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
        return False
    if MODE == "silent":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome")
        threading.Event().wait()
    if MODE == "ws" and headers.get("upgrade", "").lower() == "websocket":
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket"
                      "\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                      "\r\n" % ws_accept(headers["sec-websocket-key"])).encode())
        ws_echo(conn, f)
        return False
    if MODE == "bulk":
        if body:
            text = ("len=%d sha1=%s\n" % (len(body),
                    hashlib.sha1(body).hexdigest())).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(text), text))
            return True
        path = lines[0].split()[1]
        if path == "/hang":
            threading.Event().wait()
        block = bytes(range(251)) * 261
        if path.startswith("/chunked/"):
            n = int(path[9:])
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            while n > 0:
                k = min(n, len(block))
                conn.sendall(b"%x\r\n%s\r\n" % (k, block[:k]))
                n -= k
            conn.sendall(b"0\r\n\r\n")
            return True
        n = int(path.lstrip("/") or "0")
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
        while n > 0:
            conn.sendall(block[:min(n, len(block))])
            n -= min(n, len(block))
        return True
    text = ("dyno=%s\n%s\nbody=%s\n" % (NAME, "\n".join(lines),
            body.decode("latin-1"))).encode("latin-1")
    if MODE == "chunked":
        out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        for i in range(0, len(text), 7):
            part = text[i:i + 7]
            out += b"%x\r\n%s\r\n" % (len(part), part)
        conn.sendall(out + b"0\r\n\r\n")
    elif MODE == "hop":
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: X-Private\r\n"
                     b"X-Private: dyno-only\r\nX-Public: yes\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(text), text))
    else:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(text), text))
    return True


def serve(conn):
    f = conn.makefile("rb")
    try:
        while True:
            lines = read_head(f)
            if lines is None:
                return
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            if not answer(conn, f, lines, headers):
                return
    except (OSError, ValueError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    tmp = PORTFILE + ".tmp"
    with open(tmp, "w") as out:
        out.write("%d\n" % s.getsockname()[1])
    os.rename(tmp, PORTFILE)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
