"""sclle_nb.checkpoint is a leaf module: it returns what torch.load(weights_only=True) returns on good files."""
import ast, warnings
from pathlib import Path
import pytest, torch
from sclle_nb.checkpoint import load_checkpoint, CheckpointError, check_state_dict, unusable_tensor

ROOT = Path(__file__).resolve().parents[1]

@pytest.mark.parametrize("mod", ["checkpoint", "loading"])
def test_leaf_module(mod):
    "Imports no sclle_nb module but `safe`, at module level or inside functions."
    py = ROOT/"sclle_nb"/f"{mod}.py"
    if not py.exists(): pytest.skip(f"{mod}.py not built")
    used = set()
    for n in ast.walk(ast.parse(py.read_text())):
        if isinstance(n, ast.ImportFrom) and (n.level or (n.module or "").startswith("sclle_nb")):
            used.add((n.module or "").removeprefix("sclle_nb").lstrip("."))
        if isinstance(n, ast.Import): used |= {a.name.removeprefix("sclle_nb.") for a in n.names if a.name.startswith("sclle_nb")}
    assert used <= {"safe"}, used

def test_training_checkpoint_round_trip(tmp_path):
    net = torch.nn.Conv2d(3, 4, 3); opt = torch.optim.Adam(net.parameters())
    net(torch.rand(1, 3, 8, 8)).sum().backward(); opt.step()
    torch.save({"step": 7, "model": net.state_dict(), "optimizer": opt.state_dict(), "scaler": None, "rng": torch.get_rng_state()}, tmp_path/"c.pt")
    a, b = load_checkpoint(tmp_path/"c.pt"), torch.load(tmp_path/"c.pt", map_location="cpu", weights_only=True)
    assert a["step"] == 7 and a["optimizer"]["param_groups"] == b["optimizer"]["param_groups"]
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in b["model"])
    assert torch.equal(a["optimizer"]["state"][0]["exp_avg"], b["optimizer"]["state"][0]["exp_avg"])

def test_no_warning_escapes(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.save({"w": torch.eye(3).to_sparse_csr()}, tmp_path/"csr.pth")
        torch.save({"w": torch.quantize_per_tensor(torch.zeros(3), 0.1, 0, torch.quint8)}, tmp_path/"q.pth")
    for f, why in [("csr.pth", "w is a sparse tensor (torch.sparse_csr); weights must be dense"),
                   ("q.pth", "w is a quantized tensor (torch.quint8); weights must be floating point")]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(CheckpointError) as e: load_checkpoint(tmp_path/f)
        assert str(e.value) == f"{tmp_path/f}: {why}"

def test_check_state_dict_integer_buffers_kept():
    "Integer buffers (BatchNorm's num_batches_tracked) are not floating point in the model either: accepted."
    bn = torch.nn.BatchNorm2d(3).state_dict()
    assert check_state_dict(dict(bn), bn, "bn.pth") == bn
    assert unusable_tensor(bn) is None

def test_unreadable_file_says_so(tmp_path, monkeypatch):
    "A file the system refuses to read (permissions) is named as such, not as 'not a checkpoint'."
    torch.save({"w": torch.zeros(2)}, tmp_path/"w.pth")
    def denied(*a, **k): raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(torch, "load", denied)
    with pytest.raises(CheckpointError) as e: load_checkpoint(tmp_path/"w.pth")
    assert str(e.value) == f"{tmp_path/'w.pth'}: cannot read (Permission denied)"
