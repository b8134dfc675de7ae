"""`sclle enhance` end to end: inputs (files, folders, globs), output naming, formats, skip/overwrite, options to infer."""
import io
from contextlib import redirect_stderr
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
from PIL import Image

from sclle_nb.cli import main
from sclle_nb.dcenet import load_dcenet, save_dcenet
from sclle_nb.enhancer import enhance, read_image, collect_inputs, _decode
from sclle_nb.robustness import sample_rgb
import sclle_nb.enhancer as E


def run(*args):
    err = io.StringIO()
    with redirect_stderr(err): rc = main([str(a) for a in args])
    return rc, err.getvalue()

def tree(d): return sorted(str(p.relative_to(d)) for p in Path(d).rglob("*") if p.is_file())

@pytest.fixture
def album(tmp_path):
    d = tmp_path/"album"; (d/"2024"/"may").mkdir(parents=True)
    Image.fromarray(sample_rgb(seed=0)).save(d/"a.jpg")
    Image.fromarray(sample_rgb(seed=1)).save(d/"b.PNG")
    Image.fromarray(sample_rgb(seed=2)).save(d/"2024"/"c.png")
    Image.fromarray(sample_rgb(seed=3)).save(d/"2024"/"may"/"d.tif")
    (d/"notes.txt").write_text("not an image extension: ignored in folders")
    (d/".hidden.png").write_bytes(b"")          # hidden files (and our own temp files) are ignored in folders
    return d


def test_folder_flat_and_recursive(album, tmp_path):
    rc, err = run("enhance", album, "-o", tmp_path/"o1", "-w", "random", "-q")
    assert rc == 0 and tree(tmp_path/"o1") == ["a.jpg", "b.png"] and "2 enhanced, 0 failed" in err
    rc, _ = run("enhance", album, "-o", tmp_path/"o2", "-w", "random", "-q", "-r")
    assert rc == 0 and tree(tmp_path/"o2") == ["2024/c.png", "2024/may/d.tif", "a.jpg", "b.png"]   # layout kept


def test_globs_and_files(album, tmp_path):
    rc, _ = run("enhance", str(album/"**"/"*.png"), album/"a.jpg", "-o", tmp_path/"o", "-w", "random", "-q")
    assert rc == 0 and tree(tmp_path/"o") == ["a.jpg", "c.png"]   # ** is recursive; b.PNG: glob is case-sensitive
    files, errs = collect_inputs([str(album/"*.gif"), str(album/"zzz.jpg")])
    assert files == [] and len(errs) == 2


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path/"empty").mkdir()
    rc, err = run("enhance", tmp_path/"empty", "-o", tmp_path/"o", "-w", "random", "-q")
    assert rc == 1 and "no image files in this folder" in err


def test_format_suffix_quality(album, tmp_path):
    rc, _ = run("enhance", album/"a.jpg", album/"b.PNG", "-o", tmp_path/"o", "-w", "random", "-q", "--format", "jpg", "--suffix", "_lit")
    assert rc == 0 and tree(tmp_path/"o") == ["a_lit.jpg", "b_lit.jpg"]
    with Image.open(tmp_path/"o"/"b_lit.jpg") as im: assert im.format == "JPEG"
    rc, _ = run("enhance", album/"a.jpg", "-o", tmp_path/"p", "-w", "random", "-q", "--format", "png")
    with Image.open(tmp_path/"p"/"a.png") as im: assert im.format == "PNG"


def test_skip_then_overwrite(album, tmp_path):
    o = tmp_path/"o"
    assert run("enhance", album/"a.jpg", "-o", o, "-w", "random", "-q")[0] == 0
    first = (o/"a.jpg").read_bytes()
    save_dcenet(load_dcenet("random", seed=5), tmp_path/"other.pth")
    rc, err = run("enhance", album/"a.jpg", "-o", o, "-w", tmp_path/"other.pth", "-q")
    assert rc == 0 and "1 skipped" in err and (o/"a.jpg").read_bytes() == first
    rc, err = run("enhance", album/"a.jpg", "-o", o, "-w", tmp_path/"other.pth", "-q", "--overwrite")
    assert rc == 0 and (o/"a.jpg").read_bytes() != first


def test_cli_output_equals_api(tmp_path):
    "What the CLI writes (lossless PNG) is exactly enhance() of what read_image gives."
    net = load_dcenet("random", seed=3); save_dcenet(net, tmp_path/"w.pth")
    a = sample_rgb(37, 23)                        # odd size
    Image.fromarray(a).save(tmp_path/"x.png")
    assert run("enhance", tmp_path/"x.png", "-o", tmp_path/"o", "-w", tmp_path/"w.pth", "-q")[0] == 0
    np.testing.assert_array_equal(read_image(tmp_path/"o"/"x.png"), enhance(a, net))
    np.testing.assert_array_equal(enhance(tmp_path/"x.png", net), enhance(a, net))
    pil = enhance(Image.open(tmp_path/"x.png"), net)
    np.testing.assert_array_equal(np.asarray(pil), enhance(a, net))


