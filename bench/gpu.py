"""GPU figures (run on a CUDA machine): training step at 384x384 batch 2, the authors' transcription against ours, fp32
(TF32 off and on) and bf16, and inference at 900x1200. Prints a table. `python bench/gpu.py`"""
import sys, gc, time, statistics
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import torch
from sclle_nb.bench import train_setup, plain_infer, FAST
from sclle_nb.dcenet import load_dcenet
from sclle_nb.infer import infer

def cuda_time(f, n=10, warmup=3):
    for _ in range(warmup): f()
    torch.cuda.synchronize(); ts = []
    for _ in range(n):
        t = time.perf_counter(); f(); torch.cuda.synchronize(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)

def main():
    assert torch.cuda.is_available(), "bench/gpu.py needs a CUDA GPU"
    rows = [("device", torch.cuda.get_device_name(), "")]
    res = {}
    for name, kind, prec, tf32 in [("authors fp32", "authors", "fp32", False), ("ours fp32", "ours", "fp32", False),
                                   ("authors tf32", "authors", "fp32", True), ("ours tf32", "ours", "fp32", True),
                                   ("ours bf16", "ours", "bf16", False)]:
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = tf32
        step = None; gc.collect(); torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()  # nothing of the last run counted
        step = train_setup(kind, 384, 2, prec, device="cuda")
        s = cuda_time(step)
        res[name] = s
        rows.append((f"train step 384x384 b2, {name}", f"{s*1e3:.1f} ms, {torch.cuda.max_memory_allocated()/2**20:.0f} MB",
                     f"{res[name.replace('ours', 'authors').replace('bf16', 'fp32')]/s:.2f}x authors"))
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    net, x = load_dcenet("default", device="cuda"), torch.rand(1, 3, 900, 1200, device="cuda")
    p = cuda_time(lambda: plain_infer(net, x)); e = cuda_time(lambda: infer(net, x)); f = cuda_time(lambda: infer(net, x, **(FAST | {"compile": False})))
    fc = cuda_time(lambda: infer(net, x, **(FAST | {"compile": True})))
    rows += [("plain 900x1200", f"{p*1e3:.2f} ms", "1.00x"), ("exact 900x1200 (infer)", f"{e*1e3:.2f} ms", f"{p/e:.2f}x"),
             ("fast 900x1200 (eager)", f"{f*1e3:.2f} ms = {1/f:.0f} img/s", f"{p/f:.2f}x"),
             ("fast 900x1200 (compiled)", f"{fc*1e3:.2f} ms = {1/fc:.0f} img/s", f"{p/fc:.2f}x"),
             ("exact vs plain max abs", f"{(infer(net, x) - plain_infer(net, x)).abs().max().item():.2e}", "")]
    w = max(len(a) for a, *_ in rows)
    for a, b, c in rows: print(f"{a:{w}}  {b:>28}  {c}")

if __name__ == "__main__": main()
