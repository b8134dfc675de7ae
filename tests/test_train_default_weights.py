"""The shipped default weights: present as package data, ~320 KB, safe to load, documented, and a working enhancer."""
from pathlib import Path
import torch
from sclle_nb.dcenet import DEFAULT_WEIGHTS, load_dcenet
from sclle_nb.train import _demo_images

def test_default_weights_ship_with_model_card():
    assert DEFAULT_WEIGHTS.exists() and 300_000 < DEFAULT_WEIGHTS.stat().st_size < 340_000
    meta = torch.load(DEFAULT_WEIGHTS, weights_only=True)
    assert meta["format"] == "sclle_nb.dcenet" and "train_default_weights" in meta["recipe"] and meta["step"] > 0
    card = (DEFAULT_WEIGHTS.parent/"MODEL_CARD.md").read_text()
    for word in ("NIQE", "LIME", "Data", "Objective", "steps", "minutes"): assert word in card, word

def test_default_weights_brighten_without_clipping():
    net = load_dcenet("default")
    for _, x in _demo_images(None):
        with torch.no_grad(): y = net(x[None]).enhanced[0]
        assert torch.isfinite(y).all() and 0 <= y.min() and y.max() <= 1
        assert y.mean() > 1.5*x.mean() and (y > 0.99).float().mean() < 0.02
