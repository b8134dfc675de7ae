"""Bad inputs and faults through the API and the CLI: every case of `sclle_nb.robustness` (the docs table) is checked here.

Every file is made at run time in tmp_path. Nothing may be lost: inputs are hashed before and after (special files by
`lstat`, never opened), outputs are written atomically, an injected failure leaves no temporary file and the previous
output intact. Every test runs under a timeout: a FIFO that is opened would hang it.
"""
import hashlib, io, os, subprocess, sys, shutil, warnings
from contextlib import redirect_stderr
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
from PIL import Image

from sclle_nb.cli import main
from sclle_nb.dcenet import load_dcenet, save_dcenet
from sclle_nb.enhancer import ImageError, enhance, read_image, save_image, load_rgb, _decode, MAX_PIXELS
from sclle_nb.enhancer import ImageWarning
from sclle_nb.robustness import (FILE_CASES, ARRAY_CASES, RUN_CASES, make_files, check_output, output_name, sample_rgb, _png_header,
                                 digest)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def net(): return load_dcenet("random")

def run(*args):
    "`sclle ...` in-process: (exit code, stderr lines)."
    err = io.StringIO()
    with redirect_stderr(err): rc = main([str(a) for a in args])
    return rc, err.getvalue().splitlines()

def errors(lines): return [l for l in lines if "error:" in l]

def photos(d, n=2):
    d = Path(d); d.mkdir(parents=True, exist_ok=True)
    for i in range(n): Image.fromarray(sample_rgb(seed=i)).save(d/f"p{i}.png")
    return d


# ---------------------------------------------------------------- every file case, API then CLI
def _id(name): return name if len(name) < 40 else f"{name[:6]}-{len(name)}-bytes"

@pytest.mark.filterwarnings("ignore::sclle_nb.enhancer.ImageWarning")  # checked where it is raised first
@pytest.mark.parametrize("case", FILE_CASES, ids=[_id(c.name) for c in FILE_CASES])
def test_file_case_api(case, tmp_path, net):
    p = tmp_path/case.name
    case.make(p)
    before = digest([p])
    if case.error:
        with pytest.raises(ImageError) as e: enhance(p, net)
        msg = str(e.value)
        assert msg.startswith(str(p)) and case.error in msg and "\n" not in msg
        with pytest.raises(ImageError): read_image(p)
        with pytest.raises(ImageError): load_rgb(p)
    else:
        with warnings.catch_warnings(record=True) as ws:
            warnings.simplefilter("always", ImageWarning); y = enhance(p, net)
        assert [case.warn in str(w.message) for w in ws if w.category is ImageWarning] == ([True] if case.warn else [])
        assert (y.shape[1], y.shape[0]) == case.out[1] and y.shape[2] == 3
        assert y.dtype == (np.uint16 if case.out[2] == 16 else np.uint8)
        x = load_rgb(p)
        assert x.dtype == torch.float32 and x.shape == (3, y.shape[0], y.shape[1]) and 0 <= x.min() and x.max() <= 1
    assert digest([p]) == before


def test_all_file_cases_cli_one_batch(tmp_path):
    paths = make_files(tmp_path/"in")
    before = digest(paths)
    rc, lines = run("enhance", tmp_path/"in", "-o", tmp_path/"out", "--weights", "random", "-q")
    assert rc == 1                                                # some failed: non-zero at the end
    errs, warned = errors(lines), [l for l in lines if "warning:" in l]
    refused = [c for c in FILE_CASES if c.error]
    assert len(errs) == len(refused)                              # one line per bad file, no tracebacks
    assert len(warned) == sum(c.warn is not None for c in FILE_CASES)
    for c in refused:
        assert sum(c.name in l and c.error in l for l in errs) == 1, (c.name, errs)
        assert not (tmp_path/"out"/output_name(c)).exists()
    for c in FILE_CASES:
        if not c.error: check_output(c, tmp_path/"out"/output_name(c), tmp_path/"in"/c.name)   # the batch went on
        if c.warn: assert sum(c.name in l and c.warn in l for l in warned) == 1, (c.name, warned)
    assert sorted(p.name for p in (tmp_path/"out").iterdir()) == sorted(output_name(c) for c in FILE_CASES if not c.error)
    assert digest(paths) == before                                # inputs never modified
    assert f"{sum(not c.error for c in FILE_CASES)} enhanced" in lines[-1]


