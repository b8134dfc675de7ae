"Semantic losses: vectorised brightness consistency vs a naive loop, the authors' segexp (`sclle_nb.authors`) vs an explicit pair loop, the gradient proof."
import pytest
import torch
from hypothesis import given, settings, strategies as st
from sclle_nb.semantic import semantic_brightness_loss, class_brightness, seg_loss
from sclle_nb import authors
from sclle_nb.deeplab import DeepLabV3Plus, freeze

def naive_sb(y, labels, num_classes=19, ignore_index=255):
    "The definition, written out: per image, per class, squared deviation from that class's mean; mean over labelled pixels."
    tot, cnt = 0., 0
    for n in range(y.shape[0]):
        g = y[n].mean(0)
        for s in range(num_classes):
            m = labels[n] == s
            if m.any(): tot = tot + ((g[m] - g[m].mean())**2).sum(); cnt += int(m.sum())
    return tot/cnt if cnt else y.sum()*0

@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9), c=st.integers(1, 19), p_ign=st.floats(0, 1), seed=st.integers(0, 10**6))
def test_matches_naive_loop(n, h, w, c, p_ign, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.rand(n, 3, h, w, generator=g, dtype=torch.float64, requires_grad=True)
    lab = torch.randint(0, c, (n, h, w), generator=g); lab[torch.rand(n, h, w, generator=g) < p_ign] = 255
    a, b = semantic_brightness_loss(y, lab), naive_sb(y, lab)
    assert torch.allclose(a, torch.as_tensor(b, dtype=a.dtype), rtol=1e-10, atol=1e-14)
    ga, = torch.autograd.grad(a, y, allow_unused=True)
    if isinstance(b, torch.Tensor) and b.requires_grad:
        gb, = torch.autograd.grad(b, y)
        assert torch.allclose(ga, gb, rtol=1e-10, atol=1e-14)

def test_hand_case_and_properties():
    y = torch.tensor([0.2, 0.4, 0.9, 0.5, 0.0]).view(1, 1, 1, 5).expand(1, 3, 1, 5)
    assert semantic_brightness_loss(y, torch.tensor([[[0, 0, 1, 1, 255]]])).item() == pytest.approx(0.025)
    B, cnt = class_brightness(y, torch.tensor([[[0, 0, 1, 1, 255]]]))
    assert B.shape == (1, 19) and B[0, 0].item() == pytest.approx(0.3) and cnt[0].tolist()[:3] == [2, 2, 0]
    # (N,1,H,W) labels are accepted
    assert semantic_brightness_loss(y, torch.tensor([[[[0, 0, 1, 1, 255]]]])).item() == pytest.approx(0.025)

def test_images_never_mix():
    g = torch.Generator().manual_seed(1)
    y = torch.rand(2, 3, 10, 12, generator=g, dtype=torch.float64, requires_grad=True)
    lab = torch.randint(0, 19, (2, 10, 12), generator=g)
    lab2 = lab.clone(); lab2[1] = torch.randint(0, 19, (10, 12), generator=g)
    g1, = torch.autograd.grad(semantic_brightness_loss(y, lab), y)
    g2, = torch.autograd.grad(semantic_brightness_loss(y, lab2), y)
    assert torch.allclose(g1[0], g2[0], atol=1e-15) and not torch.allclose(g1[1], g2[1])

def test_errors():
    with pytest.raises(ValueError, match="outside 0..18"): semantic_brightness_loss(torch.rand(1, 3, 2, 2), torch.full((1, 2, 2), 30))
    with pytest.raises(ValueError, match="do not match"): semantic_brightness_loss(torch.rand(1, 3, 2, 2), torch.zeros(2, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="integer"): semantic_brightness_loss(torch.rand(1, 3, 2, 2), torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match=r"\(N,3,H,W\)"): semantic_brightness_loss(torch.rand(1, 1, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))

def pair_loop_segexp(Y, labels):
    "The authors' term written out with explicit (j,k) pairs: a2[j,k] = x[j] where labels[k]==i else 0."
    B = Y.shape[0]
    x = Y.mean(1)                                          # gray(Y) without the kept dim
    total = 0.
    for i in range(35):
        a2 = torch.stack([torch.stack([torch.where(labels[k] == i, x[j], torch.zeros_like(x[j])) for k in range(B)]) for j in range(B)])
        d2 = a2.detach().mean().item()                            # a constant: no gradient
        a2 = torch.where(a2 == 0, torch.full_like(a2, d2), a2)
        total = total + ((a2 - d2)**2).mean()
    return total

@pytest.mark.parametrize("B,seed", [(1, 0), (2, 1), (2, 2), (3, 3)])
def test_authors_segexp_matches_pair_loop(B, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.rand(B, 3, 12, 16, generator=g, requires_grad=True)
    lab = torch.randint(0, 19, (B, 12, 16), generator=g); lab[:, :2] = 255
    a, b = authors.segexp_term(y, lab), pair_loop_segexp(y, lab)
    assert torch.allclose(a, b, rtol=1e-5, atol=0)
    ga, = torch.autograd.grad(a, y); gb, = torch.autograd.grad(b, y)
    assert torch.allclose(ga, gb, rtol=1e-5, atol=1e-9)

def test_authors_segexp_mixes_batch():
    g = torch.Generator().manual_seed(5)
    y = torch.rand(2, 3, 8, 8, generator=g, dtype=torch.float64, requires_grad=True)
    lab = torch.randint(0, 19, (2, 8, 8), generator=g); lab2 = lab.clone(); lab2[1] = torch.randint(0, 19, (8, 8), generator=g)
    g1, = torch.autograd.grad(authors.segexp_term(y, lab), y)
    g2, = torch.autograd.grad(authors.segexp_term(y, lab2), y)
    assert not torch.allclose(g1[0], g2[0])

@pytest.fixture(scope="module")
def seg():
    torch.manual_seed(0)
    return freeze(DeepLabV3Plus())

def test_gradient_proof(seg):
    from sclle_nb.dcenet import load_dcenet
    dce = load_dcenet("random", seed=0).train()
    low, lab = torch.rand(2, 3, 24, 32)*0.3, torch.randint(0, 19, (2, 24, 32))
    norms, vals = {}, {}
    for name, term in (("paper", seg_loss), ("authors", authors.seg_term)):
        dce.zero_grad(set_to_none=False)
        y = dce(low).enhanced
        l = term(seg, y, lab)
        (l + 0*y.sum()).backward()
        norms[name] = torch.cat([p.grad.flatten() for p in dce.parameters()]).norm().item()
        vals[name] = l.item()
    assert norms["paper"] > 0 and norms["authors"] == 0.
    assert vals["paper"] == pytest.approx(vals["authors"], rel=1e-6)
    assert all(p.grad is None for p in seg.parameters()) and not seg.training

def test_seg_loss_ignore(seg):
    y = torch.rand(1, 3, 16, 16, requires_grad=True)
    lab = torch.full((1, 16, 16), 255)
    l = seg_loss(seg, y, lab)
    assert l.item() == 0 and l.requires_grad
    lab[0, :4] = 3
    l1 = seg_loss(seg, y, lab)
    import torch.nn.functional as F
    from sclle_nb.deeplab import seg_logits
    with torch.no_grad(): ref = F.cross_entropy(seg_logits(seg, y)[:, :, :4].reshape(1, 19, -1), torch.full((1, 64), 3))
    assert l1.item() == pytest.approx(ref.item(), rel=1e-5)
