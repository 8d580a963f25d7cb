#!/usr/bin/env python3
"""tests/abi/check_status.py: every mos_status value in the header is explicit
and unique, and the unit test's list of statuses covers them all.

usage: check_status.py include/mos/base.h tests/unit/test_base.c
"""
import re
import sys

header, test_c = sys.argv[1:3]
text = open(header).read()
enum = re.search(r"typedef enum mos_status \{(.*?)\} mos_status;", text, re.S)
if not enum:
    sys.exit("FAIL: enum mos_status not found")
body = re.sub(r"/\*.*?\*/", "", enum.group(1), flags=re.S)
values = {}
for item in filter(None, (s.strip() for s in body.split(","))):
    m = re.fullmatch(r"(MOS_[A-Z_]+)\s*=\s*(\d+)", item)
    if not m:
        sys.exit(f"FAIL: status {item!r} has no explicit value")
    name, val = m.group(1), int(m.group(2))
    if val in values.values():
        sys.exit(f"FAIL: status {name} reuses value {val}")
    values[name] = val
listed = set(re.findall(r"\bMOS_[A-Z_]+\b", re.search(r"all_status\[\] = \{(.*?)\};",
                                                      open(test_c).read(), re.S).group(1)))
missing = set(values) - listed
if missing:
    sys.exit(f"FAIL: tests/unit/test_base.c does not check {sorted(missing)}")
print(f"ok: {len(values)} unique explicit status values, all tested")
