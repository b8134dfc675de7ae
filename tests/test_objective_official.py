"""`SCLLELoss(mode="official")` against a direct transcription of the authors' training objective (SPEC appendix)."""
import pytest, torch, torch.nn as nn, torch.nn.functional as F
import torchvision

# ---- the authors' loop, written out as in their Myloss.py / train.py (SPEC appendix) -------------------------
def a_tv(A):
    B, _, H, W = A.shape
    h_tv = torch.pow(A[:, :, 1:, :] - A[:, :, :H-1, :], 2).sum()
    w_tv = torch.pow(A[:, :, :, 1:] - A[:, :, :, :W-1], 2).sum()
    return 200 * 2 * (h_tv/((H-1)*W) + w_tv/(H*(W-1))) / B

def a_col(Y):
    mean_rgb = torch.mean(Y, [2, 3], keepdim=True)
    mr, mg, mb = torch.split(mean_rgb, 1, dim=1)
    Drg, Drb, Dgb = torch.pow(mr-mg, 2), torch.pow(mr-mb, 2), torch.pow(mb-mg, 2)
    k = torch.pow(torch.pow(Drg, 2) + torch.pow(Drb, 2) + torch.pow(Dgb, 2), 0.5)
    return 8 * torch.mean(k)

def a_segexp(Y, labels):
    x = torch.mean(Y, 1, keepdim=True)                       # (B,1,H,W)
    total = 0
    for i in range(35):
        a2 = torch.where(labels == i, x, torch.zeros_like(labels, dtype=x.dtype))  # broadcasts to (B,B,H,W)
        d2 = torch.mean(a2).detach()
        a2 = torch.where(a2 == 0, d2, a2)
        total = total + torch.mean(torch.pow(a2 - d2, 2))
    return total

def a_gram(f):
    b, c, h, w = f.shape
    f = f.view(b, c, h*w)
    return torch.bmm(f, f.transpose(1, 2)) / (c*h*w)

def a_cont(Y, P, N, vgg):
    g = lambda t: torch.mean(t, 1, keepdim=True)
    l1 = lambda a, b: torch.mean(torch.abs(g(a) - g(b)))
    cont = 10 * torch.clamp(l1(Y, P) - l1(Y, N) + 0.3, min=0)
    def S(x, y):
        s = 0
        for sl in (slice(0, 4), slice(4, 9)):
            x = vgg[sl](x); y = vgg[sl](y)
            s = s + torch.sum(torch.pow(a_gram(y) - a_gram(x), 2))
        return s
    cont2 = 5 * torch.clamp(S(Y, P) - S(Y, N) + 0.04, min=0)
    return cont, cont2

def a_percept(I, Y, vgg):
    return F.mse_loss(vgg[0:23](I), vgg[0:23](Y))

def a_seg(seg_net, Y, labels):
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1); std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    out = seg_net((Y.detach() - mean)/std)
    out = F.interpolate(out, size=Y.shape[-2:], mode="bilinear", align_corners=False) if out.shape[-2:] != Y.shape[-2:] else out
    return F.cross_entropy(out, labels, ignore_index=255)

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
