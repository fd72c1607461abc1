#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Check a tool's private header against its objects.

source-map.py map HEADER: every function (and extern object) the header
lists under a "/* FILE.c ..." comment is defined by FILE.o, beside the
header.  source-map.py circles OBJ...: no two of the objects call each
other, directly or round a longer circle.  Each prints one line per
finding and exits 1 when there is one.
"""
import os
import re
import subprocess
import sys


def defined(obj):
    out = subprocess.run(["nm", "--defined-only", obj], capture_output=True,
                         text=True, check=True).stdout
    return {p[2] for p in (l.split() for l in out.splitlines())
            if len(p) == 3 and p[1] in "TDRB"}


def undefined(obj):
    out = subprocess.run(["nm", "--undefined-only", obj], capture_output=True,
                         text=True, check=True).stdout
    return {l.split()[-1] for l in out.splitlines() if l.strip()}


# "/* FILE.c */", "/* FILE.c: ...", " * FILE.c: ...", "/* ---- FILE.c: ... ---- */"
SECTION = re.compile(r"^(?:/\*| \*)[\s-]+(?:\S*/)?(\w[\w.+-]*)\.c(?::|\s+\*/|\s+-)")
EXTERN = re.compile(r"^extern\s.*?(\w+)\s*;")
PROTO = re.compile(r"^(?!static|typedef|struct \w+ \{|#|/\*|\s)"
                   r"(?:.*?[\s*])?(\w+)\(")


def check_map(header):
    folder = os.path.dirname(header) or "."
    current, prev, bad = None, "", 0
    for n, line in enumerate(open(header), 1):
        m = SECTION.match(line)
        if m:
            current = m.group(1)
        elif current and not prev.startswith("static"):
            m = EXTERN.match(line) or PROTO.match(line)
            obj = os.path.join(folder, current + ".o")
            if m and m.group(1) not in defined(obj):
                print(f"{header}:{n}: {m.group(1)} is listed under "
                      f"{current}.c but not defined there")
                bad = 1
        prev = line
    return bad


def check_circles(objs):
    defs = {}
    for o in objs:
        for s in defined(o):
            defs[s] = o
    graph = {o: sorted({defs[u] for u in undefined(o) if u in defs} - {o})
             for o in objs}
    seen, bad = {}, 0

    def visit(o, path):
        nonlocal bad
        seen[o] = 1
        for d in graph[o]:
            if seen.get(d) == 1:
                loop = path[path.index(d):] + [d] if d in path else [o, d]
                print("import circle: " + " -> ".join(
                    os.path.basename(x) for x in loop))
                bad = 1
            elif d not in seen:
                visit(d, path + [d])
        seen[o] = 2

    for o in objs:
        if o not in seen:
            visit(o, [o])
    return bad


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "map":
        sys.exit(check_map(sys.argv[2]))
    if len(sys.argv) > 2 and sys.argv[1] == "circles":
        sys.exit(check_circles(sys.argv[2:]))
    sys.exit("usage: source-map.py map HEADER | circles OBJ...")
