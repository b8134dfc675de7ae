"""Contrastive loss (the paper's form, pooled or per kind; the authors' terms from `sclle_nb.authors`) and feature preservation."""
import pytest, torch
import torch.nn.functional as F
from sclle_nb.vgg import VGGFeatures, vgg16_features, gram_dict
from sclle_nb.contrastive import contrastive_loss, set_distance, grams_of, negative_sets
from sclle_nb import authors
from sclle_nb.preserve import feature_loss, preserve_loss

@pytest.fixture(scope="module")
def vf(): return vgg16_features(None, seed=0).eval().requires_grad_(False)

@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(1)
    B, H, W = 2, 32, 40
    return (torch.rand(B, 3, H, W, generator=g), torch.rand(B, 3, H, W, generator=g)*0.5 + 0.3,
            torch.rand(B, 3, H, W, generator=g)*0.2, torch.rand(B, 3, H, W, generator=g)*0.3)

def rel_close(a, b, rtol=1e-5): torch.testing.assert_close(a.double(), b.double(), rtol=rtol, atol=1e-9)

def test_authors_hand_values():
    c = lambda v: torch.full((1, 3, 4, 4), v)
    rel_close(authors.grey_triplet(c(.5), c(.7), c(.1)), torch.tensor(0.1))
    assert authors.grey_triplet(c(.5), c(.5), c(.9)).item() == 0
    G = lambda v: {"relu1_2": torch.tensor([[[v]]]), "relu2_2": torch.zeros(1, 1, 1)}
    rel_close(authors.gram_triplet(G(1.), G(.9), G(1.1)), torch.tensor(0.04))
    with pytest.raises(ValueError, match="same shape"): authors.grey_l1(c(.5), torch.rand(1, 3, 4, 5))

@pytest.mark.parametrize("shift", [0., 0.5, -0.25])
def test_authors_vgg_slices_equal_package_features(vf, batch, shift):
    "Their slices of VGG16 `features` and this package's VGGFeatures(normalize=False) + gram_matrix give the same cont2 and gradient."
    Y, P, N, _ = batch
    Y1, Y2 = (Y + shift).clamp(0, 1).requires_grad_(), (Y + shift).clamp(0, 1).requires_grad_()
    ref = authors.gram_triplet(authors.vgg_grams(vf, Y1), authors.vgg_grams(vf, P), authors.vgg_grams(vf, N), gy_neg=authors.vgg_grams(vf, Y1))
    m = VGGFeatures(["relu1_2", "relu2_2"], normalize=False, vgg=vf)
    with torch.no_grad(): gp, gn = gram_dict(m(P)), gram_dict(m(N))
    ours = authors.gram_triplet(gram_dict(m(Y2)), gp, gn)
    rel_close(ours, ref)
    ref.backward(); ours.backward()
    torch.testing.assert_close(Y1.grad, Y2.grad, rtol=1e-4, atol=1e-9)

def test_gram_sse_is_sse_set_distance():
    g = torch.Generator().manual_seed(5)
    a = {l: torch.rand(1, c, c, generator=g) for l, c in (("relu1_2", 4), ("relu2_2", 6))}
    b = {l: torch.rand(1, c, c, generator=g) for l, c in (("relu1_2", 4), ("relu2_2", 6))}
    rel_close(authors.gram_sse(a, b), sum(set_distance(a[l], b[l], "sse") for l in a).squeeze())

def naive_contrastive(gy, gp, gn, margin, distance):
    "Loops over images, layers and set members."
    out = []
    for b in range(next(iter(gy.values())).shape[0]):
        dp = dn = 0.
        for l in gy:
            for S, acc in ((gp, "p"), (gn, "n")):
                tot = 0.
                for s in range(S[l].shape[0]):
                    diff = gy[l][b] - S[l][s]
                    tot += {"mse": (diff**2).mean(), "l1": diff.abs().mean(), "sse": (diff**2).sum()}[distance]
                if acc == "p": dp += tot/S[l].shape[0]
                else: dn += tot/S[l].shape[0]
        out.append(max(dp - dn + margin, 0.))
    return torch.stack([torch.as_tensor(o, dtype=torch.float64) for o in out]).mean()

@pytest.mark.parametrize("distance", ["mse", "l1", "sse"])
def test_vectorised_equals_naive(distance):
    g = torch.Generator().manual_seed(2)
    mk = lambda n, c: torch.rand(n, c, c, generator=g, dtype=torch.float64)
    gy = {"relu1_2": mk(3, 4), "relu2_2": mk(3, 5)}
    gp = {"relu1_2": mk(2, 4), "relu2_2": mk(2, 5)}
    gn = {"relu1_2": mk(4, 4), "relu2_2": mk(4, 5)}
    for margin in (0., 0.05, 1.):
        rel_close(contrastive_loss(gy, gp, gn, margin=margin, distance=distance), naive_contrastive(gy, gp, gn, margin, distance))

