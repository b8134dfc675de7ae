"""`SCLLELoss(mode="official")` against a direct transcription of the authors' training objective (SPEC appendix)."""
import pytest, torch, torch.nn as nn, torch.nn.functional as F
import torchvision

from _authors import a_tv, a_col, a_segexp, a_cont, a_percept, a_seg   # the authors' loop, written out

# -------------------------------------------------------------------------------------------------------------------
class TinySeg(nn.Module):
    "A stand-in frozen segmentation net (19 classes) so this test runs in seconds."
    def __init__(self):
        super().__init__(); torch.manual_seed(0)
        self.c = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 19, 1))
    def forward(self, x): return self.c(x)

@pytest.fixture(scope="module")
def setup():
    from sclle_nb.objective import SCLLELoss
    from sclle_nb.vgg import VGGFeatures
    torch.manual_seed(0)
    vgg16 = torchvision.models.vgg16(weights=None).eval()
    seg = TinySeg().eval()
    crit = SCLLELoss(mode="official", vgg=VGGFeatures(vgg=vgg16, normalize=False), seg_net=seg)
    B, H, W = 2, 40, 48
    g = torch.Generator().manual_seed(1)
    low = torch.rand(B, 3, H, W, generator=g) * 0.3
    A = torch.rand(B, 24, H, W, generator=g) * 2 - 1
    Y = torch.rand(B, 3, H, W, generator=g)
    P = torch.rand(B, 3, H, W, generator=g) * 0.5 + 0.3
    N = torch.rand(B, 3, H, W, generator=g) * 0.2
    labels = torch.randint(0, 19, (B, H, W), generator=g); labels[:, :5] = 255
    return crit, vgg16.features, seg, dict(low=low, enhanced=Y, curves=A, positives=P, negatives=N, labels=labels)

def test_official_components(setup):
    crit, vgg, seg, t = setup
    out = crit(**t)
    Y = t["enhanced"]
    ref = dict(tv=a_tv(t["curves"]), col=a_col(Y), segexp=a_segexp(Y, t["labels"]),
               percept=a_percept(t["low"], Y, vgg), seg=a_seg(seg, Y, t["labels"]))
    ref["cont"], ref["cont2"] = a_cont(Y, t["positives"], t["negatives"], vgg)
    ref["total"] = sum(ref.values())
    for k, v in ref.items():
        assert k in out, f"missing component {k}"
        torch.testing.assert_close(out[k].float(), v.float(), rtol=1e-5, atol=1e-7, msg=f"component {k}")

def test_official_gradients_match(setup):
    "Same gradient w.r.t. the enhanced image and the curve maps as the authors' loop."
    crit, vgg, seg, t = setup
    Y1 = t["enhanced"].clone().requires_grad_(); A1 = t["curves"].clone().requires_grad_()
    Y2 = t["enhanced"].clone().requires_grad_(); A2 = t["curves"].clone().requires_grad_()
    crit(**{**t, "enhanced": Y1, "curves": A1})["total"].backward()
    ref = a_tv(A2) + a_col(Y2) + a_segexp(Y2, t["labels"]) + a_percept(t["low"], Y2, vgg) + sum(a_cont(Y2, t["positives"], t["negatives"], vgg))
    ref.backward()
    torch.testing.assert_close(Y1.grad, Y2.grad, rtol=1e-4, atol=1e-8)
    torch.testing.assert_close(A1.grad, A2.grad, rtol=1e-5, atol=1e-9)
