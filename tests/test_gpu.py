"""The CUDA path: trainer precisions, compile, channels-last, exact resume, a step without host syncs, DDP over NCCL,
the objective and inference against the CPU, the GPU bench. Skipped where there is no CUDA GPU (CI); run on a GPU
machine with `pytest tests/test_gpu.py`."""
import os, sys, subprocess
from pathlib import Path
import pytest, torch
from torch import nn
from sclle_nb import train as T
from sclle_nb.dcenet import load_dcenet
from sclle_nb.infer import infer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
ROOT = Path(T.__file__).parents[1]
SMALL = dict(crop=64, batch=2, lr=1e-3, log_every=1, progress=False, seed=3, vgg="random", seg="random", device="cuda")

@pytest.fixture(autouse=True)
def no_tf32():
    "fp32 means fp32: TF32 convolutions would differ from the CPU by ~1e-3."
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old

@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
@pytest.mark.parametrize("mode", ["paper", "official"])
def test_trainer_precisions(tmp_path, precision, mode):
    tr = T.Trainer(T.TrainConfig(out=str(tmp_path), steps=4, ckpt_every=2, precision=precision, mode=mode, **SMALL))
    assert tr.device.type == "cuda" and next(tr.model.parameters()).is_cuda
    tr.fit()
    assert tr.step == 4 and len(tr.history) == 4
    assert all(torch.isfinite(torch.tensor(r["total"])) for r in tr.history)
    ck = torch.load(tmp_path/"checkpoint.pt", map_location="cpu", weights_only=True)
    assert ck["step"] == 4
    net = load_dcenet(tmp_path/"dcenet.pth")                     # the exported weights load on the CPU
    assert not next(net.parameters()).is_cuda
    for a, b in zip(net.state_dict().values(), tr.model.state_dict().values()): assert torch.equal(a, b.cpu())

def test_resume_is_exact_on_gpu(tmp_path):
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    kw = SMALL | dict(mode="official", seg=None)                 # no segmentation net: scatter-adds are not deterministic on CUDA
    def run(out, steps, **k):
        t = T.Trainer(T.TrainConfig(out=str(out), steps=steps, ckpt_every=4, **(kw | k))); t.fit(); return t
    a, _ = run(tmp_path/"a", 8), run(tmp_path/"b", 4)
    c = run(tmp_path/"b", 8, resume="auto")
    for (k, v), w in zip(a.model.state_dict().items(), c.model.state_dict().values()): assert torch.equal(v, w), k

def test_compile_and_channels_last(tmp_path):
    ref = T.Trainer(T.TrainConfig(out=str(tmp_path/"r"), steps=2, mode="official", **SMALL)); ref.fit()
    for opt in (dict(compile=True), dict(channels_last=True)):
        t = T.Trainer(T.TrainConfig(out=str(tmp_path/str(len(opt))), steps=2, mode="official", **(SMALL | opt))); t.fit()
        for r, s in zip(ref.history, t.history): assert abs(r["total"] - s["total"]) <= 1e-3*abs(r["total"]), (opt, r, s)

def _objective_inputs(dev):
    g = torch.Generator().manual_seed(0)
    low = torch.rand(2, 3, 64, 64, generator=g)*0.3
    d = dict(low=low, positives=torch.rand(2, 3, 64, 64, generator=g), negatives=torch.rand(2, 3, 64, 64, generator=g)*0.2,
             labels=torch.randint(0, 19, (2, 64, 64), generator=g))
    return {k: v.to(dev) for k, v in d.items()}

@pytest.mark.parametrize("mode", ["paper", "official"])
def test_objective_matches_cpu(mode):
    cfg = T.TrainConfig(mode=mode, vgg="random", seg="random")
    out = {}
    for dev in ("cpu", "cuda"):
        torch.manual_seed(0)
        net = T.make_model("random", 0).to(dev)
        crit = T.build_objective(cfg).to(dev).eval()
        x = _objective_inputs(dev)
        o = net(x["low"])
        losses = crit(low=x["low"], enhanced=o.enhanced, curves=o.alpha, positives=x["positives"], negatives=x["negatives"], labels=x["labels"])
        losses["total"].backward()
        out[dev] = ({k: float(v) for k, v in losses.items()}, torch.cat([p.grad.flatten().cpu() for p in net.parameters()]))
    (lc, gc), (lg, gg) = out["cpu"], out["cuda"]
    for k in lc: assert abs(lc[k] - lg[k]) <= 1e-4*max(1., abs(lc[k])), (k, lc[k], lg[k])
    assert (gc - gg).abs().max() <= 1e-3*gc.abs().max(), (gc - gg).abs().max()

