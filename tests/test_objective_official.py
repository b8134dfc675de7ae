"""`SCLLELoss(mode="official")` against the one transcription of the authors' loop, `sclle_nb.authors`; the ablation names."""
import pytest, torch, torch.nn as nn
import torchvision

from sclle_nb import authors

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
    vgg16 = torchvision.models.vgg16(weights=None).eval().requires_grad_(False)
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

def reference(vgg, seg, t, y=None, A=None):
    y = t["enhanced"] if y is None else y
    return authors.authors_terms(vgg, seg, t["low"], y, t["curves"] if A is None else A, t["labels"], t["positives"], t["negatives"])

def test_official_components(setup):
    crit, vgg, seg, t = setup
    out = crit(**t)
    ref = reference(vgg, seg, t)
    ref["total"] = sum(ref.values())
    assert set(out) == set(ref)
    for k, v in ref.items():
        torch.testing.assert_close(out[k].float(), v.float(), rtol=1e-5, atol=1e-7, msg=f"component {k}")

def test_official_gradients_match(setup):
    "Same gradient w.r.t. the enhanced image and the curve maps as the authors' loop."
    crit, vgg, seg, t = setup
    Y1 = t["enhanced"].clone().requires_grad_(); A1 = t["curves"].clone().requires_grad_()
    Y2 = t["enhanced"].clone().requires_grad_(); A2 = t["curves"].clone().requires_grad_()
    crit(**{**t, "enhanced": Y1, "curves": A1})["total"].backward()
    ref = reference(vgg, seg, t, Y2, A2)
    assert not ref["seg"].requires_grad                      # their segmentation term sends no gradient
    sum(v for k, v in ref.items() if k != "seg").backward()
    torch.testing.assert_close(Y1.grad, Y2.grad, rtol=1e-4, atol=1e-8)
    torch.testing.assert_close(A1.grad, A2.grad, rtol=1e-5, atol=1e-9)

def test_official_needs_paired_negatives(setup):
    crit, _, _, t = setup
    with pytest.raises(ValueError, match="pairs each enhanced image"): crit(**{**t, "negatives": {"under": t["negatives"]}})

def test_authors_losses_runs_the_net(setup):
    from sclle_nb.dcenet import load_dcenet
    _, vgg, seg, t = setup
    net = load_dcenet("random")
    out = net(t["low"])
    a = authors.authors_losses(net, vgg, seg, t["low"], t["labels"], t["positives"], t["negatives"])
    b = authors.authors_terms(vgg, seg, t["low"], out.enhanced, out.alpha, t["labels"], t["positives"], t["negatives"])
    assert list(a) == ["tv", "col", "segexp", "percept", "cont", "cont2", "seg"]
    for k in a: torch.testing.assert_close(a[k], b[k])

def test_check_ablations():
    from sclle_nb.objective import ABLATIONS, check_ablations, SCLLELoss
    assert set(ABLATIONS) == {"L_c", "L_sc", "L_fr", "negatives", "over", "under"}
    assert check_ablations("L_c, under") == ("L_c", "under") and check_ablations(["over", "over"]) == ("over",)
    assert check_ablations("") == () and check_ablations(()) == ()
    with pytest.raises(ValueError, match=r"unknown ablation\(s\) contrastive; valid names: L_c, L_sc, L_fr, negatives, over, under"):
        check_ablations("contrastive")
    with pytest.raises(ValueError, match="valid names"): SCLLELoss(vgg="random", ablate=["L_x"])

def _paper_batch(S=32):
    g = torch.Generator().manual_seed(3)
    low = torch.rand(2, 3, S, S, generator=g)*0.2
    return dict(low=low, enhanced=(low*2).clamp(0, 1), curves=torch.rand(2, 24, S, S, generator=g)*0.1,
                positives=torch.rand(2, 3, S, S, generator=g)*0.5 + 0.25, labels=torch.randint(0, 19, (2, S, S), generator=g),
                negatives=torch.cat([torch.rand(2, 3, S, S, generator=g)*0.1, 0.9 + torch.rand(2, 3, S, S, generator=g)*0.1]))

def test_paper_negatives_as_tensor_or_dict_and_cache_exact():
    "A tensor with neg_kinds equals a dict by kind; cached Gram matrices give the same terms; keys must match images."
    from sclle_nb.objective import SCLLELoss
    t = _paper_batch()
    crit = SCLLELoss(vgg="random")
    kinds = ["under", "under", "over", "over"]
    a = crit(**t, neg_kinds=kinds)
    b = crit(**{**t, "negatives": {"under": t["negatives"][:2], "over": t["negatives"][2:]}})
    for k in a: torch.testing.assert_close(a[k], b[k])
    keys = dict(pos_keys=["p0", "p1"], neg_keys=["u0", "u1", "o0", "o1"])
    c1, c2 = crit(**t, neg_kinds=kinds, **keys), crit(**t, neg_kinds=kinds, **keys)
    assert len(crit._cache) == 6 and torch.equal(c1["cont"], c2["cont"])
    torch.testing.assert_close(c1["cont"], a["cont"])
    d = crit(**{**t, "negatives": {"under": t["negatives"][:2], "over": t["negatives"][2:]}}, pos_keys=["p0", "p1"],
             neg_keys={"under": ["u0", "u1"], "over": ["o0", "o1"]})
    torch.testing.assert_close(d["cont"], a["cont"])
    with pytest.raises(ValueError, match="2 keys for 4 images"): crit(**t, neg_keys=["u0", "u1"])
    with pytest.raises(ValueError, match="needs `neg_kinds`"): SCLLELoss(vgg=crit.vgg, ablate="over")(**t)
    with pytest.raises(ValueError, match="3 neg_kinds for 4"): crit(**t, neg_kinds=kinds[:3])

def test_vgg_policy(monkeypatch):
    "ImageNet weights are never replaced by random ones silently; unknown names are refused in one line."
    from sclle_nb.objective import SCLLELoss
    from sclle_nb.vgg import WeightsMissing, vgg16_cache_path
    with pytest.raises(ValueError, match="vgg must be"): SCLLELoss(vgg="imagenette")
    if vgg16_cache_path().exists(): pytest.skip("ImageNet VGG16 is cached here: nothing is missing")
    monkeypatch.setenv("SCLLE_OFFLINE", "1")
    for v in (None, "imagenet"):
        with pytest.raises(WeightsMissing): SCLLELoss(vgg=v)
