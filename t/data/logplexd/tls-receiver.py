# SPDX-License-Identifier: ISC
# A syslog+tls drain receiver for the logplexd tests: TLS on 127.0.0.1 (a
# free port, written to DIR/port); appends every byte received to
# DIR/received.
import os
import socket
import ssl
import sys
import threading

DIR, CERT, KEY = sys.argv[1:4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
lsock = socket.socket()
lsock.bind(("127.0.0.1", 0))
lsock.listen(16)
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(lsock.getsockname()[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))


def serve(conn):
    try:
        with ctx.wrap_socket(conn, server_side=True) as s:
            while True:
                data = s.recv(65536)
                if not data:
                    return
                with open(os.path.join(DIR, "received"), "ab") as f:
                    f.write(data)
    except (ssl.SSLError, OSError):
        return


while True:
    c, _ = lsock.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
