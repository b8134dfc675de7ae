"""Nothing a user owns is lost: every command that writes (export, train, demo, evaluate, default-weights), run as a real
`sclle` process, leaves every file it must not touch byte for byte and permission for permission as it was (sha256 and
mode of every file before and after), and says why in one line; `--overwrite` replaces only what it may, keeping the
mode. Bad weights, devices and options are one line naming the file or option, never a traceback or a raw warning."""
import hashlib, os, stat, subprocess, sys, warnings
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image
from sclle_nb.dcenet import DCENet, load_dcenet, save_dcenet

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--crop", "32", "--vgg", "random", "--seg", "none", "--data-opt", "n_scenes=4", "--log-every", "1", "--no-progress"]

def sclle(*args, cwd=None, env=None):
    "Run `python -m sclle_nb ARGS` as a user would: (exit code, stdout, stderr)."
    e = {**os.environ, "SCLLE_OFFLINE": "1", **(env or {})}
    r = subprocess.run([sys.executable, "-m", "sclle_nb", *map(str, args)], capture_output=True, text=True, cwd=cwd or ROOT,
                       env=e, timeout=600)
    return r.returncode, r.stdout, r.stderr

def snapshot(d:Path)->dict:
    "Every entry under `d`: sha256 and permission bits of files, the target of links."
    out = {}
    for p in sorted(d.rglob("*")):
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode): out[str(p.relative_to(d))] = ("link", os.readlink(p))
        elif stat.S_ISREG(st.st_mode): out[str(p.relative_to(d))] = (hashlib.sha256(p.read_bytes()).hexdigest(), stat.S_IMODE(st.st_mode))
    return out

def one_line(err:str, *words):
    "stderr is one error line (progress and warnings aside), naming `words`, with no traceback."
    assert "Traceback" not in err and "Warning:" not in err, err
    lines = [l for l in err.splitlines() if "error" in l or l.startswith("sclle")]
    assert len(lines) >= 1 and all(w in err for w in map(str, words)), err

def photo(p:Path, size=(48, 64), value=None)->Path:
    a = np.random.default_rng(0).integers(0, 255, (*size, 3), dtype=np.uint8) if value is None else np.full((*size, 3), value, np.uint8)
    Image.fromarray(a).save(p); return p

@pytest.fixture
def weights(tmp_path)->Path:
    return save_dcenet(load_dcenet("random", seed=3), tmp_path/"w.pth")

def bad_checkpoints(d:Path)->list[Path]:
    "Meta-device, sparse and complex tensors, a TorchScript archive: torch fails on them with tracebacks or raw warnings."
    sd = DCENet().state_dict()
    torch.save({k: v.to("meta") for k, v in sd.items()}, d/"meta.pth")
    torch.save({k: v.to_sparse() for k, v in sd.items()}, d/"sparse.pth")
    torch.save({k: v.to(torch.complex64) for k, v in sd.items()}, d/"complex.pth")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore"); torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), d/"script.pth")
    return [d/"meta.pth", d/"sparse.pth", d/"complex.pth", d/"script.pth"]

# ---- sclle export -------------------------------------------------------------------------------------------------
def test_export_never_writes_over_a_photo_its_weights_a_link_or_a_device(tmp_path, weights):
    pytest.importorskip("onnx")
    img = photo(tmp_path/"photo.jpg"); (tmp_path/"link.onnx").symlink_to(img)
    before = snapshot(tmp_path)
    for out, extra, why in [(img, [], "already exists"), (weights, ["--overwrite"], "also an input"),
                            (tmp_path/"link.onnx", ["--overwrite"], "symbolic link"), ("/dev/null", ["--overwrite"], "character device")]:
        rc, _, err = sclle("export", "-o", out, "--weights", weights, *extra)
        assert rc == 2, err; one_line(err, why)
    assert snapshot(tmp_path) == before

def test_export_overwrite_keeps_the_mode(tmp_path, weights):
    pytest.importorskip("onnx")
    out = tmp_path/"m.onnx"; out.write_bytes(b"old"); out.chmod(0o640)
    rc, _, err = sclle("export", "-o", out, "--weights", weights, "--overwrite")
    assert rc == 0, err
    assert out.stat().st_size > 1000 and stat.S_IMODE(out.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "w.pth"]          # no temporary file left

def test_export_bad_checkpoints_are_one_line(tmp_path, capsys):
    pytest.importorskip("onnx")
    from sclle_nb.export import export_cli
    for ck in bad_checkpoints(tmp_path):
        assert export_cli(["-o", str(tmp_path/"x.onnx"), "--weights", str(ck)]) == 2
        one_line(capsys.readouterr().err, ck.name)
    assert not (tmp_path/"x.onnx").exists()

