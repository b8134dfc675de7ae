"""Fast mode (low-resolution curve maps, bf16) stays within 30 dB of the exact output on real photos, in the setting
`sclle bench` measures. (Scale 0.5 and bf16 on LIME 7 are checked in the inference lesson.)"""
import numpy as np, torch, torch.nn.functional as F
from PIL import Image
from sclle_nb.dcenet import load_dcenet
from sclle_nb.infer import infer
from sclle_nb.bench import psnr

def photo(shared, name, size=None):
    im = Image.open(shared/"data"/"LIME"/name).convert("RGB")
    if size: im = im.resize(size, Image.LANCZOS)
    return torch.from_numpy(np.array(im)).permute(2, 0, 1)[None].float().div(255)

def test_fast_mode_benchmarked_setting(shared):
    "The benchmarked fast mode (`bench.FAST`: scale 1/8, bf16, compiled) on LIME 10 at 1200x900, as `sclle bench` measures it."
    from sclle_nb.bench import FAST
    net = load_dcenet(shared/"weights"/"SCL-LLE.pth")
    x = photo(shared, "10.png", (1200, 900))
    exact = infer(net, x)
    assert psnr(infer(net, x, **FAST), exact) >= 30
    assert psnr(infer(net, x, scale=0.25, precision="bf16"), exact) >= 34

def test_fast_equals_reference_upsampling():
    net = load_dcenet("random", seed=2)
    x = torch.rand(2, 3, 50, 77)
    with torch.no_grad():
        xs = F.interpolate(x, size=(25, 38), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
        up = F.interpolate(-net.curve_maps(xs), size=(50, 77), mode="bilinear", align_corners=False)
        ref = x.clone()
        for r in up.split(3, 1): ref = ref + r*(ref*ref - ref)
    assert (infer(net, x, scale=0.5) - ref.clamp(0, 1)).abs().max() <= 1e-5
    assert (infer(net, x, scale=0.5, tile=9) - infer(net, x, scale=0.5)).abs().max() <= 1e-5

def test_compiled_equals_eager_and_falls_back(monkeypatch):
    "compile=True gives the eager result; where torch.compile cannot work, a warning and the eager result."
    import warnings, pytest
    import sclle_nb.infer as I
    net, x = load_dcenet("random", seed=4), torch.rand(2, 3, 45, 61)
    for kw in (dict(scale=0.25), dict(), dict(scale=0.5, precision="bf16")):
        assert (infer(net, x, compile=True, **kw) - infer(net, x, **kw)).abs().max() <= 1e-5
    def broken(fn, **kw):
        def f(*a): raise RuntimeError("no C++ compiler found\nmore")
        return f
    monkeypatch.setattr(I, "_COMPILED", {})
    monkeypatch.setattr(torch, "compile", broken)
    with pytest.warns(RuntimeWarning, match="torch.compile failed here .RuntimeError: no C.. compiler found.; using the eager path"):
        y = infer(net, x, scale=0.25, compile=True)
    assert torch.equal(y, infer(net, x, scale=0.25))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # once only
        assert torch.equal(infer(net, x, scale=0.25, compile=True), y)