def test_infer_matches_cpu():
    net, x = load_dcenet("default"), torch.rand(1, 3, 97, 131)
    ref = infer(net, x)
    gnet = load_dcenet("default", device="cuda")
    y = infer(gnet, x.cuda())
    assert y.is_cuda and (y.cpu() - ref).abs().max() <= 1e-5
    t = infer(gnet, x.cuda(), tile=48)
    assert (t - y).abs().max() <= 1e-5                          # tiled = whole on the GPU too
    f = infer(gnet, x.cuda(), scale=0.25, precision="bf16")
    assert f.shape == y.shape and ((f - y)**2).mean() < 1e-2
    for kw in (dict(scale=0.25), dict()):                       # torch.compile (Triton) = eager on the GPU
        assert (infer(gnet, x.cuda(), compile=True, **kw) - infer(gnet, x.cuda(), **kw)).abs().max() <= 1e-5

def test_infer_fp32_is_ieee_even_with_tf32_on():
    "infer(precision='fp32') turns cuDNN's TF32 off for its convolutions (and restores the setting)."
    torch.backends.cudnn.allow_tf32 = True
    net, x = load_dcenet("default"), torch.rand(1, 3, 64, 80)
    y = infer(load_dcenet("default", device="cuda"), x.cuda())
    assert (y.cpu() - infer(net, x)).abs().max() <= 1e-5 and torch.backends.cudnn.allow_tf32

def test_ddp_nccl(tmp_path):
    out = tmp_path/"run"
    env = dict(os.environ, PYTHONPATH=f"{ROOT}:{os.environ.get('PYTHONPATH', '')}")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "1", "-m", "sclle_nb", "train", "--device", "cuda",
           "--steps", "3", "--crop", "64", "--vgg", "random", "--seg", "random", "--out", str(out), "--no-progress"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    ck = torch.load(out/"checkpoint.pt", map_location="cpu", weights_only=True)
    assert ck["step"] == 3

def test_cli_enhance_on_gpu(tmp_path):
    from PIL import Image
    import numpy as np
    (tmp_path/"in").mkdir()
    Image.fromarray((np.random.default_rng(0).random((60, 80, 3))*60).astype(np.uint8)).save(tmp_path/"in"/"a.png")
    env = dict(os.environ, PYTHONPATH=f"{ROOT}:{os.environ.get('PYTHONPATH', '')}")
    p = subprocess.run([sys.executable, "-m", "sclle_nb", "enhance", str(tmp_path/"in"), "--outdir", str(tmp_path/"out"), "--device", "cuda"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert (tmp_path/"out"/"a.png").exists()

def test_fp16_paper_mode_at_paper_size(tmp_path):
    "fp16 autocast at 384x384: the Gram sums run over 147k positions and overflow fp16 unless computed in fp32."
    tr = T.Trainer(T.TrainConfig(out=str(tmp_path), steps=2, ckpt_every=2, precision="fp16", mode="paper",
                                 **(SMALL | dict(crop=384))))
    tr.fit()
    assert all(torch.isfinite(torch.tensor(r["total"])) for r in tr.history)

class Plain(nn.Module):
    "A criterion of pure tensor operations: any host sync in a step would be the trainer's."
    def forward(self, low, enhanced, curves, **_):
        d = {"bright": ((enhanced.mean((1, 2, 3)) - 0.5)**2).mean(), "smooth": curves.diff(dim=-1).abs().mean()}
        return d | {"total": d["bright"] + d["smooth"]}

@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_train_step_has_no_host_sync(tmp_path, precision):
    "The hot loop never waits for the GPU: CUDA's sync debug mode raises on any synchronising call inside a step."
    data = [{"low": torch.rand(3, 64, 64)*0.3, "labels": None} for _ in range(8)]   # a list is an integer-indexed data set
    t = T.Trainer(T.TrainConfig(out=str(tmp_path), steps=4, precision=precision, **SMALL), criterion=Plain(), data=(data, None))
    it = t.batches(); t.train_step(next(it)); torch.cuda.synchronize()
    batches = [next(it) for _ in range(3)]
    torch.cuda.set_sync_debug_mode("error")
    try: vals = [t.train_step(b) for b in batches]
    finally: torch.cuda.set_sync_debug_mode("default")
    assert all(v.is_cuda for v in vals) and torch.isfinite(torch.stack(vals)).all()

def test_bench_gpu(tmp_path):
    "bench/gpu.py on the GPU, small: images/s, MFU, per-part split and peak memory come out."
    p = subprocess.run([sys.executable, str(ROOT/"bench"/"gpu.py"), "--batches", "2", "--precisions", "bf16", "--steps", "2",
                        "--warmup", "1", "--size", "128"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "images/s" in p.stdout and "MFU" in p.stdout and "DCE-Net forward" in p.stdout
