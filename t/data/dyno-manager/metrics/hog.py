# SPDX-License-Identifier: ISC
"""Test worker for log-runtime-metrics: holds 64 MB it has written to,
then keeps one CPU busy (one runnable task) until it is stopped."""
import signal
import sys
import time

signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
hog = b"x" * (64 * 1024 * 1024)
print("holding %d MB" % (len(hog) // (1024 * 1024)), flush=True)
end = time.monotonic() + 600
while time.monotonic() < end:
    pass
