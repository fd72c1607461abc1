# SPDX-License-Identifier: ISC
"""A tiny web process: answers on $PORT, logs one line per request."""
import http.server
import os
import signal
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = "%s: %s on %s\n" % (os.environ.get("GREETING", "Hello"),
                                   self.path, os.environ.get("DYNO", "?"))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, fmt, *args):
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


def main():
    port = int(os.environ["PORT"])
    server = http.server.ThreadingHTTPServer(("", port), Handler)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print("Listening on %d" % port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
