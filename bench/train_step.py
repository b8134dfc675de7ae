"""Seconds per training step and peak memory of the SCL-LLE trainer, per precision and mode.

Each configuration runs in its own subprocess so that its peak resident memory (ru_maxrss) is its own. Defaults are
the paper's setting: 384 x 384 crops, batch 2, DCE-Net + frozen VGG16 (random weights: no download) + frozen
DeepLabV3+ (random weights), on the embedded data.

    python bench/train_step.py                     # table for fp32/bf16 x paper/official on the auto device
    python bench/train_step.py --size 128 --steps 2 --precisions fp32 --modes paper
    python bench/train_step.py --device cuda --precisions fp32 bf16 fp16
"""
import argparse, json, os, resource, statistics, subprocess, sys, tempfile, time

def one(a):
    import torch
    if a.threads: torch.set_num_threads(a.threads)
    from sclle_nb.train import TrainConfig, Trainer
    with tempfile.TemporaryDirectory() as d:
        cfg = TrainConfig(mode=a.mode, precision=a.precision, crop=a.size, batch=a.batch, device=a.device, out=d,
                          vgg="random", seg="random", ckpt_every=10**9, log_every=10**9, progress=False,
                          channels_last=a.channels_last)
        t = Trainer(cfg)
        it = t.batches()
        sync = torch.cuda.synchronize if t.device.type == "cuda" else (lambda: None)
        if t.device.type == "cuda": torch.cuda.reset_peak_memory_stats()
        for _ in range(a.warmup): t.train_step(next(it))
        sync(); times = []
        for _ in range(a.steps):
            b = next(it); t0 = time.perf_counter(); t.train_step(b); sync(); times.append(time.perf_counter() - t0)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024        # KiB on Linux -> MiB
        gpu = torch.cuda.max_memory_allocated()/2**20 if t.device.type == "cuda" else None
        print(json.dumps(dict(mode=a.mode, precision=a.precision, device=str(t.device), threads=torch.get_num_threads(),
                              s_per_it=statistics.median(times), s_min=min(times), rss_mib=rss, gpu_mib=gpu)))

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=384); p.add_argument("--batch", type=int, default=2)
    p.add_argument("--steps", type=int, default=3, help="timed steps (median reported)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", default="auto"); p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"]); p.add_argument("--modes", nargs="+", default=["paper", "official"])
    p.add_argument("--out", help="also write the markdown table here")
    p.add_argument("--one", nargs=2, metavar=("MODE", "PRECISION"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.one:
        a.mode, a.precision = a.one; one(a); return 0
    rows = []
    for mode in a.modes:
        for prec in a.precisions:
            cmd = [sys.executable, __file__, "--one", mode, prec, "--size", str(a.size), "--batch", str(a.batch),
                   "--steps", str(a.steps), "--warmup", str(a.warmup), "--device", a.device, "--threads", str(a.threads)]
            if a.channels_last: cmd.append("--channels-last")
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode: rows.append(dict(mode=mode, precision=prec, error=(r.stderr.strip().splitlines() or ["?"])[-1])); continue
            rows.append(json.loads(r.stdout.strip().splitlines()[-1])); print(rows[-1], file=sys.stderr)
    lines = [f"Training step, {a.size}x{a.size}, batch {a.batch}, random-weight VGG16 + DeepLabV3+ (median of {a.steps} steps "
             f"after {a.warmup} warm-up; load {os.getloadavg()[0]:.1f} at the end: a shared machine is noisy)", "",
             "| mode | precision | device | threads | s/it (median) | s/it (best) | it/s | peak RSS (MiB) | peak GPU (MiB) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r: lines.append(f"| {r['mode']} | {r['precision']} | error: {r['error']} | | | | | | |"); continue
        g = f"{r['gpu_mib']:.0f}" if r["gpu_mib"] is not None else "-"
        lines.append(f"| {r['mode']} | {r['precision']} | {r['device']} | {r['threads']} | {r['s_per_it']:.2f} | {r['s_min']:.2f} | {1/r['s_per_it']:.3f} | {r['rss_mib']:.0f} | {g} |")
    print("\n".join(lines))
    if a.out: open(a.out, "w").write("\n".join(lines) + "\n")
    return 0

if __name__ == "__main__": sys.exit(main())
