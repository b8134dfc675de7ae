"""Data readers on small fixture folders in the official layouts, built at run time (lesson 06_data)."""
import warnings
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image
from sclle_nb.data import (ContrastPool, CityscapesDataset, ImageFolderDataset, DataConfig, get_dataloaders,
                           list_images, street_scene)
from sclle_nb.cityscapes import LABELS
from sclle_nb.exposure import expose

TRAIN_TO_ID = np.zeros(256, np.uint8)
for l in reversed(LABELS):
    if l.train_id != 255 and l.id >= 0: TRAIN_TO_ID[l.train_id] = l.id

def photo(k, h=48, w=64):
    "A small deterministic 'photo': smooth gradients plus noise."
    rng = np.random.default_rng(k)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([x, y, (x + y) / 2], -1) * rng.uniform(0.5, 1, 3) + rng.normal(0, 0.05, (h, w, 3))
    return (np.clip(base, 0, 1) * 255).astype(np.uint8)

def save(a, p):
    p.parent.mkdir(parents=True, exist_ok=True); Image.fromarray(a).save(p)

@pytest.fixture
def sice(tmp_path):
    "SICE-derived layout: normal/ under/ over/ with mixed file types."
    for j, ext in enumerate(["png", "jpg", "bmp"]):
        save(photo(j), tmp_path/"normal"/f"{j}.{ext}")
        save(expose(photo(j), -3, seed=j), tmp_path/"under"/f"{j}.{ext}")
        save(expose(photo(j), 2, seed=j), tmp_path/"over"/f"{j}.{ext}")
    return tmp_path

@pytest.fixture
def cityscapes(tmp_path):
    "Cityscapes layout with two cities, street scenes as images, label ids (not train ids) as labels."
    scenes = {}
    for k, city in enumerate(["aachen", "bochum", "bochum"]):
        img, lab = street_scene(k, (64, 128))
        stem = f"{city}_{k:06d}_000019"
        save(img, tmp_path/"leftImg8bit"/"train"/city/f"{stem}_leftImg8bit.png")
        save(TRAIN_TO_ID[lab], tmp_path/"gtFine"/"train"/city/f"{stem}_gtFine_labelIds.png")
        scenes[stem] = (img, lab)
    return tmp_path, scenes

def test_sice_layout(sice):
    pool = ContrastPool.from_root(sice, size=32)
    assert pool.counts() == {"positives": 3, "under": 3, "over": 3} and pool.kinds == ("under", "over")
    d = pool.draw(2, torch.Generator().manual_seed(0))
    assert d["positives"].shape == (2, 3, 32, 32) and d["negatives"].shape == (4, 3, 32, 32)
    assert d["neg_kinds"] == ["under", "under", "over", "over"]
    assert d["positives"].dtype == torch.float32 and 0 <= d["negatives"].min() <= d["negatives"].max() <= 1
    neg = d["negatives"].view(2, 2, 3, 32, 32)
    assert neg[0].mean() < neg[1].mean()
    assert ContrastPool.from_root(sice, size=32, neg_kinds="under").kinds == ("under",)
    assert ContrastPool.from_root(sice, size=32, neg_kinds="over").draw(3, torch.Generator())["negatives"].shape == (3, 3, 32, 32)

def test_authors_layout(tmp_path):
    for j in range(3):
        save(photo(j), tmp_path/"Contrast"/"GT"/f"{j}.png")
        save(expose(photo(j), -3, seed=j), tmp_path/"Contrast"/"low"/f"{j}.jpg")
    with pytest.warns(UserWarning, match="no over negatives"):
        pool = ContrastPool.from_root(tmp_path, size=16)
    assert pool.kinds == ("under",) and pool.counts() == {"positives": 3, "under": 3}
    assert ContrastPool.from_root(tmp_path/"Contrast", size=16, neg_kinds="under").counts()["under"] == 3   # root = Contrast/
    with pytest.raises(ValueError, match="no negatives of kind over"): ContrastPool.from_root(tmp_path, neg_kinds="over")
    d = pool.draw(2, torch.Generator().manual_seed(1), per_kind=False)
    assert d["negatives"].shape == (2, 3, 16, 16) and d["neg_kinds"] == ["under", "under"]

def test_draws_deterministic(sice):
    pool = ContrastPool.from_root(sice, size=16)
    a, b = (pool.draw(2, torch.Generator().manual_seed(5)) for _ in range(2))
    assert torch.equal(a["positives"], b["positives"]) and torch.equal(a["negatives"], b["negatives"])
    draws = {tuple(pool.draw(1, torch.Generator().manual_seed(s))["positives"].flatten()[:8].tolist()) for s in range(20)}
    assert len(draws) == 3                                  # every positive is drawn at some seed
    lazy = ContrastPool.from_root(sice, size=16, cache=False)
    assert not lazy.cached
    c = lazy.draw(2, torch.Generator().manual_seed(5))
    assert torch.equal(c["positives"], a["positives"]) and torch.equal(c["negatives"], a["negatives"])

def test_empty_and_missing_folders(tmp_path):
    (tmp_path/"normal").mkdir(); (tmp_path/"under").mkdir()
    with pytest.raises(ValueError, match="no images found"): ContrastPool.from_root(tmp_path)
    with pytest.raises(ValueError, match="folder not found"): ContrastPool.from_root(tmp_path/"nope")
    with pytest.raises(ValueError, match="not a contrast root"): ContrastPool.from_root(tmp_path/"normal")
    with pytest.raises(ValueError, match="no images found"): ImageFolderDataset(tmp_path/"under")
    with pytest.raises(ValueError, match="no leftImg8bit/train/"): CityscapesDataset(tmp_path)
    with pytest.raises(ValueError, match="folder not found"): get_dataloaders(DataConfig(data=str(tmp_path/"nope")))
    with pytest.raises(ValueError, match="neg_kinds"): ContrastPool.from_root(tmp_path, neg_kinds="sideways")

