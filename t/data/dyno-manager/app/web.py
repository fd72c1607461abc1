# SPDX-License-Identifier: ISC
"""Test web process: answers "DYNO GREETING" on $PORT."""
import http.server
import os
import signal
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = "%s %s\n" % (os.environ["DYNO"], os.environ.get("GREETING", "hello"))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, fmt, *args):
        pass


signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
server = http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
print("listening on", os.environ["PORT"], flush=True)
server.serve_forever()
