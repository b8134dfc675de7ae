"""`sclle train` and `sclle demo` end to end, tiny: the real SCL-LLE objective with random VGG16 / DeepLabV3+ on the
embedded data, 32-64 pixel crops, a few steps or seconds."""
import json
from pathlib import Path
import pytest, torch
from sclle_nb import train as T
from sclle_nb.cli import main
from sclle_nb.dcenet import load_dcenet

torch.set_num_threads(1)
TINY = ["--crop", "32", "--vgg", "random", "--seg", "random", "--log-every", "1", "--no-progress"]

@pytest.mark.parametrize("mode", ["paper", "official"])
def test_sclle_train_and_resume(tmp_path, mode, capsys):
    out = tmp_path/mode
    assert main(["train", "--mode", mode, "--steps", "2", "--out", str(out), *TINY]) == 0
    assert "step 2" in capsys.readouterr().out
    assert main(["train", "--mode", mode, "--steps", "3", "--out", str(out), "--resume", *TINY]) == 0
    rows = T.read_log(out/"log.csv")
    assert [r["step"] for r in rows] == [1, 2, 3] and all(torch.isfinite(torch.tensor(list(r.values()))).all() for r in rows)
    ck = torch.load(out/"checkpoint.pt", weights_only=True)
    assert ck["step"] == 3 and ck["config"]["mode"] == mode
    load_dcenet(out/"dcenet.pth")                                  # the weights file loads like the authors' checkpoints

def test_config_file_and_flags(tmp_path):
    cfg = tmp_path/"run.json"
    cfg.write_text(json.dumps({"mode": "official", "steps": 100, "lr": 1e-3, "ablate": ["L_fr"], "data": {"neg_kinds": "under"}}))
    args = T.train_parser().parse_args(["--config", str(cfg), "--steps", "7", "--data-opt", "dark_ev=-3", "--weight", "cont=2"])
    c = T.config_from_args(args)
    assert (c.mode, c.steps, c.lr, c.ablate, c.weights) == ("official", 7, 1e-3, ("L_fr",), {"cont": 2})
    assert c.data == {"neg_kinds": "under", "dark_ev": -3}

def test_cli_errors(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path/"o"), "--precision", "fp16", "--device", "cpu", *TINY]) == 1
    assert "fp16 needs a CUDA GPU" in capsys.readouterr().err
    (tmp_path/"bad.pt").write_bytes(b"not a checkpoint")
    assert main(["train", "--out", str(tmp_path/"o"), "--resume", str(tmp_path/"bad.pt"), *TINY]) == 1
    assert "bad.pt" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path/"o"), "--weight", "nope=1", *TINY]) == 1
    assert "nope" in capsys.readouterr().err
    assert main(["demo", "--out", str(tmp_path/"d"), "--images", str(tmp_path/"missing.png")]) == 1
    assert "missing.png" in capsys.readouterr().err

def test_demo_short(tmp_path, capsys):
    out = tmp_path/"demo"
    assert main(["demo", "--out", str(out), "--minutes", "0.05", "--steps", "3", "--crop", "32", "--no-progress"]) == 0
    for f in ("before_after.png", "losses.png", "log.csv", "dcenet.pth"): assert (out/f).stat().st_size > 0, f
    assert "wrote" in capsys.readouterr().out