def test_kinds_are_pooled_by_default():
    g = torch.Generator().manual_seed(3)
    mk = lambda n: {"relu1_2": torch.rand(n, 4, 4, generator=g)}
    gy, gp, under, over = mk(2), mk(3), mk(2), mk(3)
    both = {"relu1_2": torch.cat([under["relu1_2"], over["relu1_2"]])}
    kinds = {"under": under, "over": over}
    for k, ref in ((None, both), ("both", both), ("under", under), (["over"], over)):
        rel_close(contrastive_loss(gy, gp, kinds, neg_kinds=k), contrastive_loss(gy, gp, ref))
    with pytest.raises(ValueError, match="not given"): contrastive_loss(gy, gp, kinds, neg_kinds="sideways")
    assert len(negative_sets(kinds)) == 1 and len(negative_sets(kinds, per_kind=True)) == 2
    rel_close(contrastive_loss(gy, gp, None, reduction="none"), set_distance(gy["relu1_2"], gp["relu1_2"]))

def test_images_equal_grams_and_gradient_only_to_y(vf, batch):
    Y, P, N, _ = batch
    m = VGGFeatures(["relu1_2", "relu2_2"], vgg=vf)
    Yg, Pg, Ng = Y.clone().requires_grad_(), P.clone().requires_grad_(), N.clone().requires_grad_()
    L = contrastive_loss(Yg, Pg, {"under": Ng, "over": P}, vgg=m, margin=1.)
    with torch.no_grad(): ref = contrastive_loss(gram_dict(m(Y)), gram_dict(m(P)), gram_dict(m(torch.cat([N, P]))), margin=1.)
    rel_close(L, ref)
    L.backward()
    assert Yg.grad.abs().sum() > 0 and Pg.grad is None and Ng.grad is None
    assert all(p.grad is None for p in m.parameters())

def test_contrastive_errors(vf):
    G = {"relu1_2": torch.rand(1, 4, 4)}
    with pytest.raises(ValueError, match="need a `vgg`"): contrastive_loss(torch.rand(1, 3, 8, 8), G, G)
    with pytest.raises(ValueError, match="missing"): contrastive_loss({**G, "relu2_2": torch.rand(1, 2, 2)}, G, G)
    with pytest.raises(ValueError, match="distance must be"): contrastive_loss(G, G, G, distance="cos")
    with pytest.raises(ValueError, match="reduction must be"): contrastive_loss(G, G, G, reduction="max")
    with pytest.raises(ValueError, match="not computed by this extractor"):
        grams_of(torch.rand(1, 3, 8, 8), VGGFeatures(["relu1_2"], vgg=vf), ["relu2_2"])
    with pytest.raises(ValueError, match="same C"): set_distance(torch.rand(2, 4, 4), torch.rand(3, 5, 5))
    with pytest.raises(ValueError, match="empty"): set_distance(torch.rand(2, 4, 4), torch.rand(0, 4, 4))

def test_mse_triplet_is_affine_in_gram():
    "The documented reason L1 is the default: with squared distances the triplet is affine in G(Y)."
    g = torch.Generator().manual_seed(4)
    gp, gn = {"relu1_2": torch.rand(3, 4, 4, generator=g, dtype=torch.float64)}, {"relu1_2": torch.rand(2, 4, 4, generator=g, dtype=torch.float64)}
    a, b = torch.rand(1, 4, 4, generator=g, dtype=torch.float64), torch.rand(1, 4, 4, generator=g, dtype=torch.float64)
    f = lambda x: contrastive_loss({"relu1_2": x}, gp, gn, distance="mse", margin=100.)
    rel_close(f(0.3*a + 0.7*b), 0.3*f(a) + 0.7*f(b), rtol=1e-10)

def test_feature_loss_matches_authors(vf, batch):
    _, _, _, I = batch
    Y = batch[0]
    m = VGGFeatures(["relu4_3"], normalize=False, vgg=vf)
    rel_close(preserve_loss(I, Y, m), F.mse_loss(vf[0:23](I), vf[0:23](Y)))
    rel_close(feature_loss(m(I), m(Y)), F.mse_loss(vf[0:23](I), vf[0:23](Y)))
    Ig, Yg = I.clone().requires_grad_(), Y.clone().requires_grad_()
    feature_loss(m(Ig), m(Yg)).backward()
    assert Ig.grad is None and Yg.grad.abs().sum() > 0
    assert preserve_loss(I, I.clone(), m).item() == 0

