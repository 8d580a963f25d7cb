#!/usr/bin/env python3
"""tests/abi/check_symbols.py: the exported symbols of libmos.so are exactly the
mos_* functions declared with MOS_API in the public headers, and exactly the
global names of lib/libmos.sym, all in a version node.

usage: check_symbols.py LIBMOS.so libmos.sym INCLUDE_MOS_DIR
"""
import pathlib
import re
import subprocess
import sys


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        name = parts[2]
        base, _, ver = name.partition("@")
        if parts[1] in ("A",):  # version node markers (MOS_0.1)
            continue
        syms[base] = ver.lstrip("@")
    return syms


def declared(incdir):
    names = set()
    for h in sorted(pathlib.Path(incdir).glob("*.h")):
        text = h.read_text()
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        for m in re.finditer(r"MOS_API\b[^;{]*?\b(mos_[a-z0-9_]+)\s*\(", text):
            names.add(m.group(1))
    return names


def script(symfile):
    text = re.sub(r"/\*.*?\*/", " ", pathlib.Path(symfile).read_text(), flags=re.S)
    names = {}
    for node in re.finditer(r"(MOS_[0-9.]+)\s*\{(.*?)\}", text, flags=re.S):
        body = node.group(2)
        glob = body.split("local:")[0]
        glob = glob.replace("global:", "")
        for n in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*;", glob):
            if n in names:
                sys.exit(f"FAIL: {n} listed twice in {symfile}")
            names[n] = node.group(1)
    return names


def main():
    lib, symfile, incdir = sys.argv[1:4]
    exp = exported(lib)
    dec = declared(incdir)
    scr = script(symfile)
    errors = []
    for n in sorted(exp):
        if not n.startswith("mos_"):
            errors.append(f"exported symbol {n} is not a mos_* function")
    for n in sorted(set(exp) - dec):
        errors.append(f"{n} is exported but not declared with MOS_API in include/mos")
    for n in sorted(dec - set(exp)):
        errors.append(f"{n} is declared in include/mos but not exported")
    for n in sorted(set(scr) ^ dec):
        errors.append(f"{n}: version script and headers disagree")
    for n, ver in exp.items():
        if n in scr and ver != scr[n]:
            errors.append(f"{n} has version {ver!r}, version script says {scr[n]!r}")
    if errors:
        print("\n".join("FAIL: " + e for e in errors))
        sys.exit(1)
    print(f"ok: {len(exp)} exported mos_* symbols match headers and {pathlib.Path(symfile).name}")


if __name__ == "__main__":
    main()
