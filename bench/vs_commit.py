#!/usr/bin/env python
"""Time this checkout's library against an earlier commit's, in one run, and print a table of the ratios.

Each figure is measured in fresh processes that alternate between the two versions (machines are noisy, so only the
ratio in one run means anything): exact inference (plain loop and the library's `infer`) at 512x512 and 900x1200,
fast mode (curve maps at 1/8 scale, fp32, so that CPUs without bf16 kernels time the same thing), and one training
step of the paper's setting (384x384, batch 2, fp32) for this package and for the authors' loop.

Usage: python bench/vs_commit.py REV [--rounds 2] [--no-train]"""
import argparse, json, os, statistics, subprocess, sys, tarfile, tempfile, io
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

INFER = """
import json, torch
from sclle_nb.bench import timeit, plain_infer
from sclle_nb.infer import infer
from sclle_nb.dcenet import load_dcenet
torch.manual_seed(0)
net = load_dcenet("random")
x512, x900 = torch.rand(1, 3, 512, 512), torch.rand(1, 3, 900, 1200)
t = timeit({"plain 512": lambda: plain_infer(net, x512), "infer 512": lambda: infer(net, x512),
            "plain 900x1200": lambda: plain_infer(net, x900), "infer 900x1200": lambda: infer(net, x900),
            "fast 900x1200": lambda: infer(net, x900, scale=0.125)}, n=3)
print(json.dumps(t))
"""

STEP = """
import json, time
from sclle_nb.bench import train_setup
step = train_setup({kind!r}, 384, 2, "fp32")
ts = []
for i in range(3):
    t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
print(json.dumps({{"step {kind} 384x384": min(ts[1:])}}))
"""

def run(tree:Path, code:str)->dict:
    "Run `code` with `tree`'s `sclle_nb` first on the path; the JSON it prints."
    env = dict(os.environ, PYTHONPATH=str(tree), SCLLE_OFFLINE="1")
    p = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True)
    if p.returncode: raise SystemExit(f"vs_commit: {tree.name}: {(p.stderr.strip().splitlines() or ['failed'])[-1]}")
    return json.loads(p.stdout.strip().splitlines()[-1])

def checkout(rev:str, dest:Path)->Path:
    "The `sclle_nb` package of commit `rev`, unpacked under `dest`."
    p = subprocess.run(["git", "archive", rev, "sclle_nb"], cwd=ROOT, capture_output=True)
    if p.returncode: raise SystemExit(f"vs_commit: {rev}: {p.stderr.decode().strip()}")
    tarfile.open(fileobj=io.BytesIO(p.stdout)).extractall(dest, filter="data")
    return dest

def main(argv=None)->int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("rev", help="the earlier commit")
    ap.add_argument("--rounds", type=int, default=2, help="alternations of the two versions (medians)")
    ap.add_argument("--no-train", action="store_true", help="inference only")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        trees = {"then": checkout(a.rev, Path(d)), "now": ROOT}
        codes = [INFER] + ([] if a.no_train else [STEP.format(kind=k) for k in ("ours", "authors")])
        res = {v: {} for v in trees}
        for r in range(a.rounds):
            for code in codes:
                for v in (("then", "now") if r % 2 == 0 else ("now", "then")):
                    for k, s in run(trees[v], code).items(): res[v].setdefault(k, []).append(s)
                    print(f"round {r+1}: {v} done", file=sys.stderr)
    print(f"\n| figure | {a.rev[:10]} (s) | now (s) | now / then |\n|---|---|---|---|")
    for k in res["now"]:
        t0, t1 = statistics.median(res["then"][k]), statistics.median(res["now"][k])
        print(f"| {k} | {t0:.4f} | {t1:.4f} | {t1/t0:.2f} |")
    return 0

if __name__ == "__main__": sys.exit(main())