def test_real_subprocess(tmp_path):
    "One real `sclle enhance` process: exit code, stderr lines, outputs."
    make_files(tmp_path/"in", [c for c in FILE_CASES if c.name in ("empty.jpg", "notes.jpg", "deep.png", "rotated.jpg")])
    exe = Path(sys.executable).parent/"sclle"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "import sys; from sclle_nb.cli import main; sys.exit(main())"]
    r = subprocess.run(cmd + ["enhance", str(tmp_path/"in"), "-o", str(tmp_path/"out"), "--weights", "random"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    errs = errors(r.stderr.splitlines())
    assert len(errs) == 2 and "empty.jpg" in errs[0] and "notes.jpg" in errs[1], r.stderr
    assert sorted(p.name for p in (tmp_path/"out").iterdir()) == ["deep.png", "rotated.jpg"]
    assert read_image(tmp_path/"out"/"deep.png").dtype == np.uint16


@pytest.mark.parametrize("case", RUN_CASES, ids=[c.check.__name__ for c in RUN_CASES])
def test_run_case(case, tmp_path):
    "Options, output paths, links, signals, `sclle evaluate`: each whole-run fault of the docs table."
    case.check(tmp_path)


@pytest.mark.parametrize("case", ARRAY_CASES, ids=[c.what for c in ARRAY_CASES])
def test_array_case(case, net):
    x = case.make()
    if case.error:
        with pytest.raises((ImageError, TypeError)) as e: enhance(x, net)
        assert case.error in str(e.value) and "\n" not in str(e.value)
    else:
        y = enhance(x, net)
        assert type(y) is type(x) and tuple(y.shape) == tuple(x.shape) and y.dtype == x.dtype


def test_missing_path(net, tmp_path):
    with pytest.raises(FileNotFoundError, match="file not found"): enhance(tmp_path/"nope.jpg", net)
    (tmp_path/"album.jpg").mkdir()
    with pytest.raises(ImageError, match="is a folder"): enhance(tmp_path/"album.jpg", net)


def test_unreadable_file(tmp_path, net):
    if os.geteuid() == 0: pytest.skip("root can read any file")
    p = tmp_path/"secret.png"; Image.fromarray(sample_rgb()).save(p); p.chmod(0)
    with pytest.raises(ImageError, match="cannot read"): enhance(p, net)


# ---------------------------------------------------------------- size limits
def test_size_limit_from_header_is_fast(tmp_path):
    p = tmp_path/"bomb.png"; p.write_bytes(_png_header(100_000, 100_000))   # 10 gigapixels claimed in 70 bytes
    with pytest.raises(ImageError, match="over the 50 MP limit"): read_image(p)
    q = tmp_path/"small.jpg"; Image.fromarray(sample_rgb()).save(q)
    with pytest.raises(ImageError, match=r"64x48 image .* over the 0.001 MP limit"): read_image(q, max_pixels=1000)
    rc, lines = run("enhance", q, "-o", tmp_path/"out", "-w", "random", "-q", "--max-megapixels", "0.001")
    assert rc == 1 and "over the 0.001 MP limit" in errors(lines)[0]
    rc, _ = run("enhance", q, "-o", tmp_path/"out", "-w", "random", "-q", "--max-megapixels", "0")   # 0: no limit
    assert rc == 0


# ---------------------------------------------------------------- outputs: atomic, never over an input
def test_failure_while_saving_leaves_previous_output(tmp_path):
    d = photos(tmp_path/"in"); out = tmp_path/"out"
    assert run("enhance", d, "-o", out, "-w", "random", "-q")[0] == 0
    old = digest(out.iterdir())
    def broken(self, fp, *a, **k): Path(fp).write_bytes(b"\x89PNG half"); raise OSError(28, "No space left on device")
    with mock.patch.object(Image.Image, "save", broken):
        rc, lines = run("enhance", d, "-o", out, "-w", "random", "-q", "--overwrite")
    assert rc == 1 and len(errors(lines)) == 2 and all("No space left" in l for l in errors(lines))
    assert digest(out.iterdir()) == old                           # same files, same bytes, no temporary file


def test_interrupt_while_saving(tmp_path):
    d = photos(tmp_path/"in"); out = tmp_path/"out"
    assert run("enhance", d, "-o", out, "-w", "random", "-q")[0] == 0
    old = digest(out.iterdir())
    def ctrl_c(self, fp, *a, **k): Path(fp).write_bytes(b"\x89PNG half"); raise KeyboardInterrupt
    with mock.patch.object(Image.Image, "save", ctrl_c):
        rc, _ = run("enhance", d, "-o", out, "-w", "random", "-q", "--overwrite")
    assert rc == 130 and digest(out.iterdir()) == old


def test_interrupt_16bit_save(tmp_path):
    "The 16-bit writer goes through the same temporary file + rename."
    p = tmp_path/"x.png"; save_image(np.full((4, 4, 3), 7, np.uint16), p); old = p.read_bytes()
    with mock.patch("sclle_nb.enhancer.os.replace", side_effect=KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt): save_image(np.zeros((4, 4, 3), np.uint16), p)
    assert p.read_bytes() == old and [q.name for q in tmp_path.iterdir()] == ["x.png"]


def test_never_overwrites_inputs(tmp_path):
    d = photos(tmp_path/"in")
    Image.fromarray(sample_rgb()).save(d/"p0.jpg")
    before = digest(d.iterdir())
    rc, lines = run("enhance", d, "-o", d, "-w", "random", "-q")                    # same folder, same names
    assert rc == 1 and all("would overwrite an input" in l for l in errors(lines)) and len(errors(lines)) == 3
    rc, lines = run("enhance", d/"p0.jpg", d/"p0.png", "-o", d, "-w", "random", "-q", "--format", "png", "--overwrite")
    assert rc == 1 and digest(d.iterdir()) == before                                 # --overwrite never touches inputs
    rc, _ = run("enhance", d/"p1.png", "-o", d, "-w", "random", "-q", "--suffix", "_lit")
    assert rc == 0 and (d/"p1_lit.png").exists()
    (d/"p1_lit.png").unlink(); assert digest(d.iterdir()) == before


def test_symlinked_output_folder_is_still_an_input_folder(tmp_path):
    d = photos(tmp_path/"in"); (tmp_path/"link").symlink_to(d)
    before = digest(d.iterdir())
    rc, lines = run("enhance", d, "-o", tmp_path/"link", "-w", "random", "-q")
    assert rc == 1 and digest(d.iterdir()) == before and len(errors(lines)) == 2


def test_unwritable_output_folder(tmp_path):
    d = photos(tmp_path/"in"); (tmp_path/"out").write_text("a file, not a folder")
    rc, lines = run("enhance", d, "-o", tmp_path/"out", "-w", "random", "-q")   # found before any photo is enhanced
    assert rc == 2 and len(lines) == 1 and str(tmp_path/"out") in lines[0] and "not a folder" in lines[0]


# ---------------------------------------------------------------- checkpoints
class Payload:
    def __init__(self, flag): self.flag = flag
    def __reduce__(self): return (os.system, (f"touch {self.flag}",))

@pytest.mark.parametrize("kind", ["empty", "corrupt", "truncated", "wrong-keys", "malicious", "missing"])
def test_bad_checkpoint(kind, tmp_path):
    p, flag = tmp_path/f"{kind}.pth", tmp_path/"PWNED"
    if kind == "empty": p.write_bytes(b"")
    elif kind == "corrupt": p.write_bytes(np.random.default_rng(1).bytes(1000))   # seeded: the same bytes every run
    elif kind == "truncated":
        save_dcenet(load_dcenet("random"), p); p.write_bytes(p.read_bytes()[:5000])
    elif kind == "wrong-keys": torch.save({"conv.weight": torch.zeros(1)}, p)
    elif kind == "malicious": torch.save({"e_conv1.weight": Payload(flag)}, p)
    d = photos(tmp_path/"in", 1)
    rc, lines = run("enhance", d, "-o", tmp_path/"out", "-w", p, "-q")
    assert rc == 2 and len(lines) == 1 and str(p) in lines[0], lines
    assert not (tmp_path/"out").exists() and not flag.exists()


def test_no_default_weights_says_so(tmp_path):
    d = photos(tmp_path/"in", 1)
    with mock.patch("sclle_nb.dcenet.DEFAULT_WEIGHTS", tmp_path/"none.pth"):
        rc, lines = run("enhance", d, "-o", tmp_path/"out", "-q")
    assert rc == 2 and "no default weights" in lines[0] and "--weights PATH" in lines[0]


KILL_CHILD = r'''
import sys, time
from pathlib import Path
from unittest import mock
from PIL import Image
from sclle_nb.cli import main
def slow_save(self, fp, *a, **k):
    Path(fp).write_bytes(b"\x89PNG half of a file")
    time.sleep(60)                                   # killed here, mid-write
with mock.patch.object(Image.Image, "save", slow_save):
    main(["enhance", sys.argv[1], "-o", sys.argv[2], "-w", "random", "-q", "--overwrite"])
'''

def test_sigkill_while_saving(tmp_path):
    "SIGKILL (no cleanup possible) mid-write: the output under its real name is the previous one, never half a file."
    import signal, time
    d = photos(tmp_path/"in", 1); out = tmp_path/"out"
    assert run("enhance", d, "-o", out, "-w", "random", "-q")[0] == 0
    old = (out/"p0.png").read_bytes()
    p = subprocess.Popen([sys.executable, "-c", KILL_CHILD, str(d), str(out)])
    try:
        for _ in range(600):                         # wait until the temporary file is being written
            if any(q.name.startswith(".sclle-") for q in out.iterdir()): break
            time.sleep(0.1)
        else: pytest.fail("the child never started writing")
    finally:
        p.send_signal(signal.SIGKILL); p.wait()
    assert (out/"p0.png").read_bytes() == old        # previous output intact
    leftovers = [q.name for q in out.iterdir() if q.name != "p0.png"]
    assert all(n.startswith(".sclle-") and n.endswith(".tmp") for n in leftovers)   # only a hidden temporary file can remain
    assert run("enhance", out, "-o", tmp_path/"again", "-w", "random", "-q")[0] == 0   # hidden files are not inputs
    assert sorted(q.name for q in (tmp_path/"again").iterdir()) == ["p0.png"]