# ---- sclle train ---------------------------------------------------------------------------------------------------
def test_train_refuses_an_earlier_run_and_overwrite_starts_clean(tmp_path):
    from sclle_nb.train_cli import train_cli
    out = tmp_path/"run"
    assert train_cli(["--steps", "2", "--out", str(out), *TINY]) == 0                    # an earlier run (made in-process: faster)
    before = snapshot(tmp_path)
    rc, _, err = sclle("train", "--steps", "2", "--out", out, *TINY)                    # no --resume, no --overwrite
    assert rc == 1; one_line(err, "earlier run", "--resume", "--overwrite")
    rc, _, err = sclle("train", "--steps", "2", "--out", out, "--overwrite", "--init", out/"dcenet.pth", *TINY)
    assert rc == 1; one_line(err, "also an input")                                       # its own --init: never
    assert snapshot(tmp_path) == before
    (out/"log.csv").chmod(0o640); (out/"checkpoint.pt").chmod(0o600)
    rc, _, err = sclle("train", "--steps", "3", "--out", out, "--overwrite", *TINY)
    assert rc == 0, err
    log = (out/"log.csv").read_text().splitlines()
    assert [l.split(",")[0] for l in log] == ["step", "1", "2", "3"]                       # one run's rows, once each
    assert stat.S_IMODE((out/"log.csv").stat().st_mode) == 0o640 and stat.S_IMODE((out/"checkpoint.pt").stat().st_mode) == 0o600
    assert train_cli(["--steps", "4", "--out", str(out), "--resume", *TINY]) == 0        # --resume continues it
    assert [l.split(",")[0] for l in (out/"log.csv").read_text().splitlines()] == ["step", "1", "2", "3", "4"]

def test_train_never_writes_through_a_link(tmp_path):
    out = tmp_path/"run"; out.mkdir(); mine = tmp_path/"notes.csv"; mine.write_text("my notes")
    (out/"log.csv").symlink_to(mine); before = snapshot(tmp_path)
    rc, _, err = sclle("train", "--steps", "1", "--out", out, "--overwrite", *TINY)
    assert rc == 1; one_line(err, "symbolic link")
    assert snapshot(tmp_path) == before

def test_train_resume_with_changed_settings_warns_in_one_line(tmp_path, capsys):
    from sclle_nb.train_cli import train_cli
    out = str(tmp_path/"run")
    assert train_cli(["--steps", "1", "--out", out, *TINY]) == 0
    capsys.readouterr()
    assert train_cli(["--steps", "2", "--out", out, "--resume", "--lr", "0.001", *TINY]) == 0
    err = capsys.readouterr().err
    assert "sclle train: warning:" in err and "different settings" in err and "warnings.warn" not in err and "UserWarning" not in err

@pytest.mark.parametrize("dev", ["meta", "xpu", "mps", "cuda:7"])
def test_train_bad_device_names_the_option(tmp_path, dev, capsys):
    from sclle_nb.train_cli import train_cli, demo_cli
    if dev == "mps" and torch.backends.mps.is_available(): pytest.skip("this machine has MPS")
    if dev == "cuda:7" and torch.cuda.device_count() > 7: pytest.skip("this machine has 8 GPUs")
    assert train_cli(["--steps", "1", "--out", str(tmp_path/"o"), "--device", dev, *TINY]) == 1
    assert demo_cli(["--steps", "1", "--out", str(tmp_path/"o"), "--device", dev]) == 1
    err = capsys.readouterr().err
    one_line(err, f"--device {dev}"); assert "weights" not in err and err.count(f"--device {dev}") == 2
    assert not (tmp_path/"o").exists()

def test_train_bad_data_option_names_it(tmp_path, capsys):
    from sclle_nb.train_cli import train_cli
    assert train_cli(["--steps", "1", "--out", str(tmp_path/"o"), *TINY, "--data-opt", "dark_ev=abc"]) == 1
    one_line(capsys.readouterr().err, "--data-opt dark_ev=abc")

def test_train_offline_without_vgg16_is_one_line(tmp_path, torch_home, monkeypatch, capsys):
    from sclle_nb.train_cli import train_cli
    monkeypatch.delenv("SCLLE_OFFLINE", raising=False)                  # --offline alone must keep it from downloading
    assert train_cli(["--steps", "1", "--out", str(tmp_path/"o"), "--crop", "32", "--seg", "none", "--offline", "--no-progress"]) == 1
    err = capsys.readouterr().err
    one_line(err, "VGG16", str(torch_home)); assert len(err.strip().splitlines()) == 1
    assert "SCLLE_OFFLINE" not in os.environ                             # set for the run only

