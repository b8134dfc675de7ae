"""The shipped default weights: present as package data, ~320 KB, safe to load, documented, made by the recipe, and a working enhancer."""
import torch
from sclle_nb.dcenet import DEFAULT_WEIGHTS, load_dcenet
from sclle_nb.defaults import RECIPE, proxy_photos, train_default_weights

def test_default_weights_ship_with_model_card():
    assert DEFAULT_WEIGHTS.exists() and 300_000 < DEFAULT_WEIGHTS.stat().st_size < 340_000
    meta = torch.load(DEFAULT_WEIGHTS, weights_only=True)
    assert meta["format"] == "sclle_nb.dcenet" and "train_default_weights" in meta["recipe"] and meta["step"] > 0
    assert meta["recipe"] == f"train_default_weights(seed=2022, **{RECIPE})" and meta["step"] == RECIPE["steps"]  # the recipe, as is
    card = (DEFAULT_WEIGHTS.parent/"MODEL_CARD.md").read_text()
    for word in ("NIQE", "LIME", "Data", "Objective", "steps", "minutes", "colour", "hue_loss"): assert word in card, word

def test_default_weights_brighten_without_clipping():
    net = load_dcenet("default")
    for _, a in proxy_photos():
        x = torch.from_numpy(a).permute(2, 0, 1).float()/255
        with torch.no_grad(): y = net(x[None]).enhanced[0]
        assert torch.isfinite(y).all() and 0 <= y.min() and y.max() <= 1
        assert y.mean() > 1.5*x.mean() and (y > 0.99).float().mean() < 0.02

def test_recipe_runs_and_resumes(tmp_path):
    tiny = dict(crop=32, batch=2, steps=3, streets=0)
    a = train_default_weights(tmp_path/"a", progress=False, log_every=1, **tiny)
    train_default_weights(tmp_path/"b", progress=False, log_every=1, **(tiny | dict(steps=1)))
    b = train_default_weights(tmp_path/"b", progress=False, log_every=1, **tiny)
    assert a.step == b.step == 3 and [h["step"] for h in b.history] == [1, 2, 3]
    assert all(torch.equal(v, w) for v, w in zip(a.model.state_dict().values(), b.model.state_dict().values()))
    assert sorted(p.name for p in (tmp_path/"a").iterdir()) == ["checkpoint.pt", "dcenet.pth"]
    assert set(RECIPE) >= {"E", "w_hue", "w_col", "warm", "steps"}
