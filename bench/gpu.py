"""GPU figures of the trainer (run on a CUDA machine): the training step at 384 x 384 for batch 2 and a larger batch, in
bf16 and fp32, as images per second, MFU (achieved FLOP/s over the GPU's peak dense bf16 rate, the FLOPs counted from
the model), a per-part time split from the profiler, and peak memory. Prints a table.

    python bench/gpu.py                       # batch 2 and 16, bf16 and fp32, paper mode
    python bench/gpu.py --batches 2 32 --precisions bf16 --peak-tflops 989
    python bench/gpu.py --check               # the parts that need no GPU, on the CPU at a small size (seconds)
"""
import argparse, contextlib, statistics, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import torch
from torch.profiler import ProfilerActivity, profile, record_function
from sclle_nb.train import Trainer, TrainConfig, autocast_ctx

# peak dense bf16 tensor-core rates (FLOP/s, no sparsity), from the vendors' data sheets; --peak-tflops overrides
PEAK_BF16 = {"H200": 989.4e12, "H100 SXM": 989.4e12, "H100 NVL": 835.5e12, "H100 PCIe": 756.5e12, "H100": 989.4e12,
             "GH200": 989.4e12, "B200": 2250e12, "A100": 312e12, "A10G": 70e12, "A10": 125e12, "L40S": 362e12,
             "L4": 121e12, "RTX 4090": 165.2e12, "RTX 3090": 71e12, "V100": 125e12}
PARTS = ("inputs and draws", "DCE-Net forward", "objective forward", "backward", "clip + Adam")

def peak_bf16(name:str)->float|None:
    "The peak dense bf16 FLOP/s of the GPU called `name` (longest matching key), None if unknown."
    keys = [k for k in PEAK_BF16 if k.lower() in name.lower()]
    return PEAK_BF16[max(keys, key=len)] if keys else None

def trainer(batch:int, precision:str, size:int=384, device:str="cuda", mode:str="paper", out:str|None=None)->Trainer:
    "The trainer in the paper's setting with random-weight VGG16 and DeepLabV3+ (nothing to download)."
    cfg = TrainConfig(mode=mode, precision=precision, crop=size, batch=batch, device=device, vgg="random", seg="random",
                      out=out or tempfile.mkdtemp(), ckpt_every=10**9, log_every=10**9, progress=False,
                      data={"n_scenes": max(4, 2*batch), "scene_size": (size, 2*size)})
    return Trainer(cfg)

def split_step(t:Trainer, batch:dict)->torch.Tensor:
    "`Trainer.train_step` with each part in a profiler range named after `PARTS` (same computation, same result)."
    with record_function(PARTS[0]):
        low, labels = t._to_device(batch["low"]), t._to_device(batch.get("labels"))
        contrast = t.draw(low.shape[0])
    with autocast_ctx(t.device, t.cfg.precision):
        with record_function(PARTS[1]): out = t.net(low)
        with record_function(PARTS[2]):
            losses = t.criterion(low=low, enhanced=out.enhanced, curves=out.alpha, labels=labels, **contrast)
    with record_function(PARTS[3]):
        t.opt.zero_grad(set_to_none=True)
        t.scaler.scale(losses["total"].float()).backward()
    with record_function(PARTS[4]):
        t.scaler.unscale_(t.opt)
        torch.nn.utils.clip_grad_norm_(t.model.parameters(), t.cfg.clip)
        t.scaler.step(t.opt); t.scaler.update()
    return losses["total"].detach()

def step_flops(t:Trainer, batch:dict)->float:
    "FLOPs of one training step (convolutions and matrix products, forward and backward), counted by torch."
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc: t.train_step(batch)
    return float(fc.get_total_flops())

def part_split(t:Trainer, batches:list, sync)->dict:
    "Device time (or CPU time without a GPU) of each part over `batches`, from the profiler, as fractions."
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if t.device.type == "cuda" else [])
    with profile(activities=acts) as prof:
        for b in batches: split_step(t, b)
        sync()
    ev = {e.key: e for e in prof.key_averages() if e.key in PARTS}
    dev = {k: getattr(ev[k], "device_time_total", 0) if k in ev else 0 for k in PARTS}
    if not sum(dev.values()): dev = {k: ev[k].cpu_time_total if k in ev else 0 for k in PARTS}
    tot = sum(dev.values()) or 1
    return {k: v/tot for k, v in dev.items()}

