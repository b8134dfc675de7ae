#!/usr/bin/env python
"""The authors' SCL-LLE training iteration, transcribed, with random VGG16 weights, on CPU: the baseline.

    python bench/authors_step.py [--size 384] [--batch 2] [--steps 3] [--ours] [--bf16]

Prints the median step time and this process's peak resident memory. The transcription itself is
`sclle_nb.authors.authors_losses` (VGG16 run three times on the enhanced image, the contrast images' features
recomputed every step, the segmentation loss on a detached copy); `--ours` times `SCLLELoss(mode="paper")` instead.
"""
import argparse, statistics, time
from sclle_nb.bench import train_setup, peak_rss_mb

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=384); p.add_argument("--batch", type=int, default=2)
    p.add_argument("--steps", type=int, default=3); p.add_argument("--ours", action="store_true")
    p.add_argument("--bf16", action="store_true")
    a = p.parse_args()
    step = train_setup("ours" if a.ours else "authors", a.size, a.batch, "bf16" if a.bf16 else "fp32")
    ts = []
    for i in range(a.steps + 1):   # the first step is warm-up (allocations, oneDNN kernel selection, Gram cache)
        t = time.perf_counter(); loss = step(); ts.append(time.perf_counter() - t)
        print(f"step {i}: {ts[-1]:.2f} s, loss {loss.item():.4f}", flush=True)
    who = "ours (paper mode)" if a.ours else "authors' loop"
    print(f"{who}, {a.size}x{a.size} batch {a.batch} {'bf16' if a.bf16 else 'fp32'}: median {statistics.median(ts[1:]):.2f} s/step, peak {peak_rss_mb():.0f} MB")
