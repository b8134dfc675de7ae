"DeepLabV3+: the DeepLabV3Plus-Pytorch fixture reproduces, any size works, loading is strict, frozen stays frozen."
import os
from pathlib import Path
import numpy as np
import pytest
import torch
from torch import nn
import torch.nn.functional as F
from sclle_nb.deeplab import DeepLabV3Plus, load_deeplab, freeze, seg_logits, normalize

FX = "fixtures/deeplabv3plus"

@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return freeze(DeepLabV3Plus())

def test_fixture_logits(shared):
    fx = shared/FX
    seg = load_deeplab(fx/"deeplabv3plus_mobilenet_os16_random.pth")
    x = torch.from_numpy(np.load(fx/"input_1x3x128x256.npy"))
    ref = torch.from_numpy(np.load(fx/"logits_1x19x128x256.npy"))
    with torch.no_grad(): out = seg_logits(seg, x)
    assert out.shape == ref.shape == (1, 19, 128, 256)
    diff = (out - ref).abs().max().item()
    print(f"max abs difference to the reference logits: {diff:.3g}")
    assert diff < 1e-4
    # the same call through the module directly, on normalised input
    with torch.no_grad(): assert (seg(normalize(x)) - ref).abs().max() < 1e-4

def test_fixture_format(shared):
    ck = torch.load(shared/FX/"deeplabv3plus_mobilenet_os16_random.pth", weights_only=True)
    sd = ck["model_state"]
    ours = DeepLabV3Plus().state_dict()
    assert set(sd) == set(ours) and len(sd) == 356
    assert all(sd[k].shape == ours[k].shape for k in sd)
    assert sum(p.numel() for p in DeepLabV3Plus().parameters()) == 5_225_203

@pytest.mark.parametrize("hw", [(33, 47), (3, 3), (65, 31), (128, 97)])
def test_any_size(net, hw):
    with torch.no_grad(): out = seg_logits(net, torch.rand(2, 3, *hw))
    assert out.shape == (2, 19, *hw) and torch.isfinite(out).all()

def test_output_stride_8():
    n8 = DeepLabV3Plus(output_stride=8).eval()
    with torch.no_grad():
        st = n8.stages(torch.rand(1, 3, 64, 96))
        assert st["high_level"].shape == (1, 320, 8, 12)
        assert n8(torch.rand(1, 3, 41, 29)).shape == (1, 19, 41, 29)
    with pytest.raises(ValueError, match="output_stride"): DeepLabV3Plus(output_stride=32)

def test_bad_input(net):
    with pytest.raises(ValueError, match="too small"): net(torch.rand(1, 3, 2, 50))
    with pytest.raises(ValueError, match=r"\(N,3,H,W\)"): net(torch.rand(1, 4, 20, 20))
    with pytest.raises(ValueError, match=r"\(N,3,H,W\)"): seg_logits(net, torch.rand(3, 20, 20))

def test_load_errors(tmp_path):
    sd = DeepLabV3Plus().state_dict()
    with pytest.raises(FileNotFoundError, match="nope.pth"): load_deeplab(tmp_path/"nope.pth")
    (tmp_path/"junk.pth").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="junk.pth"): load_deeplab(tmp_path/"junk.pth")
    torch.save({"model_state": {k: v for k, v in sd.items() if "project" not in k}}, tmp_path/"part.pth")
    with pytest.raises(ValueError, match="part.pth"): load_deeplab(tmp_path/"part.pth")
    torch.save({"a": torch.zeros(1)}, tmp_path/"other.pth")
    with pytest.raises(ValueError, match="not a DeepLabV3"): load_deeplab(tmp_path/"other.pth")
    class Evil:
        def __reduce__(self): return (os.system, ("echo pwned",))
    torch.save({"model_state": {"x": Evil()}}, tmp_path/"evil.pth")
    with pytest.raises(ValueError, match="evil.pth"): load_deeplab(tmp_path/"evil.pth")

def test_load_variants(tmp_path):
    sd = DeepLabV3Plus(num_classes=7).state_dict()
    torch.save({"model_state": sd}, tmp_path/"best_deeplabv3plus_mobilenet_x_os8.pth")
    n = load_deeplab(tmp_path/"best_deeplabv3plus_mobilenet_x_os8.pth")
    assert n.output_stride == 8 and n.num_classes == 7 and not n.training
    torch.save({"module."+k: v for k, v in sd.items()}, tmp_path/"dp.pth")
    assert load_deeplab(tmp_path/"dp.pth", output_stride=16).output_stride == 16

def test_torchvision_not_cached(tmp_path):
    old = torch.hub.get_dir()
    try:
        torch.hub.set_dir(str(tmp_path/"hub"))
        with pytest.raises(FileNotFoundError, match="never downloads"): load_deeplab("torchvision")
    finally: torch.hub.set_dir(old)

