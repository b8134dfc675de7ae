"""Hostile files through real `sclle` processes: damaged images of every format (no decoder may crash the process),
things that are not files (no hang), signals from outside (no temporary file left), and what the pixels carry.

Every file is made here, in tmp_path; every test runs under a timeout.
"""
import io, os, random, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from _procs import foreground
from sclle_nb.dcenet import load_dcenet
from sclle_nb.enhancer import (_decode, _chunk, enhance, png16_bytes, read_image, save_image, temp_name, ImageError,
                               PNG_SIG)
from sclle_nb.robustness import sample_rgb, digest, ICC, DAMAGED, photo_folder

pytestmark = pytest.mark.timeout(300)

SCLLE = [sys.executable, "-c", "import sys; from sclle_nb.cli import main; sys.exit(main())"]

def sclle(*args, timeout=240):
    "A real `sclle` process: (exit status, stdout, stderr)."
    r = subprocess.run(SCLLE + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


# ---------------------------------------------------------------- 1. damaged files never take the batch down
def _encodings()->dict:
    "One small photo in every format the reader handles, 8 and 16 bits."
    a = sample_rgb(); a16 = a.astype(np.uint16) * 257
    def pil(fmt, arr, **kw): b = io.BytesIO(); Image.fromarray(arr).save(b, format=fmt, **kw); return b.getvalue()
    def tif(arr, **kw): b = io.BytesIO(); tifffile.imwrite(b, arr, **kw); return b.getvalue()
    return {"png": pil("PNG", a), "16.png": png16_bytes(a16), "g16.png": png16_bytes(a16[..., 0]),
            "jpg": pil("JPEG", a), "webp": pil("WEBP", a), "ll.webp": pil("WEBP", a, lossless=True), "gif": pil("GIF", a),
            "bmp": pil("BMP", a), "tif": pil("TIFF", a), "lzw.tif": pil("TIFF", a, compression="tiff_lzw"),
            "16.tif": tif(a16), "z16.tif": tif(a16, compression="zlib"), "g16.tif": pil("TIFF", a16[..., 0]),
            "16.ppm": b"P6\n64 48\n65535\n" + a16.astype(">u2").tobytes()}

def _png_fixed_crc(data:bytes, rng)->bytes:
    "A PNG with bytes of its image data changed and the CRC recomputed: only the data itself is wrong."
    i = data.index(b"IDAT") - 4; n = int.from_bytes(data[i:i+4], "big")
    body = bytearray(data[i+8:i+8+n])
    for _ in range(rng.choice([1, 4])): body[rng.randrange(len(body))] = rng.randrange(256)
    return data[:i] + _chunk(b"IDAT", bytes(body)) + data[i+12+n:]

def _damage(data:bytes, rng)->bytes:
    "Random bytes changed, or the file cut short."
    if rng.random() < 0.3: return data[:rng.randrange(8, len(data))]
    b = bytearray(data)
    for _ in range(rng.choice([1, 3, 12])): b[rng.randrange(8, len(b))] = rng.randrange(256)
    return bytes(b)

def test_damaged_files_of_every_format_one_real_batch(tmp_path):
    "~150 damaged files in one `sclle enhance` run: the process ends normally, each file is written or named once."
    rng, d = random.Random(0), tmp_path/"in"; d.mkdir()
    for ext, data in _encodings().items():
        for k in range(10):
            (d/f"{ext.replace('.', '_')}_{k}.{ext.split('.')[-1]}").write_bytes(_damage(data, rng))
        if ext.endswith("png"):
            for k in range(4): (d/f"{ext.replace('.', '_')}_crcok_{k}.png").write_bytes(_png_fixed_crc(data, rng))
    (d/"good.png").write_bytes(_encodings()["16.png"])
    before = digest(d.iterdir())
    rc, _, err = sclle("enhance", d, "-o", tmp_path/"out", "-w", "random", "-q")
    assert rc in (0, 1), f"the process died (status {rc}): {err[-2000:]}"   # a crash is a negative status (signal)
    assert "Traceback" not in err and "Segmentation" not in err
    lines = [l for l in err.splitlines() if l.startswith("sclle enhance: error:")]
    written = {p.stem for p in (tmp_path/"out").iterdir()}
    for p in d.iterdir():   # every input: written, or named in exactly one error line
        assert (p.stem in written) != (sum(f"{p}:" in l for l in lines) == 1), p.name
    assert "good" in written and digest(d.iterdir()) == before
    assert not [p for p in (tmp_path/"out").iterdir() if p.name.startswith(".")]

def test_damaged_16bit_png_in_evaluate_real_process(tmp_path):
    "The damaged 16-bit PNG that crashes libpng, in `sclle evaluate`: a warning line, the rest scored, exit 1."
    d = tmp_path/"set"; d.mkdir()
    Image.fromarray(sample_rgb(200, 240)).save(d/"good.png")
    for c in DAMAGED[:3]: c.make(d/c.name)
    rc, out, err = sclle("evaluate", "input", d, "--no-progress")
    assert rc == 1 and "Traceback" not in err, err
    assert all(sum(c.name in l and c.error in l for l in err.splitlines()) == 1 for c in DAMAGED[:3]), err
    assert "NIQE" in out and "warning" not in out


# ---------------------------------------------------------------- 2./3. special files and links: no hang, one line
def test_fifo_and_devices_named_real_process(tmp_path):
    d = photo_folder(tmp_path/"in", 1); os.mkfifo(d/"pipe.png")
    rc, _, err = sclle("enhance", d/"pipe.png", "/dev/zero", d/"p0.png", "-o", tmp_path/"out", "-w", "random", "-q", timeout=120)
    errs = [l for l in err.splitlines() if "error:" in l]
    assert rc == 1 and len(errs) == 2 and "Traceback" not in err, err
    assert "pipe.png: is a FIFO" in errs[0] and "/dev/zero: is a character device" in errs[1]
    assert [p.name for p in (tmp_path/"out").iterdir()] == ["p0.png"]

def test_special_files_in_a_folder_and_a_glob(tmp_path):
    "Found in a folder or matched by a glob: the same one line, never opened."
    d = photo_folder(tmp_path/"in", 1); os.mkfifo(d/"pipe.jpg"); (d/"gone.png").symlink_to("nowhere.png")
    for inputs in ([d], [str(d/"*")]):
        rc, _, err = sclle("enhance", *inputs, "-o", tmp_path/"out", "-w", "random", "-q", "--overwrite", timeout=120)
        errs = [l for l in err.splitlines() if "error:" in l]
        assert rc == 1 and len(errs) == 2, err
        assert any("gone.png: broken symbolic link (to nowhere.png)" in l for l in errs) and any("pipe.jpg: is a FIFO" in l for l in errs)

def test_api_refuses_without_opening(tmp_path):
    os.mkfifo(tmp_path/"pipe.png")
    t = time.perf_counter()
    with pytest.raises(ImageError, match="pipe.png: is a FIFO"): read_image(tmp_path/"pipe.png")
    with pytest.raises(ImageError, match="character device"): read_image("/dev/zero")
    assert time.perf_counter() - t < 5


# ---------------------------------------------------------------- 5. names near the limit; 6. signals from outside
def test_temporary_names_are_short_and_fixed(tmp_path):
    ts = [temp_name(tmp_path/"photo.png") for _ in range(50)]
    names = {t.name for t in ts}
    assert all(t.parent == tmp_path for t in ts)                # beside the destination: the rename stays in one file system
    assert len(names) == 50 and len({len(n) for n in names}) == 1 and all(n.startswith(".sclle-") and len(n) < 40 for n in names)
    long = "x" * 246 + ".png"                                  # 250 bytes: fits, and so does the temporary name
    Image.fromarray(sample_rgb()).save(tmp_path/long)
    rc, _, err = sclle("enhance", tmp_path/long, "-o", tmp_path/"out", "-w", "random", "-q")
    assert rc == 0 and (tmp_path/"out"/long).exists(), err

SLOW_SAVE = r'''
import sys, time
from pathlib import Path
from unittest import mock
from PIL import Image
from sclle_nb.cli import main
def slow_save(self, fp, *a, **k):
    Path(fp).write_bytes(b"\x89PNG half of a file")
    time.sleep(60)                                   # the signal arrives here, from outside
with mock.patch.object(Image.Image, "save", slow_save):
    sys.exit(main(["enhance", sys.argv[1], "-o", sys.argv[2], "-w", "random", "-q", "--overwrite"]))
'''

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_signal_from_outside_while_writing(sig, tmp_path):
    d, out = photo_folder(tmp_path/"in", 1), tmp_path/"out"
    assert sclle("enhance", d, "-o", out, "-w", "random", "-q")[0] == 0
    old = digest(out.iterdir())
    p = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(d), str(out)], stderr=subprocess.PIPE, text=True, preexec_fn=foreground)
    try:
        for _ in range(1200):
            if any(q.name.startswith(".sclle-") for q in out.iterdir()): break
            time.sleep(0.1)
        else: pytest.fail("the child never started writing")
        p.send_signal(sig); _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None: p.kill()
    assert p.returncode == 128 + sig and "Traceback" not in err, err
    assert digest(out.iterdir()) == old                      # no temporary file, the previous output intact