def test_unreadable_skipped_counted_reported(sice):
    (sice/"under"/"broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (sice/"over"/"empty.jpg").write_bytes(b"")
    (sice/"over"/"notes.txt").write_text("not an image type: ignored, not counted")
    with pytest.warns(UserWarning, match=r"skipped 2 unreadable image\(s\)") as rec:
        pool = ContrastPool.from_root(sice, size=16)
    msg = str(rec[0].message)
    assert "broken.png" in msg and "empty.jpg" in msg
    assert len(pool.skipped) == 2 and pool.counts() == {"positives": 3, "under": 3, "over": 3}
    # all files of a group unreadable: an error, not an empty pool
    for p in (sice/"normal").iterdir(): p.write_bytes(b"junk")
    with pytest.raises(ValueError, match="none of the 3 positives images could be read"), warnings.catch_warnings():
        warnings.simplefilter("ignore"); ContrastPool.from_root(sice, size=16)

def test_unreadable_lazy_pool(sice):
    (sice/"under"/"broken.png").write_bytes(b"junk")
    pool = ContrastPool.from_root(sice, size=16, cache=False)
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        for s in range(10): pool.draw(4, torch.Generator().manual_seed(s))
    assert len(pool.skipped) == 1 and pool.counts()["under"] == 3

def test_image_folder(tmp_path):
    for j in range(3): save(photo(j, 40, 30), tmp_path/"sub"/f"{j}.png")   # smaller than the crop: enlarged
    (tmp_path/"bad.jpg").write_bytes(b"junk")
    with pytest.warns(UserWarning, match="skipped 1 of 4"):
        ds = ImageFolderDataset(tmp_path, crop=48)
    assert len(ds) == 3 and len(ds.skipped) == 1
    it = ds[(0, 3)]
    assert it["low"].shape == (3, 48, 48) and it["labels"].shape == (48, 48) and (it["labels"] == 255).all()
    assert "normal" not in it
    dk = ImageFolderDataset(tmp_path/"sub", crop=24, dark_ev=(-3, -2))
    it = dk[1]
    assert it["low"].mean() < it["normal"].mean() and torch.equal(dk[1]["low"], it["low"])

def test_cityscapes_layout(cityscapes):
    root, scenes = cityscapes
    ds = CityscapesDataset(root, crop=48)
    assert len(ds) == 3
    for k, f in enumerate(ds.files):
        img, lab = ds.load(k)
        stem = f.name.replace("_leftImg8bit.png", "")
        assert np.array_equal(img, scenes[stem][0]) and np.array_equal(lab, scenes[stem][1])   # ids -> train ids exactly
    for s in range(4):
        it = ds[(s % 3, s)]
        assert it["low"].shape == (3, 48, 48) and it["labels"].dtype == torch.long
        assert set(it["labels"].unique().tolist()) <= set(range(19)) | {255}
    dark = CityscapesDataset(root, crop=48, dark_ev=-3)
    it = dark[(0, 1)]
    assert it["low"].mean() < 0.6 * it["normal"].mean()
    assert torch.equal(it["labels"], ds[(0, 1)]["labels"])   # darkening does not move the crop

def test_cityscapes_joint_crop_flip(cityscapes):
    "The returned labels are the labels of the returned pixels: find the crop in the scene, compare."
    root, scenes = cityscapes
    ds = CityscapesDataset(root, crop=32)
    img, lab = ds.load(0)
    for s in range(6):
        it = ds[(0, s)]
        ci = (it["low"].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        hits = [(y, x, f) for y in range(64 - 31) for x in range(128 - 31) for f in (1, -1)
                if np.array_equal(img[y:y+32, x:x+32][:, ::f], ci)]
        assert hits
        y, x, f = hits[0]
        assert np.array_equal(it["labels"].numpy(), lab[y:y+32, x:x+32][:, ::f])

def test_cityscapes_problems(cityscapes):
    root, _ = cityscapes
    lbl = next((root/"gtFine"/"train"/"aachen").glob("*_labelIds.png"))
    lbl.unlink()
    with pytest.raises(ValueError, match="1 of 3 images have no label file"): CityscapesDataset(root)
    Image.fromarray(np.zeros((64, 128, 3), np.uint8)).save(lbl)          # an RGB "label" file
    ds = CityscapesDataset(root, cache=False)
    k = [i for i, f in enumerate(ds.label_files) if f == lbl][0]
    with pytest.raises(ValueError, match="single-channel"): ds.load(k)

def test_list_images_types(tmp_path):
    for ext in ["png", "JPG", "jpeg", "tif", "webp", "bmp"]: save(photo(0, 8, 8), tmp_path/f"a_{ext}.{ext}")
    (tmp_path/"readme.md").write_text("x")
    assert len(list_images(tmp_path)) == 6

def test_decoding_threads_keep_the_warning_filters(tmp_path):
    "Readers decode in threads that silence warnings; the caller's filters survive and the skipped file is reported."
    for kind in ("normal", "under", "over"):
        for j in range(8): save(photo(j, 256, 320), tmp_path/kind/f"{j}.jpg")
    (tmp_path/"over"/"broken.png").write_bytes(b"not a png")
    for _ in range(4):
        before = list(warnings.filters)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            pool = ContrastPool.from_root(tmp_path, size=32, threads=4)
            assert warnings.filters[0][0] == "always"              # still the caller's filters after the threads
        assert pool.skipped and any("broken.png" in str(w.message) for w in rec)
        assert list(warnings.filters) == before
