"""NIQE agrees with the MATLAB-checked reference values on the LIME photos, and is fast."""
import csv, time
import numpy as np, pytest
from sclle_nb.niqe import niqe, to_gray, niqe_features, mvg_distance

def _ref(shared):
    with open(shared/"niqe"/"reference_LIME_inputs.csv") as f:
        return {r["image"]: float(r["niqe"]) for r in csv.DictReader(f)}

def test_niqe_matches_reference(shared):
    ref = _ref(shared)
    assert len(ref) == 9
    diffs = {k: niqe(shared/"data"/"LIME"/k) - v for k, v in ref.items()}
    bad = {k: d for k, d in diffs.items() if abs(d) >= 0.01}
    assert not bad, f"NIQE differs from the reference by >= 0.01: {bad}"
    assert max(abs(d) for d in diffs.values()) < 1e-5  # measured: 3e-7

def test_niqe_top_level_name_and_inputs(shared):
    import sclle_nb, torch
    from PIL import Image
    a = np.asarray(Image.open(shared/"data"/"LIME"/"3.png").convert("RGB"))
    q = sclle_nb.niqe(a)
    assert q == pytest.approx(niqe(a.astype(np.float64)/255), abs=1e-9)
    assert q == pytest.approx(niqe(torch.tensor(a).permute(2, 0, 1).float()/255), abs=1e-4)  # float32 rounding only
    assert q == pytest.approx(niqe(a.astype(np.uint16)*257), abs=1e-9)

def test_niqe_speed():
    from skimage import data
    x = np.ascontiguousarray(data.astronaut()[:480, :512])
    x = np.concatenate([x, x[:, :128]], 1)  # 480 x 640
    niqe(x)
    t = time.perf_counter()
    for _ in range(3): niqe(x)
    dt = (time.perf_counter() - t)/3
    assert dt < 1.0, f"NIQE of a 640x480 image took {dt:.3f} s"  # ~0.03-0.05 s; loose for shared CI machines

@pytest.mark.parametrize("bad,msg", [
    (np.zeros((50, 400, 3), np.uint8), "too small"),
    (np.zeros((200, 200, 5), np.uint8), "shape"),
    (np.full((200, 300, 3), 2.0), "[0,1]"),
    (np.full((200, 300, 3), np.nan), "NaN"),
    (np.full((200, 300, 3), 128, np.uint8), "flat"),
    (np.zeros((200, 300), np.int64), "dtype"),
])
def test_niqe_bad_input(bad, msg):
    with pytest.raises(ValueError, match=msg.replace("[", r"\[").replace("]", r"\]")): niqe(bad)

def test_niqe_bad_luma():
    with pytest.raises(ValueError, match="luma"): niqe(np.zeros((200, 200, 3), np.uint8), luma="lab")

def test_missing_file(tmp_path):
    with pytest.raises((FileNotFoundError, ValueError)): niqe(tmp_path/"nope.png")