# ---------------------------------------------------------------- 4. promises about the pixels
@pytest.fixture(scope="module")
def net(): return load_dcenet("random")

@pytest.mark.parametrize("kind", ["rgb.tif", "grey.tif", "rgba.tif", "rgb.ppm"])
def test_16_bits_in_16_bits_out(kind, tmp_path, net):
    a = (sample_rgb().astype(np.uint16) * 257) + np.arange(64, dtype=np.uint16)[:, None]   # uses the low byte too
    if kind == "grey.tif": a = a[..., 0]
    if kind == "rgba.tif": a = np.dstack([a, np.full(a.shape[:2], 40000, np.uint16)])
    src = tmp_path/("in." + kind.split(".")[1])
    if kind.endswith("ppm"): src.write_bytes(b"P6\n64 48\n65535\n" + a.astype(">u2").tobytes())
    else: tifffile.imwrite(src, a, photometric="rgb" if a.ndim == 3 else "minisblack", extrasamples=["unassalpha"] if kind == "rgba.tif" else None)
    np.testing.assert_array_equal(read_image(src), np.dstack([a] * 3) if a.ndim == 2 else a[..., :3])
    rc, _, err = sclle("enhance", src, "-o", tmp_path/"out", "-w", "random", "-q")
    assert rc == 0, err
    out = tmp_path/"out"/("in.tif" if kind.endswith("tif") else "in.png")
    got = _decode(out)
    assert got.rgb.dtype == np.uint16 and got.gray == (a.ndim == 2)
    want = enhance(a[..., :3] if a.ndim == 3 else a, net)
    np.testing.assert_array_equal(got.rgb[..., 0] if a.ndim == 2 else got.rgb, want)   # exactly the API's 16-bit result
    if kind == "rgba.tif": np.testing.assert_array_equal(got.alpha, a[..., 3])

