"""The optimised exact path and tiled inference equal the plain DCE-Net forward within 1e-5."""
import pytest, torch
from sclle_nb.dcenet import load_dcenet
from sclle_nb.infer import infer, RADIUS

def plain(net, x):
    with torch.no_grad(): return net(x).enhanced.clamp(0, 1)

@pytest.mark.parametrize("shape", [(1, 3, 1, 1), (1, 3, 2, 17), (3, 3, 13, 7), (1, 3, 97, 131), (2, 3, 255, 33)])
def test_exact_random_weights(shape):
    net = load_dcenet("random", seed=sum(shape))
    x = torch.rand(*shape)
    y = infer(net, x)
    assert y.shape == x.shape and y.dtype == torch.float32 and y.is_contiguous()
    assert (y - plain(net, x)).abs().max() <= 1e-5

def test_exact_authors_weights(shared):
    net = load_dcenet(shared/"weights"/"SCL-LLE.pth")
    x = torch.rand(2, 3, 71, 53)
    assert (infer(net, x) - plain(net, x)).abs().max() <= 1e-5

def test_no_grad_and_input_untouched():
    net = load_dcenet("random")
    x = torch.rand(1, 21, 19, 3).permute(0, 3, 1, 2)   # channels-last view (what HWC arrays become)
    x0 = x.clone()
    for kw in ({}, dict(precision="bf16"), dict(scale=0.5), dict(tile=8)):
        y = infer(net, x, **kw)
        assert not y.requires_grad and torch.equal(x, x0)

@pytest.mark.parametrize("tile", [8, 15, 16, 40])
def test_tiled_equals_whole(tile):
    net = load_dcenet("random", seed=tile)
    x = torch.rand(2, 3, 45, 61)
    assert (infer(net, x, tile=tile) - infer(net, x)).abs().max() <= 1e-5
    assert (infer(net, x, tile=tile, overlap=RADIUS + 3) - infer(net, x)).abs().max() <= 1e-5

def test_tiled_authors_weights(shared):
    net = load_dcenet(shared/"weights"/"SCL-LLE.pth")
    x = torch.rand(1, 3, 64, 80)
    assert (infer(net, x, tile=20) - plain(net, x)).abs().max() <= 1e-5

def test_receptive_field_radius():
    net = load_dcenet("random", seed=5)
    x = torch.full((1, 3, 31, 31), 0.4); x2 = x.clone(); x2[..., 15, 15] = 0.95
    with torch.no_grad(): d = (net.curve_maps(x2) - net.curve_maps(x)).abs().amax(1)[0]
    ys, xs = torch.nonzero(d > 0, as_tuple=True)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (15 - RADIUS, 15 + RADIUS, 15 - RADIUS, 15 + RADIUS)

@pytest.mark.parametrize("bad, kw, msg", [
    (torch.rand(3, 8, 8), {}, "shape (N,3,H,W)"),
    (torch.rand(1, 4, 8, 8), {}, "shape (N,3,H,W)"),
    (torch.randint(0, 255, (1, 3, 8, 8)), {}, "float"),
    (torch.full((1, 3, 8, 8), float("nan")), {}, "finite"),
    (torch.rand(1, 3, 8, 8) + 1, {}, "[0,1]"),
    (torch.rand(1, 3, 8, 8), dict(scale=1.5), "scale"),
    (torch.rand(1, 3, 8, 8), dict(precision="fp16"), "precision"),
    (torch.rand(1, 3, 8, 8), dict(tile=-1), "tile"),
    (torch.rand(1, 3, 8, 8), dict(tile=True), "tile"),
    (torch.rand(1, 3, 8, 8), dict(tile=4, overlap=6), "receptive-field"),
])
def test_bad_input(bad, kw, msg):
    with pytest.raises(ValueError, match=None) as e: infer(load_dcenet("random"), bad, **kw)
    assert msg in str(e.value) and "\n" not in str(e.value)

def test_engines_agree_and_swap_in_one_place():
    "`infer` runs `FastEngine` by default; `use_engine(PlainEngine())` runs the plain lesson code; both agree within 1e-5."
    from sclle_nb.infer import engine, use_engine, PlainEngine, FastEngine
    assert type(engine()) is FastEngine
    net, x = load_dcenet("random", seed=7), torch.rand(2, 3, 40, 57)
    for kw in (dict(), dict(tile=12), dict(scale=0.5), dict(scale=0.25, tile=8)):
        with use_engine(PlainEngine()):
            assert type(engine()) is PlainEngine
            p = infer(net, x, **kw)
        assert (infer(net, x, **kw) - p).abs().max() <= 1e-5, kw
    assert type(engine()) is FastEngine                # restored after the `with` block
    big = torch.rand(1, 3, 600, 530)                   # the fast engine tiles this for the CPU cache: same output
    with use_engine(PlainEngine()): p = infer(net, big)
    assert (infer(net, big) - p).abs().max() <= 1e-5