def test_options_reach_infer(tmp_path):
    Image.fromarray(sample_rgb()).save(tmp_path/"x.png")
    seen = []
    real = E.infer
    def spy(model, x, **opts): seen.append(opts); return real(model, x, **opts)
    with mock.patch.object(E, "infer", spy):
        rc, err = run("enhance", tmp_path/"x.png", "-o", tmp_path/"o", "-w", "random", "-q",
                      "--scale", "0.5", "--tile", "32", "--overlap", "8", "--precision", "fp32", "--device", "cpu")
    assert rc == 0, err
    assert seen == [dict(scale=0.5, tile=32, overlap=8, precision="fp32")] * 2   # a probe on 8x8, then the photo
    rc, err = run("enhance", tmp_path/"x.png", "-o", tmp_path/"o2", "-w", "random", "-q", "--scale", "7")
    assert rc == 2 and "invalid option" in err and "scale" in err   # infer's own check, once, before any file
    assert not (tmp_path/"o2").exists()
    if not torch.cuda.is_available():
        rc, err = run("enhance", tmp_path/"x.png", "-o", tmp_path/"o3", "-w", "random", "-q", "--device", "cuda")
        assert rc == 2 and "no CUDA device" in err


def test_usage_errors(tmp_path):
    assert run("enhance", "--help")[0] == 0
    assert run("enhance")[0] == 2                         # no inputs
    assert run("enhance", "x.png", "--format", "gif")[0] == 2


def test_progress_bar(tmp_path):
    Image.fromarray(sample_rgb()).save(tmp_path/"x.png")
    rc, err = run("enhance", tmp_path/"x.png", "-o", tmp_path/"o", "-w", "random")
    assert rc == 0 and "1/1" in err                       # tqdm on stderr
    rc, err = run("enhance", tmp_path/"x.png", "-o", tmp_path/"o", "-w", "random", "-q", "--overwrite")
    assert "1/1" not in err


def test_grey_16bit_alpha_round_trip(tmp_path):
    "16-bit grey in -> 16-bit grey out; RGBA: alpha byte-identical; grey: still one channel."
    from sclle_nb.enhancer import save_image
    g = (sample_rgb()[..., 0].astype(np.uint16) * 257)
    save_image(g, tmp_path/"g16.png")
    rgba = np.dstack([sample_rgb(), np.arange(48*64, dtype=np.uint8).reshape(48, 64)])
    Image.fromarray(rgba).save(tmp_path/"t.png")
    assert run("enhance", tmp_path/"g16.png", tmp_path/"t.png", "-o", tmp_path/"o", "-w", "random", "-q")[0] == 0
    with Image.open(tmp_path/"o"/"g16.png") as im: assert im.mode == "I;16"
    out = np.asarray(Image.open(tmp_path/"o"/"t.png"))
    assert out.shape == (48, 64, 4) and (out[..., 3] == rgba[..., 3]).all()


def test_real_photo_with_authors_weights(shared, tmp_path):
    "The authors' SCL-LLE checkpoint on a real LIME photo through the CLI brightens it, and equals the API."
    src = shared/"data"/"LIME"/"6.png"
    w = shared/"weights"/"SCL-LLE.pth"
    rc, err = run("enhance", src, "-o", tmp_path/"o", "-w", w, "-q")
    assert rc == 0, err
    out, inp = read_image(tmp_path/"o"/"6.png"), read_image(src)
    assert out.shape == inp.shape and out.mean() > inp.mean() + 20
    np.testing.assert_array_equal(out, enhance(inp, load_dcenet(w)))


def test_outdir_inside_input_folder_is_not_rescanned(album, tmp_path):
    "`sclle enhance album -r -o album/enhanced` twice: the second run does not enhance the first run's outputs."
    o = album/"enhanced"
    assert run("enhance", album, "-r", "-o", o, "-w", "random", "-q")[0] == 0
    first = tree(o)
    rc, err = run("enhance", album, "-r", "-o", o, "-w", "random", "-q")
    assert rc == 0 and tree(o) == first and "0 enhanced, 4 skipped" in err
    files, _ = collect_inputs([str(album/"**"/"*.png")], exclude=o)
    assert all("enhanced" not in str(p) for p, _ in files)


def test_file_named_twice_is_enhanced_once(album, tmp_path):
    rc, err = run("enhance", album/"a.jpg", album, str(album/"*.jpg"), "-o", tmp_path/"o", "-w", "random", "-q")
    assert rc == 0 and tree(tmp_path/"o") == ["a.jpg", "b.png"] and "2 enhanced, 0 failed" in err


def test_big_endian_array(tmp_path):
    from sclle_nb.enhancer import enhance
    a = (sample_rgb().astype(np.uint16) * 257)
    net = load_dcenet("random")
    np.testing.assert_array_equal(enhance(a.astype(">u2"), net), enhance(a, net))

def test_compile_flag(tmp_path):
    "--compile reaches infer (not its 8x8 probe, which would compile for nothing) and writes the same photo."
    Image.fromarray(sample_rgb()).save(tmp_path/"x.png")
    seen = []
    real = E.infer
    def spy(model, x, **opts): seen.append(opts); return real(model, x, **opts)
    with mock.patch.object(E, "infer", spy):
        rc, err = run("enhance", tmp_path/"x.png", "-o", tmp_path/"o", "-w", "random", "-q", "--scale", "0.5", "--compile")
    assert rc == 0, err
    assert seen == [dict(scale=0.5), dict(scale=0.5, compile=True)]
    assert run("enhance", tmp_path/"x.png", "-o", tmp_path/"p", "-w", "random", "-q", "--scale", "0.5")[0] == 0
    np.testing.assert_array_equal(read_image(tmp_path/"o"/"x.png"), read_image(tmp_path/"p"/"x.png"))
