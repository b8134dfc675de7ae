"""`sclle_nb.export`: the ONNX graph (exact and fast) gives `infer`'s output within 1e-5 in fp32 on photos of several
sizes, odd ones included; `sclle export` writes the file atomically and fails with one line naming the file or option."""
import os, subprocess, sys
from pathlib import Path
import numpy as np, pytest, torch
from sclle_nb.dcenet import load_dcenet, save_dcenet
from sclle_nb.infer import infer
from sclle_nb.refdata import lime_photos

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
from sclle_nb.export import dcenet_onnx, export_onnx, export_cli, ExportError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

def photos():
    "Real photos (reference data) at their own sizes, else generated dark images of odd sizes."
    lime = lime_photos()
    if lime:
        from sclle_nb.data import read_rgb8
        return [(p.name, torch.tensor(read_rgb8(p)).permute(2, 0, 1)[None].float()/255) for p in lime[:5]]
    g = torch.Generator().manual_seed(0)
    return [(f"{h}x{w}", torch.rand(1, 3, h, w, generator=g)**3) for h, w in [(375, 500), (415, 370), (97, 131), (64, 64)]]

@pytest.fixture(scope="module")
def net(): return load_dcenet()

@pytest.mark.parametrize("scale", [1.0, 0.5, 0.25])
def test_graph_equals_infer(net, scale):
    s = ort.InferenceSession(dcenet_onnx(net, scale).SerializeToString(), providers=["CPUExecutionProvider"])
    for name, x in photos():
        d = np.abs(s.run(None, {"image": x.numpy()})[0] - infer(net, x, scale=scale).numpy()).max()
        print(f"scale {scale} {name} {tuple(x.shape[2:])}: max |onnx - infer| = {d:.1e}")
        assert d < 1e-5, (name, d)

def test_batches_and_tiny_sizes(net):
    g = torch.Generator().manual_seed(1)
    for scale in (1.0, 0.3):
        s = ort.InferenceSession(dcenet_onnx(net, scale).SerializeToString(), providers=["CPUExecutionProvider"])
        for shape in [(1, 3, 1, 1), (2, 3, 3, 5), (3, 3, 2, 17), (2, 3, 31, 9)]:
            x = torch.rand(*shape, generator=g)
            np.testing.assert_allclose(s.run(None, {"image": x.numpy()})[0], infer(net, x, scale=scale).numpy(), atol=1e-5)

def test_export_file_any_checkpoint(tmp_path, net):
    ck = save_dcenet(load_dcenet("random", seed=3), tmp_path/"mine.pth")
    out = export_onnx(tmp_path/"m.onnx", weights=ck, scale=0.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "mine.pth"]   # no temporary file left
    x = torch.rand(1, 3, 40, 51, generator=torch.Generator().manual_seed(2))
    y = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"image": x.numpy()})[0]
    np.testing.assert_allclose(y, infer(load_dcenet(ck), x, scale=0.5).numpy(), atol=1e-5)
    name = "n" * 250 + ".onnx"                                    # names near the 255-byte limit work
    assert export_onnx(tmp_path/name).exists()

def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "sclle_nb", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})})

def test_cli_ok_and_errors(tmp_path):
    assert export_cli(["-o", str(tmp_path/"a.onnx")]) == 0 and (tmp_path/"a.onnx").stat().st_size > 300_000
    (tmp_path/"junk.pth").write_text("junk")
    cases = [(["-o", str(tmp_path/"b.onnx"), "--weights", str(tmp_path/"missing.pth")], "missing.pth"),
             (["-o", str(tmp_path/"b.onnx"), "--weights", str(tmp_path/"junk.pth")], "junk.pth"),
             (["-o", str(tmp_path/"nofolder"/"b.onnx")], "nofolder"),
             (["-o", str(tmp_path)], str(tmp_path)),
             (["-o", str(tmp_path/"b.onnx"), "--scale", "1.5"], "--scale")]
    for argv, needle in cases:
        r = _cli("export", *argv)
        assert r.returncode == 2, (argv, r.stderr)
        assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "junk.pth"]

def test_unwritable_output(tmp_path):
    if os.geteuid() == 0: pytest.skip("root can write into a read-only folder")
    d = tmp_path/"ro"; d.mkdir(); d.chmod(0o500)
    try:
        with pytest.raises(ExportError, match="cannot write"): export_onnx(d/"x.onnx")
    finally: d.chmod(0o700)

def test_without_onnx(tmp_path):
    code = ("import sys; sys.modules['onnx'] = None\nimport sclle_nb, sclle_nb.cli\n"
            "assert 'onnxruntime' not in sys.modules\nsys.exit(sclle_nb.cli.main(['export', '-o', sys.argv[1]]))")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path/"x.onnx")], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "onnx is not installed" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not any(tmp_path.iterdir())

def test_import_is_lazy():
    r = subprocess.run([sys.executable, "-c", "import sclle_nb, sclle_nb.export, sys; print('onnx' in sys.modules, 'onnxruntime' in sys.modules)"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.stdout.split() == ["False", "False"], r.stdout + r.stderr
