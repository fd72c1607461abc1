# SPDX-License-Identifier: ISC
# Split recorded logplex-1 bodies (JSON lines on stdin, from
# https-receiver.py) into their octet-counted frames and print, per request:
# "REQUEST N STATUS S COUNT C ID I TOKEN T UA U AUTH A TYPE Y" then one line
# per frame: "LEN|MESSAGE" with the message's newline shown as "\n".
import json
import sys

for n, line in enumerate(sys.stdin, 1):
    r = json.loads(line)
    h = r["headers"]
    print("REQUEST %d STATUS %d COUNT %s ID %s TOKEN %s UA %s AUTH %s TYPE %s PATH %s"
          % (n, r["status"], h.get("logplex-msg-count"), h.get("logplex-frame-id"),
             h.get("logplex-drain-token"), h.get("user-agent"),
             h.get("authorization", "-"), h.get("content-type"), r["path"]))
    body = r["body"].encode("latin-1")
    while body:
        sp = body.index(b" ")
        size = int(body[:sp])
        msg = body[sp + 1:sp + 1 + size]
        assert len(msg) == size, "short frame"
        print("%d|%s" % (size, msg.decode("latin-1").replace("\n", "\\n")))
        body = body[sp + 1 + size:]
