"""tests/cli/cli_common.py: what the mos-cli test scripts share: running the
CLI, TAP-style checks, and the tiny corpus and search space the job tests
train on (a few hundred made-up sentence pairs, so training takes seconds).
"""
import gzip
import json
import os
import subprocess

# A space small enough that a training step takes milliseconds.
SPACE = {"format": "mos-space", "version": 1, "name": "cli-tiny", "qkv_dim": 16,
         "encoder": {"embed_dim": [12, 16], "layers": [1, 2], "ffn_dim": [8, 16], "heads": [2, 4]},
         "decoder": {"embed_dim": [12, 16], "layers": [1, 2], "ffn_dim": [8, 16], "self_heads": [2, 4],
                     "cross_heads": [2, 4], "cross_k": [1]}}
SRC = ["red", "blue", "green", "cat", "dog", "bird", "runs", "sleeps", "eats", "big", "small"]
TGT = ["rojo", "azul", "verde", "gato", "perro", "pajaro", "corre", "duerme", "come", "grande", "chico"]

# Options that keep a training run on the tiny corpus fast and single-threaded.
TINY_TRAIN = ["--vocab", "40", "--max-tokens", "256", "--max-len", "32", "--warmup", "2", "--threads", "1"]


def write_corpus(folder, sizes=(("train", 300), ("valid", 40), ("test", 20)), src="xx", tgt="yy", gz=False):
    """Word-for-word `src` -> `tgt` sentence pairs from a fixed generator
    (gzip-compressed with `gz`, as the built-in corpus), and the space file;
    returns the space path."""
    h = 11
    opener = (lambda path: gzip.open(path + ".gz", "wt")) if gz else (lambda path: open(path, "w"))
    for split, n in sizes:
        with opener(f"{folder}/{split}.{src}") as fs, opener(f"{folder}/{split}.{tgt}") as ft:
            for _ in range(n):
                h = (h * 6364136223846793005 + 1442695040888963407) % 2**64
                words = [(h >> (8 * j)) % 11 for j in range(2 + h % 5)]
                fs.write(" ".join(SRC[w] for w in words) + "\n")
                ft.write(" ".join(TGT[w] for w in words) + "\n")
    space = f"{folder}/space.json"
    with open(space, "w") as f:
        json.dump(SPACE, f)
    return space


class Checks:
    """TAP output: 'ok N - name' / 'not ok N - name' and a final plan."""

    def __init__(self, cli):
        self.cli = cli
        self.count = 0
        self.failures = 0

    def run(self, *args, stdin=None, timeout=300, env=None, cwd=None, cli=None):
        return subprocess.run([cli or self.cli, *args], capture_output=True, text=True, timeout=timeout,
                              input=stdin, env=env, cwd=cwd)

    def expect(self, name, cond, detail=""):
        self.count += 1
        if cond:
            print(f"ok {self.count} - {name}")
        else:
            self.failures += 1
            print(f"not ok {self.count} - {name}")
            for line in str(detail).splitlines()[-40:]:
                print(f"# {line}")
        return cond

    def one_line_error(self, name, r, *fragments):
        """Exit 1, nothing on stdout, one line on stderr holding every fragment."""
        err = r.stderr.strip()
        return self.expect(name, r.returncode == 1 and r.stdout == "" and "\n" not in err
                           and all(f in err for f in fragments), f"rc={r.returncode} stderr={r.stderr!r}")

    def usage_error(self, name, r, *fragments):
        """Exit 2 with a message holding every fragment and a pointer to --help."""
        return self.expect(name, r.returncode == 2 and all(f in r.stderr for f in fragments)
                           and "--help" in r.stderr, f"rc={r.returncode} stderr={r.stderr!r}")

    def json_of(self, r):
        """The one JSON object on stdout, or None."""
        try:
            lines = r.stdout.splitlines()
            return json.loads(lines[0]) if len(lines) == 1 else None
        except ValueError:
            return None

    def finish(self):
        print(f"1..{self.count}")
        return 1 if self.failures else 0


def env_without(*names):
    env = dict(os.environ)
    for n in names:
        env.pop(n, None)
    return env
