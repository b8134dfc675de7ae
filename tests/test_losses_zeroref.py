"""Zero-reference losses (sclle_nb.zeroref) against transcriptions of the authors' Zero-DCE / SCL-LLE Myloss.py code."""
import pytest, torch
import torch.nn as nn, torch.nn.functional as F
from sclle_nb.zeroref import colour_loss, tv_loss, exposure_loss, spatial_loss

# ---- the authors' code, written out in their style (Myloss.py; .cuda() dropped) ---------------------------------
class L_color(nn.Module):
    def forward(self, x):
        mean_rgb = torch.mean(x, [2, 3], keepdim=True)
        mr, mg, mb = torch.split(mean_rgb, 1, dim=1)
        Drg = torch.pow(mr-mg, 2); Drb = torch.pow(mr-mb, 2); Dgb = torch.pow(mb-mg, 2)
        k = torch.pow(torch.pow(Drg, 2) + torch.pow(Drb, 2) + torch.pow(Dgb, 2), 0.5)
        return k

class L_TV(nn.Module):
    def __init__(self, TVLoss_weight=1):
        super().__init__(); self.TVLoss_weight = TVLoss_weight
    def forward(self, x):
        batch_size = x.size()[0]; h_x = x.size()[2]; w_x = x.size()[3]
        count_h = (x.size()[2]-1) * x.size()[3]
        count_w = x.size()[2] * (x.size()[3] - 1)
        h_tv = torch.pow((x[:, :, 1:, :]-x[:, :, :h_x-1, :]), 2).sum()
        w_tv = torch.pow((x[:, :, :, 1:]-x[:, :, :, :w_x-1]), 2).sum()
        return self.TVLoss_weight*2*(h_tv/count_h+w_tv/count_w)/batch_size

class L_exp(nn.Module):
    def __init__(self, patch_size, mean_val):
        super().__init__(); self.pool = nn.AvgPool2d(patch_size); self.mean_val = mean_val
    def forward(self, x):
        x = torch.mean(x, 1, keepdim=True)
        mean = self.pool(x)
        return torch.mean(torch.pow(mean - torch.FloatTensor([self.mean_val]).to(x.dtype), 2))

class L_spa(nn.Module):
    def __init__(self, dtype=torch.float32):
        super().__init__()
        k = lambda v: torch.tensor(v, dtype=dtype).unsqueeze(0).unsqueeze(0)
        self.weight_left = k([[0, 0, 0], [-1, 1, 0], [0, 0, 0]])
        self.weight_right = k([[0, 0, 0], [0, 1, -1], [0, 0, 0]])
        self.weight_up = k([[0, -1, 0], [0, 1, 0], [0, 0, 0]])
        self.weight_down = k([[0, 0, 0], [0, 1, 0], [0, -1, 0]])
        self.pool = nn.AvgPool2d(4)
    def forward(self, org, enhance):
        org_mean = torch.mean(org, 1, keepdim=True); enhance_mean = torch.mean(enhance, 1, keepdim=True)
        org_pool = self.pool(org_mean); enhance_pool = self.pool(enhance_mean)
        D_org_letf = F.conv2d(org_pool, self.weight_left, padding=1)
        D_org_right = F.conv2d(org_pool, self.weight_right, padding=1)
        D_org_up = F.conv2d(org_pool, self.weight_up, padding=1)
        D_org_down = F.conv2d(org_pool, self.weight_down, padding=1)
        D_enhance_letf = F.conv2d(enhance_pool, self.weight_left, padding=1)
        D_enhance_right = F.conv2d(enhance_pool, self.weight_right, padding=1)
        D_enhance_up = F.conv2d(enhance_pool, self.weight_up, padding=1)
        D_enhance_down = F.conv2d(enhance_pool, self.weight_down, padding=1)
        D_left = torch.pow(D_org_letf - D_enhance_letf, 2)
        D_right = torch.pow(D_org_right - D_enhance_right, 2)
        D_up = torch.pow(D_org_up - D_enhance_up, 2)
        D_down = torch.pow(D_org_down - D_enhance_down, 2)
        return (D_left + D_right + D_up + D_down)

def rel_close(a, b, rtol=1e-5):
    torch.testing.assert_close(a.double(), b.double(), rtol=rtol, atol=1e-12)

@pytest.fixture
def imgs():
    g = torch.Generator().manual_seed(0)
    return torch.rand(3, 3, 40, 56, generator=g)*0.3, torch.rand(3, 3, 40, 56, generator=g)

def test_colour_matches_authors(imgs):
    low, y = imgs
    rel_close(colour_loss(y), torch.mean(L_color()(y)))
    rel_close(8*colour_loss(y), 8*torch.mean(L_color()(y)))   # the objective's weighting

