#!/usr/bin/env python3
# bench/soak_server.py: soak benchmark of the Go example server (examples/go-server).
# Starts the server on a loopback port with a model file, sends it a bounded mixed load
# (valid translations, malformed bodies, empty sentences, oversized bodies) from
# concurrent clients, and reports per-class counts, failures, latency, throughput,
# resident memory and whether identical inputs gave identical outputs. Prints a table
# and a final JSON line; exits non-zero if a target is missed. Standard library only.
#
#   bench/soak_server.py --model M --server BIN [--requests 10000] [--clients 16] [--batch-window 5ms]
#   bench/soak_server.py --model M --build-dir build   # builds the server first
import argparse
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

SENTENCES = [
    "Good morning.", "Thank you very much.", "Where is the station?",
    "The cat is sleeping.", "I like green tea.", "It is raining today.",
    "Please close the door.", "How old are you?", "The house is big.",
    "We are going home.", "She reads a book.", "He has two brothers.",
    "The water is cold.", "Open the window, please.", "I do not understand.",
    "The children play in the garden.", "My father works in a bank.",
    "Where do you live?", "The food was very good.", "See you tomorrow.",
    "The bird sings in the tree.", "I am tired.", "What time is it?",
    "The dog runs fast.", "This is my friend.", "They eat bread and cheese.",
    "The sun is hot.", "Can you help me?", "I lost my keys.",
    "The road is long.", "Happy birthday!", "The king had three sons.",
    "Love your neighbour.", "The sea is calm tonight.", "I want to sleep.",
    "Light came into the world.", "Do not be afraid.", "The book is on the table.",
    "We need more time.", "The city is quiet at night.",
]

# Each malformed body must get 400 with a message (the server names what is wrong).
MALFORMED = [
    b"", b"{", b"not json", b"[]", b"null", b"42", b'"sentences"',
    b'{"sentences": "Good morning."}', b'{"sentences": [1, 2]}', b'{"sentences": null}',
    b'{"sentences": ["Good morning."], "beam": "4"}', b'{"sentences": ["Hi."], "beam": 0}',
    b'{"sentences": ["Hi."], "beam": 65}', b'{"sentences": ["Hi."], "beam": 1.5}',
    b'{"sentences": ["Hi."]} trailing', b'{"sentences": ["Hi."]}{}',
    b'{"sentences": ["Hi."], "sentences": ["Bye."]}', b'{"sentences": ["Hi."], "extra": 1}',
    b'{}', b'{"beam": 2}', b'{"sentences": ["caf\xe9"]}', b'{"sentences": ["\xff\xfe"]}',
    b'{"sentences": ["\xed\xa0\x80"]}', b'{"sentences": ["\\ud800"]}',
    b'{"sentences": ["a\\u0000b"]}', b'{"sentences": ["unterminated]}',
]

