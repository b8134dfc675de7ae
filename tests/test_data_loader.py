"""get_dataloaders: embedded default, worker processes, determinism, DDP sharding (lesson 06_data)."""
import numpy as np
import pytest
import torch
from sclle_nb.data import DataConfig, get_dataloaders, EpochSampler, EmbeddedStreets, embedded_pool, street_scene

SMALL = dict(crop=64, n_scenes=4, scene_size=(64, 128))

def batches(**kw):
    loader, pool = get_dataloaders(DataConfig(**{**SMALL, **kw}))
    return list(loader), pool

def test_embedded_batches():
    bs, pool = batches()
    assert len(bs) == 2
    for b in bs:
        assert b["low"].shape == (2, 3, 64, 64) and b["low"].dtype == torch.float32
        assert b["labels"].shape == (2, 64, 64) and b["labels"].dtype == torch.long
        assert b["normal"].shape == (2, 3, 64, 64)
        assert 0 <= b["low"].min() and b["low"].max() <= 1 and b["low"].mean() < b["normal"].mean()
        assert set(b["labels"].unique().tolist()) <= set(range(19)) | {255}
    d = pool.draw(2, torch.Generator().manual_seed(0))
    assert d["positives"].shape == (2, 3, 64, 64) and d["negatives"].shape == (4, 3, 64, 64)
    assert pool.counts() == {"positives": 4, "under": 12, "over": 12}

def test_workers_match_main_process():
    b0, _ = batches(num_workers=0)
    b2, _ = batches(num_workers=2)
    for x, y in zip(b0, b2):
        assert torch.equal(x["low"], y["low"]) and torch.equal(x["labels"], y["labels"])

def test_seed_and_epochs():
    loader, _ = get_dataloaders(DataConfig(**SMALL, seed=3))
    e0, e1 = list(loader), list(loader)
    assert not torch.equal(e0[0]["low"], e1[0]["low"])           # a new epoch, new crops
    loader.sampler.set_epoch(0)
    assert torch.equal(list(loader)[0]["low"], e0[0]["low"])       # set_epoch reproduces an epoch
    other, _ = batches(seed=4)
    assert not torch.equal(other[0]["low"], e0[0]["low"])

def test_ddp_sharding():
    n = 4
    parts = [list(get_dataloaders(DataConfig(**SMALL, batch_size=1), rank=r, world_size=2)[0]) for r in range(2)]
    assert [len(p) for p in parts] == [2, 2]
    seen = {tuple(b["labels"].flatten()[::97].tolist()) for p in parts for b in p}
    assert len(seen) == n
    with pytest.raises(ValueError, match="rank"): EpochSampler(4, rank=2, world_size=2)

def test_too_few_images_and_bad_options():
    with pytest.raises(ValueError, match="fewer than batch_size"): get_dataloaders(DataConfig(**{**SMALL, "n_scenes": 1}))
    with pytest.raises(ValueError, match="dark_ev"): get_dataloaders(DataConfig(**SMALL, dark_ev=1.0))
    with pytest.raises(ValueError, match="batch_size"): get_dataloaders(DataConfig(**SMALL, batch_size=0))

def test_dark_ev_from_command_line_strings():
    b, _ = batches(dark_ev="-2")
    c, _ = batches(dark_ev="-5,-4")
    assert c[0]["low"].mean() < b[0]["low"].mean()

def test_embedded_deterministic():
    a = street_scene(11, (48, 96)); b = street_scene(11, (48, 96))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    p1, p2 = embedded_pool(32, seed=1), embedded_pool(32, seed=1)
    d1, d2 = (p.draw(3, torch.Generator().manual_seed(2)) for p in (p1, p2))
    assert torch.equal(d1["negatives"], d2["negatives"])
    s = EmbeddedStreets(2, (48, 96), crop=32, seed=5)
    assert torch.equal(s[(1, 9)]["low"], EmbeddedStreets(2, (48, 96), crop=32, seed=5)[(1, 9)]["low"])

def test_held_out_photos_are_never_training_data():
    from sclle_nb.data import HELD_OUT, EMBEDDED_PHOTOS, held_out_photos
    assert HELD_OUT and not set(HELD_OUT) & set(EMBEDDED_PHOTOS)
    got = held_out_photos()
    assert [n for n, _ in got] == list(HELD_OUT)
    assert all(a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 for _, a in got)

def test_street_scenes_are_pinned():
    "The same seed draws the same scene as when the embedded data set was made (checksums of image and labels)."
    import hashlib
    from sclle_nb.street import street_scene as street
    assert street is street_scene
    for (seed, size), h in {(11, (48, 96)): "7e361b7b9676c1b5", (0, 64): "da649c53ede100b2"}.items():
        im, lb = street(seed, size)
        assert hashlib.sha256(im.tobytes() + lb.tobytes()).hexdigest()[:16] == h
