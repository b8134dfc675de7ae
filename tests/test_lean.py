"The lean training parts (lesson 25a): each equal to the plain method code in values and gradients, and keeping less."
import copy, json, re
from pathlib import Path
import pytest
import torch
from torch import nn
from sclle_nb.curves import apply_curves
from sclle_nb.dcenet import DCENet, load_dcenet, save_dcenet
from sclle_nb.zeroref import tv_loss
from sclle_nb.vgg import VGGFeatures
from sclle_nb.deeplab import DeepLabV3Plus, freeze
from sclle_nb.lean import (saved_bytes, CurvesFn, lean_curves, cat_conv, LeanDCENet, SqDiffSum, lean_tv_loss, frozen_conv,
                           lean_max_pool, LeanVGGFeatures, LeanConvAct, fold_bn, make_lean)

ROOT = Path(__file__).resolve().parents[1]

def rel_close(a, b, rtol=1e-5):
    torch.testing.assert_close(a, b, rtol=0, atol=rtol*max(float(b.detach().abs().max()), 1e-30))

def as_lean(m, cls):
    m = copy.deepcopy(m); m.__class__ = cls
    return m

def test_saved_bytes_by_hand():
    x = torch.rand(1000, requires_grad=True)
    assert saved_bytes(lambda: (x*x).sum()) == 4000
    assert saved_bytes(lambda: (x + 1).sum()) == 0
    assert saved_bytes(lambda: x.relu().exp()) == 8000
    with torch.no_grad(): assert saved_bytes(lambda: x.exp()) == 0

def test_curves_fn():
    xd = torch.rand(1, 3, 3, 4, dtype=torch.float64, requires_grad=True)
    ad = (torch.rand(1, 24, 3, 4, dtype=torch.float64)*2 - 1).requires_grad_()
    assert torch.autograd.gradcheck(CurvesFn.apply, (xd, ad))
    x, a = torch.rand(2, 3, 6, 5, requires_grad=True), (torch.rand(2, 24, 6, 5)*2 - 1).requires_grad_()
    for n in (None, 3):
        assert torch.equal(lean_curves(x, a, n).detach(), apply_curves(x, a, n).detach())
        g1 = torch.autograd.grad(lean_curves(x, a, n).square().sum(), (x, a))
        g2 = torch.autograd.grad(apply_curves(x, a, n).square().sum(), (x, a))
        for u, v in zip(g1, g2): rel_close(u, v)
    big = torch.rand(1, 3, 64, 64)
    assert saved_bytes(lambda: lean_curves(big, a.new_zeros(1, 24, 64, 64).requires_grad_())) == big.nbytes + 24*64*64*4

def test_lean_dcenet_equal_and_same_checkpoint(tmp_path):
    net = load_dcenet("random", seed=3).train()
    lean = as_lean(net, LeanDCENet)
    assert isinstance(lean, DCENet) and list(lean.state_dict()) == list(net.state_dict())
    x = torch.rand(2, 3, 24, 20)
    o1, o2 = net(x), lean(x)
    for u, v in zip(o1, o2): rel_close(v, u)
    l1, l2 = [o.enhanced.square().mean() + o.alpha.abs().mean() for o in (o1, o2)]
    for u, v in zip(torch.autograd.grad(l1, list(net.parameters())), torch.autograd.grad(l2, list(lean.parameters()))): rel_close(v, u)
    conv = nn.Conv2d(5, 4, 3, padding=1)
    a, b = torch.rand(1, 2, 6, 6), torch.rand(1, 3, 6, 6)
    rel_close(cat_conv(conv, a, b), conv(torch.cat([a, b], 1)))
    x = torch.rand(1, 3, 64, 64)
    assert saved_bytes(lambda: lean(x)) < saved_bytes(lambda: net(x)) - 3*64*64*64*4   # the three concatenations at least
    p = save_dcenet(lean, tmp_path/"lean.pth")
    back = load_dcenet(p)
    assert type(back) is DCENet and all(torch.equal(u, v) for u, v in zip(back.state_dict().values(), net.state_dict().values()))

