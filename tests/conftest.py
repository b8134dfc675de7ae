"""Shared pytest fixtures: the optional reference-data folder, found by the library's one helper."""
import os
# nothing in the tests downloads: weights not in the cache end in the one-line message (or random weights, by name)
os.environ.setdefault("SCLLE_OFFLINE", "1")
from pathlib import Path
import pytest
from sclle_nb.refdata import ref_dir, ENV

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(scope="session")
def shared():
    "The reference-data folder (real photos, released checkpoints, fixtures); skips the test without it."
    p = ref_dir()
    if p is None:
        # in CI the folder must be there: a skip there would hide a failing conformance test
        if os.environ.get("CI") or os.environ.get("SCLLE_REQUIRE_REFDATA"):
            pytest.fail(f"reference-data folder not found (set ${ENV}); CI must run the conformance tests")
        pytest.skip(f"reference-data folder not found beside this checkout (set ${ENV}): test skipped")
    return p

@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    "An empty torch home for this test: $TORCH_HOME set, and torch.hub.get_dir() following it (undoing any set_dir)."
    import torch.hub
    monkeypatch.setenv("TORCH_HOME", str(tmp_path/"torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)   # set_dir elsewhere would make get_dir ignore $TORCH_HOME
    return tmp_path/"torch"
