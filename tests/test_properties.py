"""Property-based tests (hypothesis): invariants of the LE curves and losses, and `enhance` round trips of shape and dtype."""
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st, HealthCheck
from hypothesis.extra.numpy import arrays
from PIL import Image

from sclle_nb.curves import le_curve, apply_curves
from sclle_nb.dcenet import load_dcenet
from sclle_nb.enhancer import enhance, read_image, save_image, orient, to_tensor, from_tensor

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NET = load_dcenet("random")
unit = st.floats(0, 1, allow_nan=False)
alpha = st.floats(-1, 1, allow_nan=False)


# ------------------------------------------------------------------ LE curves
@FAST
@given(x=unit, a=alpha)
def test_le_curve_stays_in_unit_interval(x, a):
    y = le_curve(torch.tensor(x, dtype=torch.float64), a).item()
    assert -1e-12 <= y <= 1 + 1e-12

@FAST
@given(a=alpha)
def test_le_curve_fixed_points(a):
    y = le_curve(torch.tensor([0., 1.], dtype=torch.float64), a)
    assert y.tolist() == [0., 1.]

@FAST
@given(x1=unit, x2=unit, a=alpha)
def test_le_curve_monotonic(x1, x2, a):
    lo, hi = sorted((x1, x2))
    y = le_curve(torch.tensor([lo, hi], dtype=torch.float64), a)
    assert y[0] <= y[1] + 1e-12

@FAST
@given(x=unit, a1=alpha, a2=alpha)
def test_le_curve_monotonic_in_alpha(x, a1, a2):
    "Larger alpha never darkens: LE(x; a) = x + a x (1-x) and x(1-x) >= 0."
    lo, hi = sorted((a1, a2))
    t = torch.tensor(x, dtype=torch.float64)
    assert le_curve(t, lo) <= le_curve(t, hi) + 1e-12

@FAST
@given(n=st.integers(1, 8), h=st.integers(1, 6), w=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_iterated_curves_stay_in_range_and_keep_order(n, h, w, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, h, w, generator=g, dtype=torch.float64)
    a = torch.rand(1, 3*n, h, w, generator=g, dtype=torch.float64) * 2 - 1
    y = apply_curves(x, a)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    y2 = apply_curves(torch.clamp(x + 0.01, max=1), a)      # per-pixel maps: brighter input, brighter output, pixelwise
    assert (y2 >= y - 1e-12).all()


# ------------------------------------------------------------------ losses
imgs = st.tuples(st.integers(1, 2), st.integers(4, 12), st.integers(4, 12), st.integers(0, 2**16))

def rand(shape, seed): return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)

@FAST
@given(imgs)
def test_colour_loss_nonnegative_zero_on_grey(s):
    from sclle_nb.zeroref import colour_loss
    b, h, w, seed = s
    y = rand((b, 3, h, w), seed)
    assert colour_loss(y) >= 0
    assert colour_loss(y.mean(1, keepdim=True).expand(-1, 3, -1, -1)) == 0

@FAST
@given(imgs, st.floats(-1, 1))
def test_tv_loss_nonnegative_shift_invariant(s, c):
    from sclle_nb.zeroref import tv_loss
    b, h, w, seed = s
    a = rand((b, 24, h, w), seed)
    assert tv_loss(a) >= 0
    assert torch.isclose(tv_loss(a + c), tv_loss(a), atol=1e-10)
    assert tv_loss(torch.full_like(a, c)) == 0

@FAST
@given(imgs)
def test_gram_matrix_symmetric_psd(s):
    from sclle_nb.vgg import gram_matrix
    b, h, w, seed = s
    g = gram_matrix(rand((b, 5, h, w), seed) - 0.5)
    assert torch.allclose(g, g.transpose(1, 2))
    assert torch.linalg.eigvalsh(g).min() >= -1e-10