def test_lean_tv():
    assert abs(lean_tv_loss(torch.tensor([[[[0., 1, 0], [0, 0, 0]]]])).item() - 5/3) < 1e-6
    assert torch.autograd.gradcheck(lean_tv_loss, (torch.rand(2, 3, 4, 5, dtype=torch.float64, requires_grad=True),))
    a = torch.rand(2, 24, 9, 11, requires_grad=True)
    rel_close(lean_tv_loss(a), tv_loss(a))
    rel_close(torch.autograd.grad(lean_tv_loss(a), a)[0], torch.autograd.grad(tv_loss(a), a)[0])
    assert saved_bytes(lambda: lean_tv_loss(a)) == a.nbytes < saved_bytes(lambda: tv_loss(a))
    with pytest.raises(ValueError, match="at least 2x2"): lean_tv_loss(torch.rand(1, 24, 1, 8))
    with pytest.raises(ValueError, match=r"\(B,C,H,W\)"): lean_tv_loss(torch.rand(24, 8, 8))

@pytest.mark.parametrize("act", ["relu", "relu6", None])
@pytest.mark.parametrize("keep", [False, True])
def test_frozen_conv_gradcheck(act, keep):
    conv = nn.Conv2d(3, 4, 3, padding=1, dtype=torch.float64).requires_grad_(False)
    assert torch.autograd.gradcheck(lambda t: 3*frozen_conv(t, conv, act, keep), (torch.randn(1, 3, 5, 6, dtype=torch.float64, requires_grad=True),))

def test_lean_max_pool_gradcheck():
    assert torch.autograd.gradcheck(lambda t: lean_max_pool(t, nn.MaxPool2d(2)), (torch.randn(1, 2, 6, 8, dtype=torch.float64, requires_grad=True),))

@pytest.mark.parametrize("cl", [False, True])
def test_lean_vgg(cl):
    vgg = VGGFeatures(weights=None, channels_last=cl)
    lean = as_lean(vgg, LeanVGGFeatures)
    x = torch.rand(2, 3, 32, 40)
    def run(v):
        xg = x.clone().requires_grad_()
        fs = v(xg)
        sum(f.square().mean() for f in fs.values()).backward()
        return fs, xg.grad
    (f1, g1), (f2, g2) = run(vgg), run(lean)
    assert list(f1) == list(f2) and all(torch.equal(f1[l].detach(), f2[l].detach()) for l in f1)
    rel_close(g2, g1, 1e-6)
    assert lean(x, ["relu2_2", "relu1_2"]).keys() == vgg(x, ["relu2_2", "relu1_2"]).keys()
    xg = torch.rand(1, 3, 64, 64, requires_grad=True)
    w = sum(p.nbytes for p in vgg.features.parameters() if p.dim() == 4)   # the conv weights, saved by both
    assert 2*(saved_bytes(lambda: lean(xg)) - w) < saved_bytes(lambda: vgg(xg)) - w

def test_fold_bn_lean():
    torch.manual_seed(0)
    seg = DeepLabV3Plus()
    for m in seg.modules():
        if isinstance(m, nn.BatchNorm2d): m.running_mean.uniform_(-0.5, 0.5); m.running_var.uniform_(0.5, 2.)
    seg = freeze(seg)
    before = {k: v.clone() for k, v in seg.state_dict().items()}
    lean = fold_bn(seg, lean=True)
    assert lean.lean and not any(isinstance(m, nn.BatchNorm2d) for m in lean.modules())
    assert sum(isinstance(m, LeanConvAct) for m in lean.modules()) == sum(isinstance(m, nn.Conv2d) for m in seg.modules())
    assert all(torch.equal(v, before[k]) for k, v in seg.state_dict().items())      # the original is untouched
    x = torch.rand(1, 3, 33, 45, requires_grad=True)
    rel_close(lean(x), seg(x), 1e-4)
    g1, g2 = [torch.autograd.grad(m(x).square().mean(), x)[0] for m in (seg, lean)]
    rel_close(g2, g1, 1e-4)
    lean.train(); assert not lean.training and not any(p.requires_grad for p in lean.parameters())