def measure(batch:int, precision:str, size:int=384, steps:int=20, warmup:int=3, device:str="cuda", peak:float|None=None)->dict:
    "Images/s, MFU, peak memory and the per-part split of the trainer's step."
    cuda = device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda: torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
    t = trainer(batch, precision, size, device)
    it = t.batches()
    for _ in range(warmup): t.train_step(next(it))
    flops = step_flops(t, next(it))
    bs = [next(it) for _ in range(steps)]
    sync(); t0 = time.perf_counter()
    for b in bs: t.train_step(b)
    sync(); s = (time.perf_counter() - t0)/steps
    split = part_split(t, [next(it) for _ in range(min(5, steps))], sync)
    mem = torch.cuda.max_memory_allocated()/2**20 if cuda else float("nan")
    return dict(batch=batch, precision=precision, s_per_step=s, img_s=batch/s, tflops=flops/s/1e12,
                mfu=flops/s/peak if peak else float("nan"), peak_mib=mem, split=split)

def table(rows:list[dict], device:str, peak:float|None)->str:
    "The results as a markdown table."
    head = f"Training step, paper mode, 384 x 384, random-weight VGG16 + DeepLabV3+, {device}" + \
           (f" (peak bf16 {peak/1e12:.0f} TFLOP/s)" if peak else " (peak bf16 unknown: pass --peak-tflops for MFU)")
    cols = "| batch | precision | ms/step | images/s | TFLOP/s | MFU | peak MiB | " + " | ".join(PARTS) + " |"
    lines = [head, "", cols, "|" + "---|"*(7 + len(PARTS))]
    for r in rows:
        parts = " | ".join(f"{100*r['split'][k]:.0f}%" for k in PARTS)
        lines.append(f"| {r['batch']} | {r['precision']} | {1e3*r['s_per_step']:.1f} | {r['img_s']:.1f} | {r['tflops']:.2f} | "
                     f"{100*r['mfu']:.1f}% | {r['peak_mib']:.0f} | {parts} |")
    return "\n".join(lines)

def check()->int:
    "The parts that need no GPU, on the CPU at 32 pixels: split_step = train_step, FLOPs counted, the table."
    torch.set_num_threads(1)
    a, b = trainer(2, "fp32", 32, "cpu"), trainer(2, "fp32", 32, "cpu")
    ia, ib = a.batches(), b.batches()
    for _ in range(2):
        va, vb = a.train_step(next(ia)), split_step(b, next(ib))
        assert torch.equal(va[a.names.index("total")], vb), "split_step differs from train_step"
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters()))
    r = measure(2, "fp32", 32, steps=2, warmup=1, device="cpu", peak=1e12)
    assert r["tflops"] > 0 and abs(sum(r["split"].values()) - 1) < 1e-6
    assert peak_bf16("NVIDIA H100 80GB HBM3") == 989.4e12 and peak_bf16("NVIDIA H100 PCIe") == 756.5e12 and peak_bf16("?") is None
    print(table([r], "cpu (check mode)", 1e12))
    return 0

def main(argv=None)->int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, nargs="+", default=[2, 16])
    p.add_argument("--precisions", nargs="+", default=["bf16", "fp32"])
    p.add_argument("--steps", type=int, default=20); p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--peak-tflops", type=float, help="the GPU's peak dense bf16 TFLOP/s (default: looked up by name)")
    p.add_argument("--check", action="store_true", help="check the CPU-independent parts on the CPU and exit")
    a = p.parse_args(argv)
    if a.check: return check()
    if not torch.cuda.is_available(): print("bench/gpu.py: needs a CUDA GPU (--check runs the rest on the CPU)"); return 1
    name = torch.cuda.get_device_name()
    peak = a.peak_tflops*1e12 if a.peak_tflops else peak_bf16(name)
    rows = []
    for prec in a.precisions:
        for bs in a.batches:
            rows.append(measure(bs, prec, a.size, a.steps, a.warmup, "cuda", peak)); print(rows[-1], file=sys.stderr)
    print(table(rows, name, peak))
    return 0

if __name__ == "__main__": sys.exit(main())