def test_train_skipping_broken_files_warns_in_one_line(tmp_path, capsys):
    from sclle_nb.train_cli import train_cli
    (tmp_path/"data").mkdir()
    for i in range(3): photo(tmp_path/"data"/f"{i}.png", size=(40, 40))
    (tmp_path/"data"/"broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert train_cli(["--steps", "1", "--out", str(tmp_path/"o"), "--data", str(tmp_path/"data"), "--batch", "1", *TINY]) == 0
    err = capsys.readouterr().err
    assert "sclle train: warning:" in err and "broken.png" in err and "warnings.warn" not in err and "UserWarning" not in err, err

def test_train_help_says_where_deeplab_comes_from():
    from sclle_nb.train_cli import train_parser
    out = train_parser().format_help()
    assert "SCLLE_DEEPLAB" in out and "best_deeplabv3plus_mobilenet_cityscapes_os16" in out.replace("\n", "") \
        and "--offline" in out and "--overwrite" in out

def test_demo_refuses_an_earlier_demo(tmp_path):
    out = tmp_path/"demo"; out.mkdir(); photo(out/"before_after.png"); before = snapshot(tmp_path)
    rc, _, err = sclle("demo", "--out", out, "--steps", "1", "--no-progress")
    assert rc == 1; one_line(err, "earlier run", "before_after.png")
    assert snapshot(tmp_path) == before

# ---- sclle evaluate ------------------------------------------------------------------------------------------------
@pytest.fixture
def album(tmp_path)->Path:
    (tmp_path/"low").mkdir(); (tmp_path/"ref").mkdir()
    for n in ("a", "b"): photo(tmp_path/"low"/f"{n}.png", value=40 + 10*len(n)); photo(tmp_path/"ref"/f"{n}.png", value=120)
    return tmp_path

def test_evaluate_never_writes_over_an_input_and_one_path_is_one_table(album, weights):
    shutil_copy = (album/"t.csv"); shutil_copy.write_text("mine"); shutil_copy.chmod(0o444)
    before = snapshot(album)
    for args, words in [(["--csv", album/"low"/"a.png"], ["a.png", "input"]), (["--csv", weights], ["w.pth", "input"]),
                        (["--markdown", album/"ref"/"b.png", "--overwrite"], ["b.png", "input"]),
                        (["--csv", album/"x.txt", "--markdown", album/"x.txt"], ["--csv", "--markdown", "same file"]),
                        (["--csv", album/"t.csv"], ["t.csv", "--overwrite"])]:
        rc, _, err = sclle("evaluate", "input", f"w={weights}", album/"low", "--reference", album/"ref", "--no-progress", *args)
        assert rc == 2, err; one_line(err, *words)
    assert snapshot(album) == before
    rc, _, err = sclle("evaluate", "input", album/"low", "--no-progress", "--csv", album/"t.csv", "--overwrite")
    assert rc == 0, err
    assert (album/"t.csv").read_text().startswith("metric,") and stat.S_IMODE((album/"t.csv").stat().st_mode) == 0o444

def test_evaluate_is_per_image(album):
    photo(album/"low"/"c.png")                                           # no reference for it
    photo(album/"low"/"d.png"); photo(album/"ref"/"d.png", size=(30, 20))  # a reference of the wrong size
    photo(album/"low"/"e.png", size=(3, 3)); photo(album/"ref"/"e.png", size=(3, 3))   # too small for SSIM
    rc, out, err = sclle("evaluate", "input", album/"low", "--reference", album/"ref", "--no-progress", "--per-image", album/"per.csv")
    assert rc == 1 and "Traceback" not in err, err
    errs = [l for l in err.splitlines() if l.startswith("error:")]
    assert len(errs) == 3, err
    assert any("c.png" in l and "no reference" in l for l in errs)
    assert any("d.png" in l and str(album/"ref"/"d.png") in l and "20x30" in l for l in errs)
    assert any("e.png" in l and "window" in l for l in errs)
    rows = (album/"per.csv").read_text().splitlines()
    assert sorted(r.split(",")[2] for r in rows[1:]) == ["a.png", "b.png", "c.png", "d.png", "e.png"]   # every image kept
    assert "PSNR" in out and "NIQE" in out

def test_evaluate_labels_per_image(album):
    from sclle_nb.deeplab import DeepLabV3Plus
    torch.save({"model_state": DeepLabV3Plus().state_dict()}, album/"seg.pth")
    (album/"lab").mkdir()
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(album/"lab"/"a.png")
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(album/"lab"/"b.png")    # the wrong size
    photo(album/"low"/"c.png")                                                   # no label
    rc, out, err = sclle("evaluate", "input", album/"low", "--seg", album/"seg.pth", "--labels", album/"lab", "--no-progress")
    assert rc == 1 and "Traceback" not in err, err
    assert any(str(album/"lab"/"b.png") in l and "10x10" in l for l in err.splitlines())
    assert any("c.png" in l and "no label" in l for l in err.splitlines())
    assert "mIoU" in out

def test_evaluate_bad_checkpoints_are_one_line(album, capsys):
    from sclle_nb.evaluate import evaluate_cli
    for ck in bad_checkpoints(album):
        assert evaluate_cli([f"m={ck}", str(album/"low"), "--no-progress"]) == 2
        one_line(capsys.readouterr().err, ck.name)

# ---- sclle default-weights (the default weights' recipe) ------------------------------------------------------------
def test_default_weights_never_writes_over_someone_elses_weights(tmp_path, weights):
    out = tmp_path/"run"; out.mkdir(); mine = save_dcenet(load_dcenet("random", seed=4), out/"dcenet.pth"); mine.chmod(0o600)
    before = snapshot(tmp_path)
    rc, _, err = sclle("default-weights", "--out", out, "--no-progress")
    assert rc == 2; one_line(err, "dcenet.pth", "--overwrite")
    assert snapshot(tmp_path) == before
