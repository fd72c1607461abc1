# SPDX-License-Identifier: ISC
"""Test worker: crashes (exit 3) when $CRASH_PORT on 127.0.0.1 accepts,
else sleeps.  Lets a test make the next start of a dyno fail."""
import os
import socket
import sys
import time

s = socket.socket()
if s.connect_ex(("127.0.0.1", int(os.environ.get("CRASH_PORT", "9")))) == 0:
    print("crash port open: exiting 3", flush=True)
    sys.exit(3)
print("crash port closed: working", flush=True)
time.sleep(4242.202)