class StandIn(nn.Module):
    "An objective built to the contract: `vgg`, `seg_net`, `tv`, `mode`."
    def __init__(self, mode="paper", seg=True):
        super().__init__()
        self.mode, self.tv = mode, tv_loss
        self.vgg = VGGFeatures(("relu1_2", "relu2_2"), weights=None)
        self.seg_net = freeze(DeepLabV3Plus()) if seg else None
    def forward(self, y, alpha):
        return self.tv(alpha) + sum(f.mean() for f in self.vgg(y).values()) + (self.seg_net(y).square().mean() if self.seg_net is not None else 0)

def test_make_lean_stand_in():
    torch.manual_seed(0)
    net, loss = load_dcenet("random", seed=0).train(), StandIn()
    lnet, lloss = make_lean(copy.deepcopy(net), copy.deepcopy(loss))
    assert type(lnet) is LeanDCENet and type(lloss.vgg) is LeanVGGFeatures and lloss.tv is lean_tv_loss and lloss.seg_net.lean
    x = torch.rand(2, 3, 32, 32)
    def step(n, l):
        out = n(x); v = l(out.enhanced, out.alpha)
        return v, torch.autograd.grad(v, list(n.parameters()))
    (v1, g1), (v2, g2) = step(net, loss), step(lnet, lloss)
    rel_close(v2, v1, 1e-4)
    for u, v in zip(g2, g1): rel_close(u, v, 1e-4)
    seg = lloss.seg_net
    assert make_lean(lnet, lloss) == (lnet, lloss) and lloss.seg_net is seg           # twice: nothing more
    assert make_lean(None, StandIn("official", seg=False))[1].tv is tv_loss            # official: the authors' rounding
    other = nn.Conv2d(3, 3, 1)
    assert make_lean(other)[0] is other and type(other) is nn.Conv2d and make_lean() == (None, None)

def test_make_lean_sclle_loss():
    from sclle_nb.objective import SCLLELoss
    torch.manual_seed(0)
    net, loss = load_dcenet("random", seed=0).train(), SCLLELoss("paper", vgg="random", seg_net=freeze(DeepLabV3Plus()))
    assert loss.tv is tv_loss and type(loss.vgg) is VGGFeatures
    lnet, lloss = make_lean(copy.deepcopy(net), copy.deepcopy(loss))
    assert type(lloss.vgg) is LeanVGGFeatures and lloss.tv is lean_tv_loss and lloss.seg_net.lean
    low, pos, neg = torch.rand(2, 3, 48, 48), torch.rand(2, 3, 48, 48), torch.rand(4, 3, 48, 48)
    labels = torch.randint(0, 19, (2, 48, 48))
    def step(n, l):
        out = n(low)
        t = l(low, out.enhanced, out.alpha, pos, neg, labels, neg_kinds=["under"]*2 + ["over"]*2)
        return t, torch.autograd.grad(t["total"], list(n.parameters()))
    (t1, g1), (t2, g2) = step(net, loss), step(lnet, lloss)
    assert t1.keys() == t2.keys()
    for k in t1: rel_close(t2[k].detach(), t1[k].detach(), 1e-4)
    for u, v in zip(g2, g1): rel_close(u, v, 1e-4)
    assert make_lean(None, SCLLELoss("official", vgg="random"))[1].tv is tv_loss

@pytest.mark.parametrize("nb", ["00_curves", "07_zeroref", "08_vgg", "10_deeplab"])
def test_method_lessons_are_plain(nb):
    src = "\n".join("".join(c["source"]) for c in json.loads((ROOT/"nbs"/f"{nb}.ipynb").read_text())["cells"])
    for bad in ("torch.autograd.Function", "torch.ops.mkldnn", "set_num_threads", "saved_bytes", "SPEC"):
        assert bad not in src, f"{nb}: {bad}"
