"""The default weights keep the hue of what they brighten: `colour_shift` on held-out (and warm-lit) photos, and on LIME."""
import numpy as np
import pytest
import torch
from sclle_nb.evaluate import colour_shift
from sclle_nb.defaults import proxy_photos, score_photos
from sclle_nb.enhancer import enhance

def test_colour_shift_measure():
    x = np.random.default_rng(0).integers(0, 120, (16, 16, 3), dtype=np.uint8)
    assert colour_shift(x, x) == 0
    assert abs(colour_shift(x, ((x.astype(int) + 1)*2 - 1).astype(np.uint8))) < 1e-9     # brightening (v+1)*2: no turn
    red, green = np.full((1, 1, 3), [254, 0, 0], np.uint8), np.full((1, 1, 3), [0, 254, 0], np.uint8)
    assert abs(colour_shift(red, green) - 90) < 0.5
    t = torch.from_numpy(x).permute(2, 0, 1)
    assert colour_shift(t, t.flip(0)) == colour_shift(x, x[..., ::-1]) > 5                  # (3,H,W) tensors too
    with pytest.raises(ValueError, match="differ in shape"): colour_shift(x, x[:8])

def test_default_weights_keep_hue_on_held_out_photos():
    "Held-out photos, plain and under a warm light, darkened by the camera model: the previous weights turned them 15-25 degrees."
    ims = [a for _, a in proxy_photos()]
    shifts = [colour_shift(a, enhance(a)) for a in ims]
    assert np.mean(shifts) < 5 and max(shifts) < 7, [round(s, 2) for s in shifts]
    assert np.mean([enhance(a).mean() for a in ims]) > 1.8*np.mean([a.mean() for a in ims])   # it does brighten them

def test_default_weights_on_lime(shared):
    "On the 9 LIME photos at full resolution: as hue-true as the authors' SCL-LLE, no brighter than Zero-DCE, NIQE as good."
    from sclle_nb.evaluate import read_rgb
    from sclle_nb.refdata import lime_photos
    s = score_photos("default", [read_rgb(p) for p in lime_photos()])
    assert s["angle"] <= 3.5 and s["p90"] <= 5.5, s
    assert 0.28 <= s["brightness"] <= 0.38, s
    assert s["NIQE"] <= 3.97, s