def test_colour_grey_image_zero_and_finite_gradient():
    grey = torch.rand(2, 1, 8, 8).expand(2, 3, 8, 8).clone().requires_grad_()
    colour_loss(grey).backward()
    assert colour_loss(grey).item() == 0 and torch.isfinite(grey.grad).all() and (grey.grad == 0).all()
    g2 = grey.detach().clone().requires_grad_()
    torch.mean(L_color()(g2)).backward()           # the authors' sqrt back-propagates 0*inf there
    assert torch.isnan(g2.grad).all()

def test_colour_gradient_matches_authors(imgs):
    _, y = imgs
    y1, y2 = y.clone().requires_grad_(), y.clone().requires_grad_()
    colour_loss(y1).backward(); torch.mean(L_color()(y2)).backward()
    torch.testing.assert_close(y1.grad, y2.grad, rtol=1e-5, atol=1e-10)

def test_tv_matches_authors():
    A = torch.rand(2, 24, 33, 47)*2 - 1
    rel_close(tv_loss(A), L_TV()(A))
    rel_close(200*tv_loss(A), L_TV(200)(A))

@pytest.mark.parametrize("E,patch", [(0.6, 16), (0.5, 8)])
def test_exposure_matches_authors(imgs, E, patch):
    _, y = imgs
    rel_close(exposure_loss(y, E=E, patch=patch), L_exp(patch, E)(y))

def test_spatial_matches_authors(imgs):
    low, y = imgs
    # Zero-DCE's train.py: torch.mean(L_spa(enhanced_image, img_lowlight)); the map is symmetric in its arguments
    rel_close(spatial_loss(low, y), torch.mean(L_spa()(y, low)))
    rel_close(spatial_loss(low, y), torch.mean(L_spa()(low, y)))

def test_spatial_none_border_shift_invariant(imgs):
    low, _ = imgs
    assert spatial_loss(low.double(), low.double() + 0.3, border="none").item() < 1e-20
    assert spatial_loss(low, low + 0.3) > 0

@pytest.mark.parametrize("fn,shape", [(colour_loss, (2, 3, 5, 4)), (tv_loss, (2, 6, 5, 4)),
                                      (lambda t: exposure_loss(t, patch=4), (2, 3, 8, 8))])
def test_gradcheck(fn, shape):
    x = torch.rand(*shape, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (x,))

@pytest.mark.parametrize("border", ["zero", "none"])
def test_gradcheck_spatial(border):
    low = torch.rand(1, 3, 8, 12, dtype=torch.float64)
    y = torch.rand(1, 3, 8, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: spatial_loss(low, t, border=border), (y,))

@pytest.mark.parametrize("call,msg", [
    (lambda: colour_loss(torch.rand(3, 8, 8)), "(B,3,H,W)"),
    (lambda: colour_loss(torch.randint(0, 255, (1, 3, 4, 4))), "floating-point"),
    (lambda: colour_loss(torch.full((1, 3, 4, 4), float("nan"))), "NaN"),
    (lambda: tv_loss(torch.rand(1, 24, 1, 5)), "at least 2x2"),
    (lambda: exposure_loss(torch.rand(1, 3, 8, 8)), "smaller than patch"),
    (lambda: spatial_loss(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 12)), "differ in shape"),
    (lambda: spatial_loss(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), border="reflect"), "border must be"),
])
def test_errors(call, msg):
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)")): call()

# ---- bad input of the other method-lesson functions (inference, exposure model): one line each -------------------
def _bad_infer(**kw):
    from sclle_nb.dcenet import load_dcenet
    from sclle_nb.infer import infer
    x = kw.pop("x", torch.rand(1, 3, 4, 4))
    return lambda: infer(load_dcenet("random"), x, **kw)

def _bad_expose(img, *a, **kw):
    from sclle_nb.exposure import expose
    return lambda: expose(img, *a, **kw)

@pytest.mark.parametrize("call,msg", [
    (_bad_infer(x=torch.rand(3, 8, 8)), "shape (N,3,H,W)"),
    (_bad_infer(x=torch.full((1, 3, 4, 4), float("nan"))), "finite and in [0,1]"),
    (_bad_infer(x=torch.rand(1, 3, 4, 4)*2), "in [0,1]"),
    (_bad_infer(scale=0), "scale"),
    (_bad_infer(tile=-1), "tile must be a positive int"),
    (_bad_infer(tile=8, overlap=3), "receptive-field radius 7"),
    (_bad_infer(compile="yes"), "compile must be True or False"),
    (_bad_expose(torch.randint(0, 255, (8, 8, 2), dtype=torch.uint8).numpy(), 0), "HxWx3"),
    (_bad_expose(torch.rand(3, 4, 4)*2, 0), "[0,1]"),
    (_bad_expose(torch.rand(3, 4, 4), [1., 2., 3.]), "one per image"),
    (_bad_expose(torch.rand(3, 4, 4), 0, gamma="log"), "gamma"),
    (_bad_expose(torch.full((3, 4, 4), float("nan")), 0), "NaN"),
])
def test_errors_infer_expose(call, msg):
    import re
    with pytest.raises(ValueError, match=re.escape(msg)): call()
