"""tests/cli/test_cli_install.py: an installed mos-cli works outside the source
tree. `meson install --destdir` puts the build into a temporary folder; the
installed mos-cli, run from another temporary folder, finds the installed
built-in corpus (<datadir>/libmos/data/bible-en-es, intact per its
SHA256SUMS) and the installed built-in supernet (docs/builtin.md), and runs
the quickstart job on it. By default the job runs on the tiny
test corpus (training a tokenizer on the 29,077 Bible verses alone takes
longer than the whole cli suite); with --full (the slow suite) it runs on
the installed corpus itself, with tiny budgets.

usage: test_cli_install.py MESON BUILD_DIR [--full]
"""
import hashlib
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_common import Checks, env_without, write_corpus  # noqa: E402

meson, build = sys.argv[1], sys.argv[2]
full = "--full" in sys.argv[3:]
t = Checks(None)
expect = t.expect

with tempfile.TemporaryDirectory() as dest, tempfile.TemporaryDirectory() as elsewhere:
    r = subprocess.run([meson, "install", "-C", build, "--no-rebuild", "--quiet", "--destdir", dest],
                       capture_output=True, text=True, timeout=600)
    expect("meson install --destdir", r.returncode == 0, r.stdout + r.stderr)
    found = {}
    for root, dirs, files in os.walk(dest):
        for name in files:
            if name in ("mos-cli", "libmos.so.0", "SHA256SUMS", "manifest.json"):
                found.setdefault(name, os.path.join(root, name))
    expect("mos-cli, libmos.so.0, the corpus and the built-in supernet are installed", len(found) == 4, str(found))
    expect("the built-in supernet is installed under <datadir>/libmos/builtin",
           found.get("manifest.json", "").endswith("/libmos/builtin/bible-en-es/manifest.json"), str(found))
    cli = found.get("mos-cli")
    corpus = os.path.dirname(found.get("SHA256SUMS", ""))
    if len(found) == 4:
        ok = True
        with open(found["SHA256SUMS"]) as f:
            for line in f:
                digest, name = line.split()
                with open(os.path.join(corpus, name.lstrip("*")), "rb") as g:
                    ok = ok and hashlib.sha256(g.read()).hexdigest() == digest
        expect("the installed corpus matches its SHA256SUMS", ok and corpus.endswith("/libmos/data/bible-en-es"),
               corpus)
        env = env_without("MOS_CORPUS_DIR")
        env["LD_LIBRARY_PATH"] = os.path.dirname(found["libmos.so.0"])
        r = t.run("info", cli=cli, env=env, cwd=elsewhere)
        expect("the installed mos-cli finds the installed corpus (relative to itself)",
               r.returncode == 0 and f"builtin_corpus={corpus}\n" in r.stdout, r.stdout + r.stderr)
        tiny = ["--train-seconds", "1", "--latency-archs", "5", "--population", "5", "--iterations", "1",
                "--max-sentences", "3", "--beam", "1", "--json"]
        if full:
            r = t.run("quickstart", "--work", "qs", "--vocab", "200", *tiny, cli=cli, env=env, cwd=elsewhere,
                      timeout=1800)
        else:
            data = os.path.join(elsewhere, "corpus")
            os.mkdir(data)
            write_corpus(data)
            r = t.run("quickstart", "--data", data, "--src", "xx", "--tgt", "yy", "--vocab", "40",
                      "--work", "qs", *tiny, cli=cli, env=env, cwd=elsewhere, timeout=600)
        j = t.json_of(r)
        expect("the installed mos-cli runs quickstart outside the source tree" +
               (" on the installed corpus" if full else ""),
               j is not None and len(j["subnets"]) == 5 and (j["corpus"] == corpus) == full
               and j["builtin"]["name"] == "bible-en-es" and os.path.exists(os.path.join(elsewhere, "qs", "search.json")),
               r.stdout[-2000:] + r.stderr[-3000:])

sys.exit(t.finish())
