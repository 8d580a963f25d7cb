#!/usr/bin/env python3
# bindings/java/javac_jar.py: compiles every .java file of the given folders and
# files into a fresh class folder and packs them into a jar.
#   javac_jar.py JAVAC JAR OUT.jar CLASSDIR CLASSPATH SOURCE...
# CLASSPATH may be "" ; a SOURCE folder is searched recursively for .java files.
import os
import shutil
import subprocess
import sys

javac, jar, out, classdir, classpath = sys.argv[1:6]
sources = []
for s in sys.argv[6:]:
    if os.path.isdir(s):
        for root, _, names in os.walk(s):
            sources += [os.path.join(root, n) for n in sorted(names) if n.endswith(".java")]
    elif s.endswith(".java"):
        sources.append(s)
if not sources:
    sys.exit("javac_jar.py: no .java sources")
shutil.rmtree(classdir, ignore_errors=True)
os.makedirs(classdir)
cmd = [javac, "-Xlint:all,-serial", "--release", "11", "-d", classdir]
if classpath:
    cmd += ["-cp", classpath]
subprocess.check_call(cmd + sources)
if os.path.exists(out):
    os.remove(out)
subprocess.check_call([jar, "cf", out, "-C", classdir, "."])
