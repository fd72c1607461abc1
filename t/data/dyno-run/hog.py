# SPDX-License-Identifier: ISC
# Run inside a dyno: take a per-user kernel resource, or try to get one.
#   inotify       hold inotify instances until refused: "held N ERRNO"
#   sigqueue      queue real-time signals to itself until refused
#   inotify-once  one inotify_init: "inotify ok" or "inotify ERRNO"
#   timer-once    one timer_create: "timer_create ok" or ... ERRNO
# The holders then sleep until the dyno is stopped.
import ctypes
import errno
import os
import signal
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)


def err():
    e = ctypes.get_errno()
    return errno.errorcode.get(e, str(e))


def held(n):
    print("held", n, err(), flush=True)
    time.sleep(600)


def inotify():
    fds = []
    while len(fds) < 100000:
        fd = libc.inotify_init()
        if fd < 0:
            break
        fds.append(fd)
    held(len(fds))


def sigqueue():
    sig = signal.SIGRTMIN
    signal.pthread_sigmask(signal.SIG_BLOCK, [sig])
    n, pid = 0, os.getpid()
    while n < 10000000 and libc.sigqueue(pid, sig, ctypes.c_void_p(0)) == 0:
        n += 1
    held(n)


def once(name, rc):
    print(name, "ok" if rc == 0 or (name == "inotify" and rc > 0) else err())


if sys.argv[1] == "inotify":
    inotify()
elif sys.argv[1] == "sigqueue":
    sigqueue()
elif sys.argv[1] == "inotify-once":
    once("inotify", libc.inotify_init())
elif sys.argv[1] == "timer-once":
    tid = ctypes.c_void_p()
    once("timer_create", libc.timer_create(1, None, ctypes.byref(tid)))