def test_frozen_bn_stats_through_dcenet_training():
    from sclle_nb.dcenet import load_dcenet
    torch.manual_seed(0)
    seg = DeepLabV3Plus()
    for m in seg.modules():     # non-trivial statistics, so that any update would show
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5); m.running_var.uniform_(0.5, 2.)
    freeze(seg)
    before = {k: v.clone() for k, v in seg.state_dict().items()}
    dce = load_dcenet("random", seed=0)
    parent = nn.ModuleDict(dict(dce=dce, seg=seg))
    opt = torch.optim.Adam(parent.parameters(), lr=1e-3)   # even an optimiser over everything cannot move it
    for _ in range(3):
        parent.train()
        assert dce.training and not seg.training and not any(m.training for m in seg.modules())
        y = dce(torch.rand(2, 3, 24, 32)).enhanced
        loss = F.cross_entropy(seg_logits(seg, y), torch.randint(0, 19, (2, 24, 32)))
        opt.zero_grad(); loss.backward(); opt.step()
    seg.eval(); seg.train(True)
    assert not seg.training
    assert all(p.grad is None and not p.requires_grad for p in seg.parameters())
    after = seg.state_dict()
    for k, v in before.items(): assert torch.equal(after[k], v), k
    assert dce.e_conv1.weight.grad is not None and dce.e_conv1.weight.grad.abs().sum() > 0

def test_frozen_copies_stay_frozen(net):
    import copy, pickle
    for c in [copy.deepcopy(net), pickle.loads(pickle.dumps(net))]:
        c.train(); assert not c.training and not any(m.training for m in c.modules())

def test_authors_checkpoint_is_found(tmp_path, torch_home, monkeypatch, capsys):
    "$SCLLE_DEEPLAB wins (even when wrong: an error naming it), else the authors' file name in torch's hub cache, else None."
    from sclle_nb.deeplab import deeplab_checkpoint, lesson_deeplab, DEEPLAB_ENV, DEEPLAB_FILE, DEEPLAB_HELP
    assert DEEPLAB_ENV == "SCLLE_DEEPLAB" and DEEPLAB_FILE == "best_deeplabv3plus_mobilenet_cityscapes_os16.pth"
    assert DEEPLAB_FILE in DEEPLAB_HELP and "--seg PATH" in DEEPLAB_HELP and "$SCLLE_DEEPLAB" in DEEPLAB_HELP
    assert "LingLIx/SCL-LLE" in DEEPLAB_HELP and "\n" not in DEEPLAB_HELP and "%" not in DEEPLAB_HELP   # argparse-safe
    monkeypatch.delenv(DEEPLAB_ENV, raising=False)
    assert deeplab_checkpoint() is None
    net = lesson_deeplab()
    out = capsys.readouterr().out
    assert not net.pretrained and out.count("\n") == 1 and out.startswith("DeepLabV3+ weights: random (seed 0)")
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    p = torch_home/"hub"/"checkpoints"/DEEPLAB_FILE; p.parent.mkdir(parents=True)
    torch.save({"model_state": DeepLabV3Plus().state_dict()}, p)
    assert deeplab_checkpoint() == p
    net = lesson_deeplab()
    assert net.pretrained and net.output_stride == 16 and capsys.readouterr().out == f"DeepLabV3+ weights: the Cityscapes checkpoint {DEEPLAB_FILE}.\n"
    monkeypatch.setenv(DEEPLAB_ENV, str(tmp_path/"mine.pth"))
    assert deeplab_checkpoint() == tmp_path/"mine.pth"
    with pytest.raises(FileNotFoundError, match="mine.pth"): lesson_deeplab()
    monkeypatch.setenv(DEEPLAB_ENV, "~/x.pth"); assert deeplab_checkpoint() == Path("~/x.pth").expanduser()

def test_torchvision_cached(tmp_path):
    "With its file in the hub cache (random weights under the official name), torchvision's VOC DeepLabV3 loads frozen."
    from torchvision.models.segmentation import deeplabv3_mobilenet_v3_large, DeepLabV3_MobileNet_V3_Large_Weights as W
    old = torch.hub.get_dir()
    try:
        torch.hub.set_dir(str(tmp_path/"hub"))
        f = Path(torch.hub.get_dir())/"checkpoints"/os.path.basename(W.DEFAULT.url); f.parent.mkdir(parents=True)
        torch.save(deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21, aux_loss=True).state_dict(), f)
        tv = load_deeplab("torchvision")
        assert tv.classes[:3] == ["__background__", "aeroplane", "bicycle"]
        with torch.no_grad(): assert seg_logits(tv, torch.rand(1, 3, 37, 50)).shape == (1, 21, 37, 50)
        assert not tv.training and not any(p.requires_grad for p in tv.parameters())
    finally: torch.hub.set_dir(old)

def test_mobilenet_output_stride_checked():
    from sclle_nb.deeplab import mobilenet_features
    with pytest.raises(ValueError, match="output_stride"): mobilenet_features(4)