def test_feature_loss_layers_and_errors():
    a = {"relu1_2": torch.zeros(1, 2, 2, 2), "relu4_3": torch.zeros(1, 2, 2, 2)}
    b = {k: v + (1 if k == "relu1_2" else 2) for k, v in a.items()}
    assert feature_loss(a, b).item() == 4 and feature_loss(a, b, layers=None).item() == 5
    assert feature_loss(a, b, layers="relu1_2").item() == 1
    with pytest.raises(ValueError, match="missing"): feature_loss(a, b, layers=["relu2_2"])
    with pytest.raises(ValueError, match="two tensors or two dicts"): feature_loss(a, torch.zeros(1))
    with pytest.raises(ValueError, match="differ in shape"): preserve_loss(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9), None)

def test_gradcheck_through_vgg():
    m = VGGFeatures(["relu1_2"], normalize=False, weights=None).double()
    low = torch.rand(1, 3, 5, 5, dtype=torch.float64)
    P, N = torch.rand(2, 3, 5, 5, dtype=torch.float64), torch.rand(2, 3, 5, 5, dtype=torch.float64)*0.2
    y = torch.rand(1, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: contrastive_loss(t, P, N, vgg=m, margin=10.), (y,))
    assert torch.autograd.gradcheck(lambda t: preserve_loss(low, t, m, layers=["relu1_2"]), (y,))

def test_public_name():
    import sclle_nb
    assert sclle_nb.contrastive_loss is contrastive_loss

@pytest.mark.parametrize("margin", [0., 0.05, 1.])
def test_per_kind_is_the_mean_of_one_triplet_per_kind(margin):
    g = torch.Generator().manual_seed(6)
    mk = lambda n: {"relu1_2": torch.rand(n, 4, 4, generator=g, dtype=torch.float64)}
    gy, gp, under, over = mk(3), mk(2), mk(2), mk(3)
    per = contrastive_loss(gy, gp, {"under": under, "over": over}, margin=margin, per_kind=True, reduction="none")
    ref = (naive_contrastive_each(gy, gp, under, margin) + naive_contrastive_each(gy, gp, over, margin))/2
    rel_close(per, ref)
    rel_close(contrastive_loss(gy, gp, {"under": under}, margin=margin, per_kind=True), contrastive_loss(gy, gp, under, margin=margin))

def naive_contrastive_each(gy, gp, gn, margin):
    "Per-image triplet with the L1 distance, looping over set members."
    out = []
    for b in range(gy["relu1_2"].shape[0]):
        dp = sum((gy["relu1_2"][b] - s).abs().mean() for s in gp["relu1_2"])/len(gp["relu1_2"])
        dn = sum((gy["relu1_2"][b] - s).abs().mean() for s in gn["relu1_2"])/len(gn["relu1_2"])
        out.append(max(dp - dn + margin, 0.))
    return torch.stack([torch.as_tensor(o, dtype=torch.float64) for o in out])

@pytest.mark.parametrize("distance", ["mse", "l1", "sse"])
def test_gradcheck_on_grams(distance):
    "float64 gradient check as a function of the enhanced image's Gram matrices, away from the hinge's kink."
    g = torch.Generator().manual_seed(7)
    gy = torch.rand(2, 4, 4, dtype=torch.float64, generator=g, requires_grad=True)
    gp, gn = {"relu1_2": torch.rand(3, 4, 4, dtype=torch.float64, generator=g)}, {"relu1_2": 3 + torch.rand(2, 4, 4, dtype=torch.float64, generator=g)}
    assert torch.autograd.gradcheck(lambda x: contrastive_loss({"relu1_2": x}, gp, gn, distance=distance, margin=5.), (gy,))

def test_reduction_and_kinds_hand_values():
    t = lambda *v: {"relu1_2": torch.tensor(v).view(-1, 1, 1)}
    rel_close(contrastive_loss(t(1., 3.), t(0., 2.), t(3., 5.), reduction="sum"), torch.tensor(1.04))
    rel_close(contrastive_loss(t(1.), t(0., 3.), None, distance="mse"), torch.tensor(2.5))
    negs = {"under": t(1., 2.), "over": t(3.)}
    rel_close(contrastive_loss(t(1.), t(0., 3.), negs, neg_kinds=["over"], margin=1.), torch.tensor(1.5 - 2 + 1))
    rel_close(contrastive_loss(t(1.), t(0., 3.), negs, neg_kinds="both"), contrastive_loss(t(1.), t(0., 3.), t(1., 2., 3.)))
