"""`sclle train` and `sclle demo` end to end, tiny: the real SCL-LLE objective with random VGG16 / DeepLabV3+ on the
embedded data, 32-64 pixel crops, a few steps or seconds; settings refused before any work; stopped by signals."""
import json, os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pytest, torch
from _procs import foreground
from sclle_nb import train as T
from sclle_nb.train_cli import train_cli, demo_cli, train_parser, config_from_args, demo_images
from sclle_nb.objective import ABLATIONS
from sclle_nb.data import HELD_OUT
from sclle_nb.dcenet import load_dcenet

torch.set_num_threads(1)
TINY = ["--crop", "32", "--vgg", "random", "--seg", "random", "--data-opt", "n_scenes=4", "--log-every", "1", "--no-progress"]
ROOT = Path(T.__file__).parents[1]

@pytest.mark.parametrize("mode", ["paper", "official"])
def test_sclle_train_and_resume(tmp_path, mode, capsys):
    out = tmp_path/mode
    assert train_cli(["--mode", mode, "--steps", "2", "--out", str(out), *TINY]) == 0
    assert "step 2" in capsys.readouterr().out
    assert train_cli(["--mode", mode, "--steps", "3", "--out", str(out), "--resume", *TINY]) == 0
    rows = T.read_log(out/"log.csv")
    assert [r["step"] for r in rows] == [1, 2, 3] and all(torch.isfinite(torch.tensor(list(r.values()))).all() for r in rows)
    ck = torch.load(out/"checkpoint.pt", weights_only=True)
    assert ck["step"] == 3 and ck["config"]["mode"] == mode
    load_dcenet(out/"dcenet.pth")                                  # the weights file loads like the authors' checkpoints

def test_config_file_and_flags(tmp_path):
    cfg = tmp_path/"run.json"
    cfg.write_text(json.dumps({"mode": "official", "steps": 100, "lr": 1e-3, "ablate": ["L_fr"], "data": {"neg_kinds": "under"}}))
    args = train_parser().parse_args(["--config", str(cfg), "--steps", "7", "--data-opt", "dark_ev=-3", "--weight", "cont=2"])
    c = config_from_args(args)
    assert (c.mode, c.steps, c.lr, c.ablate, c.weights) == ("official", 7, 1e-3, ("L_fr",), {"cont": 2})
    assert c.data == {"neg_kinds": "under", "dark_ev": -3}

def test_help_lists_the_ablations(capsys):
    with pytest.raises(SystemExit): train_cli(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in ABLATIONS)

@pytest.mark.parametrize("bad, words", [(["--ablate", "contrastive"], ["contrastive", *ABLATIONS]),
                                        (["--ablate", "L_c,semantic"], ["semantic"]),
                                        (["--precision", "fp16", "--device", "cpu"], ["fp16 needs a CUDA GPU"]),
                                        (["--weight", "nope=1"], ["nope"]),
                                        (["--data-opt", "n_scene=3"], ["n_scene"]),
                                        (["--steps", "0"], ["steps"])])
def test_bad_settings_fail_at_once_without_output(tmp_path, capsys, bad, words):
    out = tmp_path/"o"
    assert train_cli(["--out", str(out), *TINY, *bad]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and all(w in err for w in words), err
    assert not out.exists()                                         # no output folder left behind

def test_cli_errors(tmp_path, capsys):
    (tmp_path/"bad.pt").write_bytes(b"not a checkpoint")
    assert train_cli(["--out", str(tmp_path/"o"), "--resume", str(tmp_path/"bad.pt"), *TINY]) == 1
    assert "bad.pt" in capsys.readouterr().err and not (tmp_path/"o").exists()
    assert demo_cli(["--out", str(tmp_path/"d"), "--images", str(tmp_path/"missing.png")]) == 1
    assert "missing.png" in capsys.readouterr().err and not (tmp_path/"d").exists()

def test_demo_short(tmp_path, capsys):
    out = tmp_path/"demo"
    assert demo_cli(["--out", str(out), "--minutes", "0.05", "--steps", "3", "--crop", "32", "--no-progress"]) == 0
    for f in ("before_after.png", "losses.png", "log.csv", "dcenet.pth"): assert (out/f).stat().st_size > 0, f
    said = capsys.readouterr().out
    assert "wrote" in said and all(name in said for name in HELD_OUT)   # it says which photos it enhanced
    assert not list(out.glob(".sclle-*"))

def test_demo_images_are_held_out():
    imgs = demo_images()
    assert [n.split(" ")[0] for n, _ in imgs] == list(HELD_OUT) and all(x.mean() < 0.2 for _, x in imgs)

SCRIPT = textwrap.dedent('''
    import sys, time, pathlib
    sys.path.insert(0, {root!r})
    import torch; torch.set_num_threads(1)
    from sclle_nb import train as T
    from sclle_nb.train_cli import train_cli
    out, n = pathlib.Path(sys.argv[1]), [0]
    def hold(tmp, path):                 # the second checkpoint stalls between its write and its rename
        n[0] += 1
        if n[0] == 2: (out/"IN_SAVE").write_text(str(tmp)); time.sleep(120)
    T._BEFORE_REPLACE = hold
    sys.exit(train_cli(["--steps", "9", "--ckpt-every", "2", "--out", str(out), *{tiny!r}]))
''')

@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_signal_leaves_no_temporary_file_and_keeps_the_checkpoint(tmp_path, sig):
    out = tmp_path/"run"; out.mkdir()
    tiny = ["--crop", "32", "--vgg", "random", "--data-opt", "n_scenes=4", "--log-every", "1", "--no-progress"]
    p = subprocess.Popen([sys.executable, "-c", SCRIPT.format(root=str(ROOT), tiny=tiny), str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=foreground)
    try:
        t0 = time.time()
        while not (out/"IN_SAVE").exists():
            assert p.poll() is None, p.communicate()[1][-2000:]
            assert time.time() - t0 < 240, "the run never reached its second checkpoint"
            time.sleep(0.2)
        p.send_signal(getattr(signal, sig)); _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None: p.kill()
    assert p.returncode == 128 + getattr(signal, sig), err[-2000:]
    assert f"stopped by {sig} at step 4" in err and "step 2) is kept" in err and "Traceback" not in err, err[-2000:]
    assert not Path((out/"IN_SAVE").read_text()).exists() and not list(out.glob(".sclle-*"))
    assert torch.load(out/"checkpoint.pt", weights_only=True)["step"] == 2
    assert train_cli(["--steps", "4", "--ckpt-every", "2", "--out", str(out), "--resume", *tiny]) == 0
    assert torch.load(out/"checkpoint.pt", weights_only=True)["step"] == 4
