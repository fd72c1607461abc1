# SPDX-License-Identifier: ISC
# An HTTPS drain receiver for the logplexd tests: listens on 127.0.0.1 (a
# free port, written to DIR/port), answers the statuses listed in
# DIR/statuses (one per line, used in order; 200 after that; "hold" records
# the request, then waits for DIR/release and answers 200) and records
# each request as one JSON line in DIR/requests, with the client's port
# ("peer"); each connection the client closes adds its port to DIR/closed.
import json
import os
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

DIR, CERT, KEY = sys.argv[1:4]


def next_status():
    path = os.path.join(DIR, "statuses")
    try:
        with open(path) as f:
            lines = f.read().split()
    except FileNotFoundError:
        return 200
    if not lines:
        return 200
    with open(path, "w") as f:
        f.write("\n".join(lines[1:]))
    return lines[0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status = next_status()
        hold = status == "hold"
        status = 200 if hold else int(status)
        rec = {"path": self.path, "status": status,
               "peer": self.client_address[1],
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body.decode("latin-1")}
        with open(os.path.join(DIR, "requests"), "a") as f:
            f.write(json.dumps(rec) + "\n")
        while hold and not os.path.exists(os.path.join(DIR, "release")):
            time.sleep(0.02)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def finish(self):
        super().finish()
        with open(os.path.join(DIR, "closed"), "a") as f:
            f.write("%d\n" % self.client_address[1])

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
server.serve_forever()