EMPTY = [([""], [""]), (["   "], [""]), ([], []), (["", " \t "], ["", ""])]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def build_server(build_dir, go, work):
    """Assembles the Go binding and the example as examples/go-server/run_test.sh does
    and runs `go build`; returns the binary's path."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bsrc, esrc = os.path.join(root, "bindings/go"), os.path.join(root, "examples/go-server")
    gen = os.path.join(build_dir, "bindings/go")
    mos_dir, srv_dir = os.path.join(work, "mos"), os.path.join(work, "go-server")
    os.makedirs(mos_dir)
    os.makedirs(srv_dir)
    shutil.copy(os.path.join(bsrc, "go.mod"), mos_dir)
    for f in os.listdir(bsrc):
        if f.endswith(".go") and not f.endswith("_test.go") and f != "mos.go":
            shutil.copy(os.path.join(bsrc, f), mos_dir)
    for f in ("mos.go", "mos_wrap.c"):
        shutil.copy(os.path.join(gen, f), mos_dir)
    for f in os.listdir(esrc):
        if f == "go.mod" or (f.endswith(".go") and not f.endswith("_test.go")):
            shutil.copy(os.path.join(esrc, f), srv_dir)
    lib = os.path.abspath(os.path.join(build_dir, "lib"))
    env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GOTOOLCHAIN="local",
               GO111MODULE="on", GOSUMDB="off", GOCACHE=os.path.join(work, "gocache"),
               GOPATH=os.path.join(work, "gopath"), CGO_ENABLED="1",
               CGO_CFLAGS=f"-I{os.path.join(root, 'include')} "
                          f"-I{os.path.abspath(os.path.join(build_dir, 'include'))} "
                          "-fno-strict-aliasing -O2",
               CGO_LDFLAGS=f"-L{lib} -Wl,-rpath,{lib}")
    binary = os.path.join(work, "go-server-bin")
    subprocess.run([go, "build", "-o", binary, "."], cwd=srv_dir, env=env, check=True)
    return binary


def make_plan(n, seed):
    """The request of every index: (class, payload). About 70% valid, 15% malformed,
    10% empty, 5% oversized (half of those only over the sentence caps)."""
    rnd = random.Random(seed)
    pairs = [[rnd.choice(SENTENCES), rnd.choice(SENTENCES)] for _ in range(8)]
    plan = []
    for _ in range(n):
        r = rnd.random()
        if r < 0.70:
            sents = rnd.choice(pairs) if rnd.random() < 0.15 else [rnd.choice(SENTENCES)]
            plan.append(("valid", sents))
        elif r < 0.85:
            plan.append(("malformed", rnd.choice(MALFORMED)))
        elif r < 0.95:
            plan.append(("empty", rnd.choice(EMPTY)))
        else:
            plan.append(("oversized", rnd.choice(["declared", "chunked", "sentences", "chars"])))
    return plan


class Client:
    def __init__(self, port, timeout):
        self.port, self.timeout, self.conn = port, timeout, None

    def post(self, body):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request("POST", "/translate", body=body,
                                  headers={"Content-Type": "application/json"})
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp.status, data
            except (ConnectionError, http.client.RemoteDisconnected, BrokenPipeError):
                self.close()  # a kept-alive connection the server had closed: retry once
                if attempt:
                    raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def raw_oversized(port, max_body, kind, timeout):
    """Sends a body over the limit on a fresh connection; returns (status, body, bytes
    sent). "declared" announces a 1 GiB Content-Length but sends only 64 KiB and waits:
    an answer proves the server did not read the body whole. "chunked" streams max_body
    + 64 KiB without a length."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sent = 0
    try:
        if kind == "declared":
            s.sendall(b"POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1073741824\r\n\r\n")
            chunk = b'{"sentences": ["' + b"a" * 65520
            s.sendall(chunk)
            sent = len(chunk)
        else:
            s.sendall(b"POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            piece = b" " * 65536
            try:
                while sent <= max_body:
                    s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                    sent += len(piece)
                s.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed before the end: fine
        resp = http.client.HTTPResponse(s)
        resp.begin()
        return resp.status, resp.read(), sent
    finally:
        s.close()


def error_message(data):
    try:
        msg = json.loads(data).get("error")
        return msg if isinstance(msg, str) and msg.strip() else None
    except (ValueError, AttributeError):
        return None


def percentile(sorted_xs, p):
    if not sorted_xs:
        return float("nan")
    return sorted_xs[min(len(sorted_xs) - 1, int(round(p / 100 * (len(sorted_xs) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--model", required=True, help="model file for the server")
    ap.add_argument("--server", help="built go-server binary (else built from --build-dir)")
    ap.add_argument("--build-dir", default="build", help="meson build dir with -Dgo=enabled")
    ap.add_argument("--go", default=shutil.which("go") or "go")
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch-window", default="0",
                    help="the server's -batch-window (a Go duration, e.g. 5ms; 0 = no batching)")
    ap.add_argument("--beam", type=int, default=4)
    ap.add_argument("--max-body", type=int, default=1 << 20, help="server's -max-body")
    ap.add_argument("--max-sentences", type=int, default=64)
    ap.add_argument("--max-chars", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    ap.add_argument("--seed", type=int, default=19)
    args = ap.parse_args()
    if args.requests < 1 or args.clients < 1:
        ap.error("--requests and --clients must be positive")

    work = tempfile.mkdtemp(prefix="mos-soak-")
    server = args.server or build_server(args.build_dir, args.go, work)
    port = free_port()
    log_path = os.path.join(work, "server.log")
    log = open(log_path, "wb")
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "passive")
    proc = subprocess.Popen([server, "-model", args.model, "-addr", f"127.0.0.1:{port}",
                             "-workers", str(args.workers), "-max-body", str(args.max_body),
                             "-max-sentences", str(args.max_sentences),
                             "-max-chars", str(args.max_chars), "-batch-window", args.batch_window],
                            stderr=log, env=env)
    try:
        return run(args, proc, port)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if proc.returncode not in (0, -15):
            sys.stderr.write(open(log_path, errors="replace").read()[-4000:])
        shutil.rmtree(work, ignore_errors=True)


def run(args, proc, port):
    deadline = time.time() + 60
    while True:
        if proc.poll() is not None:
            sys.exit(f"server exited with status {proc.returncode} before answering")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                c.close()
                break
        except OSError:
            pass
        if time.time() > deadline:
            sys.exit("server did not become healthy within 60 s")
        time.sleep(0.1)

    pid = proc.pid
    rss_start = rss_kb(pid)
    plan = make_plan(args.requests, args.seed)
    warm_n = max(1, args.requests // 10)
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "rss_warm": None, "rss_peak": rss_start}
    counts = {k: 0 for k in ("valid", "malformed", "empty", "oversized")}
    fails = {k: 0 for k in counts}
    examples = []
    latencies = []
    outputs = {}  # (sentences, beam) -> translations seen first
    mismatches = []
    oversized_declared_answered = [0, 0]  # answered, sent

    def record_fail(cls, what):
        fails[cls] += 1
        if len(examples) < 10:
            examples.append(f"{cls}: {what}")

    def worker():
        client = Client(port, args.timeout)
        while True:
            with lock:
                i = state["next"]
                if i >= len(plan):
                    break
                state["next"] = i + 1
            cls, payload = plan[i]
            try:
                if cls == "valid":
                    body = json.dumps({"sentences": payload, "beam": args.beam}).encode()
                    t0 = time.perf_counter()
                    status, data = client.post(body)
                    dt = time.perf_counter() - t0
                    out = json.loads(data).get("translations") if status == 200 else None
                    with lock:
                        counts[cls] += 1
                        latencies.append(dt)
                        if status != 200 or not isinstance(out, list) or len(out) != len(payload):
                            record_fail(cls, f"{status} {data[:120]!r}")
                        else:
                            key = (tuple(payload), args.beam)
                            first = outputs.setdefault(key, out)
                            if first != out and len(mismatches) < 5:
                                mismatches.append({"input": payload, "first": first, "now": out})
                            elif first != out:
                                mismatches.append(None)
                elif cls == "malformed":
                    status, data = client.post(payload)
                    with lock:
                        counts[cls] += 1
                        if not (400 <= status < 500 and error_message(data)):
                            record_fail(cls, f"{payload[:60]!r} -> {status} {data[:120]!r}")
                elif cls == "empty":
                    sents, want = payload
                    status, data = client.post(json.dumps({"sentences": sents}).encode())
                    out = json.loads(data).get("translations") if status == 200 else None
                    with lock:
                        counts[cls] += 1
                        if status != 200 or out != want:
                            record_fail(cls, f"{sents!r} -> {status} {data[:120]!r}")
                else:
                    if payload in ("declared", "chunked"):
                        status, data, sent = raw_oversized(port, args.max_body, payload, args.timeout)
                    elif payload == "sentences":
                        n = args.max_sentences + 1
                        status, data = client.post(json.dumps({"sentences": ["Hi."] * n}).encode())
                    else:
                        long = "a" * (args.max_chars + 1)
                        status, data = client.post(json.dumps({"sentences": [long]}).encode())
                    with lock:
                        counts[cls] += 1
                        if payload == "declared":
                            oversized_declared_answered[1] += 1
                            if status == 413:
                                oversized_declared_answered[0] += 1
                        if not (status == 413 and error_message(data)):
                            record_fail(cls, f"{payload} -> {status} {data[:120]!r}")
            except Exception as e:  # noqa: BLE001 -- any transport error is a failure
                client.close()
                with lock:
                    counts[cls] += 1
                    record_fail(cls, f"{type(e).__name__}: {e}")
            with lock:
                state["done"] += 1
                if state["done"] == warm_n:
                    state["rss_warm"] = rss_kb(pid)
        client.close()

    stop = threading.Event()

    def sampler():
        while not stop.wait(0.5):
            try:
                r = rss_kb(pid)
            except OSError:
                return
            with lock:
                state["rss_peak"] = max(state["rss_peak"], r)

    samp = threading.Thread(target=sampler, daemon=True)
    samp.start()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    stop.set()
    samp.join()
    alive = proc.poll() is None
    rss_end = rss_kb(pid) if alive else 0
    rss_warm = state["rss_warm"] or rss_end
    growth = (rss_end - rss_warm) / rss_warm * 100 if rss_warm else float("nan")
    lat = sorted(latencies)
    n_valid = counts["valid"]
    bad_total = counts["malformed"] + counts["empty"] + counts["oversized"]

    targets = {
        "no_failed_valid": fails["valid"] == 0,
        "bad_requests_4xx_with_message": fails["malformed"] == 0 and fails["oversized"] == 0,
        "empty_answered": fails["empty"] == 0,
        "identical_outputs": not mismatches,
        "rss_growth_below_5pct": alive and growth < 5.0,
        "server_alive": alive,
    }
    result = {
        "requests": args.requests, "clients": args.clients, "workers": args.workers,
        "batch_window": args.batch_window,
        "beam": args.beam, "wall_s": round(wall, 2),
        "counts": counts, "failures": fails,
        "valid_p50_ms": round(percentile(lat, 50) * 1000, 2),
        "valid_p99_ms": round(percentile(lat, 99) * 1000, 2),
        "valid_per_s": round(n_valid / wall, 1), "requests_per_s": round(args.requests / wall, 1),
        "distinct_valid_inputs": len(outputs), "output_mismatches": len(mismatches),
        "oversized_declared_1GiB_answered_413": oversized_declared_answered[0],
        "oversized_declared_1GiB_sent": oversized_declared_answered[1],
        "rss_start_mb": round(rss_start / 1024, 1), "rss_warm_mb": round(rss_warm / 1024, 1),
        "rss_end_mb": round(rss_end / 1024, 1), "rss_peak_mb": round(state["rss_peak"] / 1024, 1),
        "rss_growth_after_warmup_pct": round(growth, 2),
        "targets": targets, "ok": all(targets.values()),
    }

    rows = [
        ("requests / clients / workers", f"{args.requests} / {args.clients} / {args.workers}"),
        ("valid / malformed / empty / oversized",
         " / ".join(str(counts[k]) for k in ("valid", "malformed", "empty", "oversized"))),
        ("failures (same order)",
         " / ".join(str(fails[k]) for k in ("valid", "malformed", "empty", "oversized"))),
        ("valid latency p50 / p99", f"{result['valid_p50_ms']} ms / {result['valid_p99_ms']} ms"),
        ("throughput (valid, all)", f"{result['valid_per_s']} req/s, {result['requests_per_s']} req/s"),
        ("wall time", f"{result['wall_s']} s"),
        ("identical outputs", f"{'yes' if not mismatches else 'no'} "
                              f"({len(outputs)} distinct inputs, {len(mismatches)} mismatches)"),
        ("1 GiB declared body: 413 before sending it", f"{oversized_declared_answered[0]} of "
                                                       f"{oversized_declared_answered[1]}"),
        ("VmRSS start / warm-up / end / peak", f"{result['rss_start_mb']} / {result['rss_warm_mb']} / "
                                               f"{result['rss_end_mb']} / {result['rss_peak_mb']} MB"),
        ("RSS growth after warm-up", f"{result['rss_growth_after_warmup_pct']} %"),
    ]
    rows += [(f"target {k}", "met" if v else "MISSED") for k, v in targets.items()]
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for k, v in rows:
        print(f"| {k.ljust(width)} | {v} |")
    for e in examples:
        print("failure:", e, file=sys.stderr)
    for m in mismatches[:5]:
        if m:
            print("mismatch:", json.dumps(m, ensure_ascii=False), file=sys.stderr)
    print(json.dumps(result, separators=(",", ":")))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
