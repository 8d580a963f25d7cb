#!/usr/bin/env python3
"""tests/abi/check_init.py: every MOS_X_INIT macro of the public headers has its
function twin mos_x_init() declared with MOS_API (docs/api-conventions.md:
bindings cannot see macros), and tests/capi/test_conventions.c compares the two
(one CHECK_INIT line per macro, starting on its own line), so a new options or result struct cannot be
added without that test.

usage: check_init.py INCLUDE_MOS_DIR TEST_CONVENTIONS_C
"""
import pathlib
import re
import sys


def main():
    incdir, test = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]).read_text()
    macros, functions = set(), set()
    for h in sorted(incdir.glob("*.h")):
        text = h.read_text()
        macros.update(re.findall(r"^#define (MOS_[A-Z0-9_]+)_INIT\b", text, flags=re.M))
        functions.update(re.findall(r"MOS_API\b[^;{]*?\b(mos_[a-z0-9_]+)_init\s*\(", text))
    checked = set(re.findall(r"^\s*CHECK_INIT\(\s*(\w+),\s*(MOS_\w+)_INIT,\s*(\w+)\s*[,)]", test, flags=re.M))
    bad = []
    for m in sorted(macros):
        fn = m.lower()
        if fn not in functions:
            bad.append(f"{m}_INIT has no function {fn}_init()")
        if not any(c[1] == m and c[2] == fn + "_init" and c[0] == fn for c in checked):
            bad.append(f"{m}_INIT is not compared with {fn}_init() by CHECK_INIT({fn}, {m}_INIT, {fn}_init, ...)")
    for fn in sorted(functions):
        if fn.upper() not in macros:
            bad.append(f"{fn}_init() has no macro {fn.upper()}_INIT")
    for line in bad:
        print("FAIL:", line)
    if not macros:
        print("FAIL: no _INIT macro found in", incdir)
        return 1
    print(f"ok: {len(macros)} _INIT macros, each with its _init() twin compared in test_conventions.c")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