@FAST
@given(imgs, st.integers(1, 19))
def test_semantic_brightness_loss_nonnegative_zero_when_classes_uniform(s, k):
    from sclle_nb.semantic import semantic_brightness_loss
    b, h, w, seed = s
    labels = torch.randint(0, k, (b, h, w), generator=torch.Generator().manual_seed(seed))
    y = rand((b, 3, h, w), seed)
    assert semantic_brightness_loss(y, labels) >= 0
    flat = (labels.double() / 19)[:, None].expand(-1, 3, -1, -1)   # brightness is a function of the class only
    assert semantic_brightness_loss(flat, labels) < 1e-20


# ------------------------------------------------------------------ enhance round trips
dtypes = st.sampled_from([np.uint8, np.uint16, np.float32, np.float64])
sizes = st.tuples(st.integers(1, 24), st.integers(1, 24))

def image(dt, shape, seed):
    r = np.random.default_rng(seed).random(shape)
    return (r * np.iinfo(dt).max).round().astype(dt) if np.dtype(dt).kind == "u" else r.astype(dt)

@FAST
@given(dt=dtypes, hw=sizes, c=st.sampled_from([None, 1, 3, 4]), seed=st.integers(0, 2**16))
def test_enhance_array_keeps_shape_and_dtype(dt, hw, c, seed):
    shape = hw if c is None else (*hw, c)
    a = image(dt, shape, seed)
    y = enhance(a, NET)
    assert y.shape == a.shape and y.dtype == a.dtype
    if np.dtype(dt).kind == "f": assert 0 <= y.min() and y.max() <= 1
    if c == 4: np.testing.assert_array_equal(y[..., 3], a[..., 3])

@FAST
@given(n=st.integers(1, 3), hw=sizes, dt=st.sampled_from([torch.float32, torch.float64, torch.float16, torch.uint8]),
       batched=st.booleans(), seed=st.integers(0, 2**16))
def test_enhance_tensor_keeps_shape_dtype(n, hw, dt, batched, seed):
    x = torch.rand(n, 3, *hw, generator=torch.Generator().manual_seed(seed))
    x = (x * 255).round().to(dt) if dt == torch.uint8 else x.to(dt)
    x = x if batched else x[0]
    y = enhance(x, NET)
    assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device

@FAST
@given(hw=sizes, mode=st.sampled_from(["RGB", "L", "RGBA", "LA", "P"]), seed=st.integers(0, 2**16))
def test_enhance_pil_keeps_size(hw, mode, seed):
    im = Image.fromarray(image(np.uint8, (*hw, 3), seed)).convert(mode)
    y = enhance(im, NET)
    assert isinstance(y, Image.Image) and y.size == im.size and y.mode == {"P": "RGB"}.get(mode, mode)

@FAST
@given(dt=st.sampled_from([np.uint8, np.uint16]), hw=sizes, c=st.sampled_from([None, 2, 3, 4]), seed=st.integers(0, 2**16))
def test_png_save_read_lossless(dt, hw, c, seed, tmp_path_factory):
    a = image(dt, hw if c is None else (*hw, c), seed)
    p = tmp_path_factory.mktemp("png")/"x.png"
    save_image(a, p)
    back = read_image(p)
    assert back.dtype == a.dtype and back.shape == (*hw, 3)
    grey = a if c is None else a[..., 0]
    np.testing.assert_array_equal(back, a[..., :3] if c in (3, 4) else np.dstack([grey] * 3))

@FAST
@given(dt=dtypes, n=st.integers(1, 2), hw=sizes, seed=st.integers(0, 2**16))
def test_tensor_conversion_round_trip(dt, n, hw, seed):
    a = image(dt, (n, *hw, 3), seed)
    b = from_tensor(to_tensor(a), a)
    if np.dtype(dt).kind == "u": np.testing.assert_array_equal(b, a)
    else: np.testing.assert_allclose(b, a, atol=1e-7)

@FAST
@given(hw=sizes, o=st.integers(1, 8))
def test_orient_matches_pillow(hw, o, tmp_path_factory):
    from PIL import ImageOps
    a = image(np.uint8, (*hw, 3), o)
    im = Image.fromarray(a); ex = im.getexif(); ex[0x0112] = o
    im.info["exif"] = ex.tobytes()
    np.testing.assert_array_equal(orient(a, o), np.asarray(ImageOps.exif_transpose(im)))
