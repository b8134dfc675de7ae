"""`sclle evaluate` end to end on the LIME photos, PSNR/SSIM hand cases, and clear errors for bad input."""
import csv, io, os, subprocess, sys
from pathlib import Path
import numpy as np, pytest
from sclle_nb.evaluate import psnr, ssim, evaluate_cli, evaluate

ROOT = Path(__file__).resolve().parents[1]

def _sclle(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # the `sclle` console script, run through this interpreter (works without the script on PATH)
    cmd = [sys.executable, "-c", "import sys; from sclle_nb.cli import main; sys.exit(main())"]
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)

def test_evaluate_lime_end_to_end(shared, tmp_path):
    md, cs, per = tmp_path/"t.md", tmp_path/"t.csv", tmp_path/"per.csv"
    r = _sclle("evaluate", "input=input", f"scl={shared/'weights'/'SCL-LLE.pth'}", shared/"data"/"LIME",
               "--markdown", md, "--csv", cs, "--per-image", per, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "NIQE" in r.stdout and "scl" in r.stdout and "LIME" in r.stdout
    rows = {(x["metric"], x["method"]): x for x in csv.DictReader(cs.open())}
    ref = {x["image"]: float(x["niqe"]) for x in csv.DictReader((shared/"niqe"/"reference_LIME_inputs.csv").open())}
    assert float(rows["NIQE", "input"]["LIME"]) == pytest.approx(np.mean(list(ref.values())), abs=1e-5)
    assert float(rows["NIQE", "scl"]["LIME"]) < float(rows["NIQE", "input"]["LIME"])  # enhancement is more natural (measured 3.97 vs 4.56)
    assert float(rows["NIQE", "scl"]["s_per_image"]) > 0
    text = md.read_text()
    assert text.startswith("**NIQE**") and "| input |" in text and "| scl |" in text
    imgs = list(csv.DictReader(per.open()))
    assert len(imgs) == 18 and {x["image"] for x in imgs} == set(ref)
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temporary files

def _photos(tmp_path):
    from skimage import data
    from PIL import Image
    (tmp_path/"low").mkdir(); (tmp_path/"ref").mkdir()
    im = data.astronaut()[::2, ::2]
    Image.fromarray(im).save(tmp_path/"ref"/"a.png")
    Image.fromarray((im*0.3).astype(np.uint8)).save(tmp_path/"low"/"a.png")
    return tmp_path/"low", tmp_path/"ref"

def test_evaluate_reference_and_jpeg(tmp_path):
    low, ref = _photos(tmp_path)
    res = evaluate(["input"], {"demo": low}, reference=ref, jpeg=75, progress=False)
    assert res.metrics() == ["NIQE", "NIQE JPEG-75", "colour shift", "PSNR", "SSIM"]
    from PIL import Image
    a, b = np.asarray(Image.open(low/"a.png")), np.asarray(Image.open(ref/"a.png"))
    assert res.value("PSNR", "input", "demo") == pytest.approx(psnr(a, b))
    assert res.value("SSIM", "input") == pytest.approx(ssim(a, b))

def test_psnr_ssim_hand_cases():
    a = np.full((16, 16, 3), 50, np.uint8); b = a + 5
    assert psnr(a, b) == pytest.approx(10*np.log10(255**2/25))
    assert psnr(a.astype(np.float32)/255, b.astype(np.float32)/255) == pytest.approx(10*np.log10(255**2/25), abs=1e-4)
    assert psnr(a, a) == float("inf")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 40, 3)).astype(np.uint8)
    assert ssim(x, x) == pytest.approx(1.0)
    assert ssim(x, x, on="y") == pytest.approx(1.0)
    C1 = (0.01*255)**2
    assert ssim(a, b) == pytest.approx((2*50*55 + C1)/(50**2 + 55**2 + C1))

@pytest.mark.parametrize("args,msg", [
    (["input", "/nonexistent/folder"], "neither an image folder"),
    (["input", "scl=/nonexistent/w.pth"], "neither"),
    (["input"], "no image folder"),
])
def test_cli_bad_arguments(args, msg, capsys):
    assert evaluate_cli(args) == 2
    assert msg in capsys.readouterr().err

def test_cli_empty_folder_and_bad_checkpoint(tmp_path, capsys):
    (tmp_path/"empty").mkdir()
    assert evaluate_cli(["input", str(tmp_path/"empty")]) == 2
    assert "no image files" in capsys.readouterr().err
    low, ref = _photos(tmp_path)
    bad = tmp_path/"bad.pth"; bad.write_bytes(b"not a checkpoint")
    assert evaluate_cli([f"x={bad}", str(low), "--no-progress"]) == 2
    assert "bad.pth" in capsys.readouterr().err
    assert evaluate_cli(["input", str(low), "--reference", str(tmp_path/"nope"), "--no-progress"]) == 2
    assert "reference folder not found" in capsys.readouterr().err

def test_cli_subprocess_bad_folder(tmp_path):
    r = _sclle("evaluate", "input", tmp_path/"missing")
    assert r.returncode == 2 and "missing" in r.stderr and "Traceback" not in r.stderr