@pytest.mark.parametrize("fmt", ["png", "jpg", "webp", "tif"])
def test_profile_and_exif_travel(fmt, tmp_path):
    ex = Image.Exif(); ex[0x0112] = 6; ex[0x010F] = "maker"
    src = tmp_path/f"in.{fmt}"
    Image.fromarray(sample_rgb()).save(src, icc_profile=ICC, **({} if fmt == "tif" else {"exif": ex.tobytes()}))
    rc, _, err = sclle("enhance", src, "-o", tmp_path/"out", "-w", "random", "-q")
    assert rc == 0, err
    with Image.open(tmp_path/"out"/f"in.{fmt}") as im:
        assert im.info.get("icc_profile") == ICC
        if fmt != "tif":
            assert im.getexif().get(0x010F) == "maker" and im.getexif().get(0x0112) == 1 and im.size == (48, 64)

def test_trns_16bit_grey_and_rgb(tmp_path):
    for name, a in (("rgb", sample_rgb().astype(np.uint16) * 257), ("grey", sample_rgb()[..., 0].astype(np.uint16) * 257)):
        b = png16_bytes(a); i = b.index(b"IDAT") - 4
        key = a.reshape(-1, 3 if a.ndim == 3 else 1)[5]
        (tmp_path/f"{name}.png").write_bytes(b[:i] + _chunk(b"tRNS", key.astype(">u2").tobytes()) + b[i:])
        want = np.where((a.reshape(a.shape[0], a.shape[1], -1) == key).all(-1), 0, 65535)
        np.testing.assert_array_equal(_decode(tmp_path/f"{name}.png").alpha, want)
    rc, _, err = sclle("enhance", tmp_path/"rgb.png", tmp_path/"grey.png", "-o", tmp_path/"out", "-w", "random", "-q")
    assert rc == 0, err
    for name in ("rgb", "grey"):
        np.testing.assert_array_equal(_decode(tmp_path/"out"/f"{name}.png").alpha, _decode(tmp_path/f"{name}.png").alpha)

def test_frames_warn_on_stderr(tmp_path):
    ims = [Image.fromarray(sample_rgb(seed=i)) for i in range(4)]
    ims[0].save(tmp_path/"a.webp", save_all=True, append_images=ims[1:])
    tifffile.imwrite(tmp_path/"b.tif", np.stack([sample_rgb(seed=i) for i in range(2)]))
    rc, out, err = sclle("enhance", tmp_path/"a.webp", tmp_path/"b.tif", "-o", tmp_path/"out", "-w", "random", "-q")
    warns = [l for l in err.splitlines() if "warning:" in l]
    assert rc == 0 and len(warns) == 2 and "4 frames" in warns[0] and "2 frames" in warns[1] and not out, err
    assert sorted(p.name for p in (tmp_path/"out").iterdir()) == ["a.webp", "b.tif"]
