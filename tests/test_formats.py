"""Formats people have, and the messages of `sclle enhance`: 16-bit TIFF in any compression and 16-bit text PPM stay
16-bit, CMYK goes to sRGB through its profile, float and signed TIFF are read with their range or refused with the
reason, what a format cannot hold is a one-line warning, TIFF extra samples come back as they came, folder scans take
every readable extension, a second run never takes the first run's outputs, options and devices are one line, and a
small file declaring a huge image cannot take gigabytes. Commands run as real processes; every file's sha256 and
permissions are compared before and after."""
import hashlib, io, json, os, stat, struct, subprocess, sys, warnings, zlib
from itertools import product
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

import sclle_nb.enhancer as E
from sclle_nb.enhancer import ImageError, ImageWarning, _decode, read_image, save_image, enhance_file, IMAGE_EXTS, PNG_SIG, _chunk
from sclle_nb.dcenet import load_dcenet

RNG = np.random.default_rng(0)
U16 = RNG.integers(0, 65536, (24, 32, 3), dtype=np.uint16)
U8 = RNG.integers(0, 256, (24, 32, 3), dtype=np.uint8)

# ------------------------------------------------------------------ helpers: real processes, snapshots, fixtures
def sclle(*args, env=None, timeout=300):
    "`python -m sclle_nb ARGS` in a fresh process: (exit status, stderr lines)."
    r = subprocess.run([sys.executable, "-m", "sclle_nb", *map(str, args)], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **(env or {})})
    return r.returncode, [l for l in r.stderr.splitlines() if l.strip()]

def snapshot(*dirs)->dict:
    "sha256 and permission bits of every file (links and FIFOs by what they are) under `dirs`."
    out = {}
    for d in dirs:
        for p in sorted(Path(d).rglob("*")):
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode): out[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), stat.S_IMODE(st.st_mode))
            elif stat.S_ISLNK(st.st_mode): out[str(p)] = ("link", os.readlink(p))
            elif stat.S_ISFIFO(st.st_mode): out[str(p)] = ("fifo", stat.S_IMODE(st.st_mode))
    return out

def one_line_each(lines):
    "Every message is `sclle enhance: KIND: ...` on one line: no traceback, no Python warning source line."
    for l in lines: assert l.startswith("sclle enhance: ") and "Traceback" not in l and "warnings.warn" not in l, l

def lzw_encode(data:bytes)->bytes:
    "TIFF LZW (MSB-first codes of 9-12 bits) as libtiff reads it."
    out, acc, nacc, width, nxt = bytearray(), 0, 0, 9, 258
    table = {bytes([i]): i for i in range(256)}
    def emit(code):
        nonlocal acc, nacc
        acc = (acc << width) | code; nacc += width
        while nacc >= 8: nacc -= 8; out.append((acc >> nacc) & 0xFF)
        acc &= (1 << nacc) - 1
    emit(256); w = b""
    for b in data:
        wc = w + bytes([b])
        if wc in table: w = wc; continue
        emit(table[w]); table[wc] = nxt; nxt += 1; w = bytes([b])
        if nxt == 1 << width and width < 12: width += 1   # the decoder, one code behind, widens at 2**width - 1
        if nxt >= 4093: emit(256); table = {bytes([i]): i for i in range(256)}; nxt, width = 258, 9
    if w: emit(table[w])
    emit(257)
    if nacc: out.append((acc << (8 - nacc)) & 0xFF)
    return bytes(out)

def tiff_lzw(a:np.ndarray, extrasamples=None)->bytes:
    "A one-strip little-endian TIFF of `a` ((H,W) or (H,W,C) uint8/uint16), LZW-compressed, written by hand."
    a = np.ascontiguousarray(a if a.ndim == 3 else a[..., None]); h, w, c = a.shape
    strip, bps = lzw_encode(a.astype("<" + a.dtype.str[1:]).tobytes()), a.dtype.itemsize * 8
    tags = {256: (4, w), 257: (4, h), 258: (3, None), 259: (3, 5), 262: (3, 2 if c >= 3 else 1), 273: (4, None),
            277: (3, c), 278: (4, h), 279: (4, len(strip)), 284: (3, 1)}
    if extrasamples is not None: tags[338] = (3, extrasamples)
    n = len(tags); bps_off = 8 + 2 + 12 * n + 4; data_off = bps_off + 2 * c + 2
    ifd = b""
    for tag, (typ, val) in sorted(tags.items()):
        cnt = c if tag == 258 else 1
        if tag == 258: v = struct.pack("<I", bps_off) if c > 2 else struct.pack("<HH", bps, bps if c == 2 else 0)
        elif tag == 273: v = struct.pack("<I", data_off)
        else: v = struct.pack("<HH", val, 0) if typ == 3 else struct.pack("<I", val)
        ifd += struct.pack("<HHI", tag, typ, cnt) + v
    head = b"II*\0" + struct.pack("<IH", 8, n) + ifd + b"\0" * 4 + struct.pack(f"<{c}H", *[bps] * c)
    return head + b"\0" * (data_off - len(head)) + strip

def cmyk_profile()->bytes:
    "A small valid CMYK input profile (ICC v2, PCS Lab): a 2-point lut16 A2B0 of the model RGB = (1-C)(1-K), ..."
    s15 = lambda v: struct.pack(">i", round(v * 65536))
    corners = [((1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k)) for c, m, y, k in product((0, 1), repeat=4)]
    rgb = Image.fromarray((np.array(corners) * 255).round().astype(np.uint8)[None])
    to_lab = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB")
    lab = np.asarray(ImageCms.applyTransform(rgb, to_lab))[0]
    L, ab = lab[:, 0] / 255, lab[:, 1:].view(np.int8).astype(float) + 128   # Pillow's LAB: a and b are signed bytes
    lut = np.column_stack([L * 0xFF00, ab * 256]).round().clip(0, 65535).astype(">u2")
    a2b0 = (b"mft2" + b"\0" * 4 + bytes([4, 3, 2, 0]) + b"".join(s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
            + struct.pack(">HH", 2, 2) + struct.pack(">8H", *[0, 65535] * 4) + lut.tobytes() + struct.pack(">6H", *[0, 65535] * 3))
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", 5) + b"CMYK\0" + b"\0" * 78
    wtpt = b"XYZ " + b"\0" * 4 + s15(0.9642) + s15(1.0) + s15(0.8249)
    tags, off, table, body = [(b"desc", desc), (b"wtpt", wtpt), (b"A2B0", a2b0)], 128 + 4 + 12 * 3, b"", b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4); table += sig + struct.pack(">II", off + len(body), len(data)); body += data
    head = (struct.pack(">I", off + len(body)) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"scnrCMYKLab " + b"\0" * 12 + b"acsp"
            + b"\0" * 28 + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48)
    return head + struct.pack(">I", 3) + table + body

def first_page(p):
    "The first page of a TIFF, read and closed: (compression, dtype, shape, extrasamples, pixels)."
    with tifffile.TiffFile(p) as tf:
        q = tf.pages.first
        return int(q.compression), q.dtype, q.shape, tuple(int(x) for x in q.extrasamples), q.asarray()

def caught(fn):
    "(result, [the ImageWarning messages]) of fn()."
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always"); r = fn()
    return r, [str(w.message) for w in ws if issubclass(w.category, ImageWarning)]

@pytest.fixture(scope="module")
def net(): return load_dcenet("random")

# ------------------------------------------------------------------ 16 bits stay 16 bits
@pytest.mark.parametrize("a", [U16, U16[..., 0], np.dstack([U16, U16[..., :1]])], ids=["rgb", "grey", "rgba"])
def test_lzw_tiff_16bit_is_read_at_16_bits(tmp_path, a):
    (tmp_path/"lzw.tif").write_bytes(tiff_lzw(a, extrasamples=2 if a.ndim == 3 and a.shape[2] == 4 else None))
    with tifffile.TiffFile(tmp_path/"lzw.tif") as tf: assert tf.pages.first.compression == 5   # really LZW (tifffile alone cannot read it)
    d = _decode(tmp_path/"lzw.tif")
    assert d.rgb.dtype == np.uint16 and (d.rgb == (a[..., :3] if a.ndim == 3 else np.dstack([a] * 3))).all()
    if a.ndim == 3 and a.shape[2] == 4: assert (d.alpha == a[..., 3]).all()

def test_lzw_tiff_16bit_through_the_command(tmp_path):
    (tmp_path/"in").mkdir(); (tmp_path/"in"/"scan.tif").write_bytes(tiff_lzw(U16))
    before = snapshot(tmp_path/"in")
    rc, lines = sclle("enhance", tmp_path/"in", "-o", tmp_path/"out", "-w", "random", "-q")
    assert rc == 0, lines
    _, dt, shape, _, _ = first_page(tmp_path/"out"/"scan.tif")
    assert dt == np.uint16 and shape == (24, 32, 3)
    assert snapshot(tmp_path/"in") == before

@pytest.mark.parametrize("kind,mx", [("P3", 65535), ("P3", 4095), ("P2", 65535)])
def test_text_ppm_16bit(tmp_path, kind, mx):
    a = (U16.astype(np.int64) * mx // 65535)[..., :3 if kind == "P3" else 1]
    body = " ".join(map(str, a.ravel()))
    (tmp_path/"x.ppm").write_text(f"{kind}\n# a comment\n32 24\n{mx}\n{body}\n")
    r = read_image(tmp_path/"x.ppm")
    want = np.rint(a * (65535 / mx)).astype(np.uint16)
    assert r.dtype == np.uint16 and (r == (want if kind == "P3" else np.repeat(want, 3, 2))).all()
    (tmp_path/"cut.ppm").write_text(f"{kind}\n32 24\n{mx}\n1 2 3\n")
    with pytest.raises(ImageError, match=r"cut.ppm: corrupt or truncated PPM \(3 of"): read_image(tmp_path/"cut.ppm")

# ------------------------------------------------------------------ CMYK
@pytest.mark.parametrize("ext", ["jpg", "tif"])
def test_cmyk_goes_to_srgb_through_its_profile(tmp_path, ext, net):
    cm = np.array([[[255, 0, 0, 0], [0, 0, 0, 255], [0, 255, 0, 0], [0, 0, 0, 0]]], np.uint8).repeat(8, 0).repeat(8, 1)
    Image.fromarray(cm, "CMYK").save(tmp_path/f"c.{ext}", icc_profile=cmyk_profile(), quality=100)
    d, ws = caught(lambda: _decode(tmp_path/f"c.{ext}"))
    assert ws == [f"{tmp_path/f'c.{ext}'}: CMYK converted to sRGB through its ICC profile; written as RGB with an sRGB profile"]
    naive = np.asarray(Image.open(tmp_path/f"c.{ext}").convert("RGB")).astype(int)   # what the colours mean
    assert np.abs(d.rgb.astype(int) - naive).max() <= 8 and E._icc_space(d.meta["icc_profile"]) == "RGB"
    for out in ("o.jpg", "o.png", "o.tif"):   # written with an sRGB profile, never the CMYK one
        caught(lambda: enhance_file(tmp_path/f"c.{ext}", tmp_path/out, net))
        with Image.open(tmp_path/out) as im: assert im.mode == "RGB" and E._icc_space(im.info.get("icc_profile")) == "RGB"

def test_cmyk_without_profile_is_written_without_one(tmp_path, net):
    Image.fromarray(np.zeros((8, 8, 4), np.uint8), "CMYK").save(tmp_path/"c.jpg")
    _, ws = caught(lambda: enhance_file(tmp_path/"c.jpg", tmp_path/"o.jpg", net))
    assert len(ws) == 1 and "without colour management" in ws[0] and "\n" not in ws[0]
    with Image.open(tmp_path/"o.jpg") as im: assert im.mode == "RGB" and not im.info.get("icc_profile")

def test_a_profile_of_another_colour_space_is_not_written(tmp_path):
    _, ws = caught(lambda: save_image(U8, tmp_path/"o.png", meta={"icc_profile": cmyk_profile()}))
    assert len(ws) == 1 and "describes CMYK, not RGB pixels: not written" in ws[0]
    with Image.open(tmp_path/"o.png") as im: assert "icc_profile" not in im.info

# ------------------------------------------------------------------ float and signed TIFF
def test_float_tiff_in_range_is_read_with_its_range(tmp_path):
    f = np.linspace(0.1, 0.9, 24 * 32 * 3, dtype=np.float32).reshape(24, 32, 3)
    tifffile.imwrite(tmp_path/"f.tif", f, photometric="rgb")
    d, ws = caught(lambda: _decode(tmp_path/"f.tif"))
    assert d.rgb.dtype == np.uint16 and np.abs(d.rgb / 65535 - f).max() < 1e-4
    assert len(ws) == 1 and "32-bit float TIFF read as values in [0,1] (min 0.1, max 0.9)" in ws[0]

@pytest.mark.parametrize("a,msg", [
    (np.full((8, 8), 3.5, np.float32), "32-bit float TIFF with values from 3.5 to 3.5: float photos must lie in [0,1]"),
    (np.full((8, 8), np.nan, np.float64), "64-bit float TIFF holding 64 NaN or Inf values"),
    (np.arange(-32, 32, dtype=np.int16).reshape(8, 8), "16-bit signed integer TIFF (values -32 to 31): signed samples have no fixed black and white level"),
])
def test_float_or_signed_tiff_refused_with_the_reason(tmp_path, a, msg):
    tifffile.imwrite(tmp_path/"x.tif", a)
    with pytest.raises(ImageError) as e: read_image(tmp_path/"x.tif")
    assert msg in str(e.value) and "not an image" not in str(e.value) and "\n" not in str(e.value)

# ------------------------------------------------------------------ what a format cannot hold: a warning, the photo still written
def test_transparency_dropped_for_jpeg_is_a_warning(tmp_path):
    rgba = np.dstack([U8, np.full(U8.shape[:2], 128, np.uint8)])
    _, ws = caught(lambda: save_image(rgba, tmp_path/"o.jpg"))
    assert ws == [f"{tmp_path/'o.jpg'}: JPG has no transparency: the alpha channel is dropped (use --format png to keep it)"]
    _, ws = caught(lambda: save_image(np.dstack([U8, np.full(U8.shape[:2], 255, np.uint8)]), tmp_path/"p.jpg"))
    assert ws == []   # an opaque alpha channel loses nothing
    _, ws = caught(lambda: save_image(U16, tmp_path/"q.jpg"))
    assert len(ws) == 1 and "the 16-bit image is written with 8" in ws[0]

def test_exif_too_large_for_jpeg_is_dropped_and_the_photo_written(tmp_path, net):
    ex = Image.Exif(); ex[0x010F] = "Camera maker"; ex[0x9286] = b"ASCII\0\0\0" + b"x" * 70_000   # a huge user comment
    Image.fromarray(U8).save(tmp_path/"big.png", exif=ex)
    _, ws = caught(lambda: enhance_file(tmp_path/"big.png", tmp_path/"o.jpg", net))
    assert len(ws) == 1 and "is larger than JPEG can hold (65,533): dropped" in ws[0]
    assert read_image(tmp_path/"o.jpg").shape == (24, 32, 3)
    enhance_file(tmp_path/"big.png", tmp_path/"o.png", net)   # PNG holds it: kept
    with Image.open(tmp_path/"o.png") as im: assert im.getexif().get(0x010F) == "Camera maker"

# ------------------------------------------------------------------ TIFF extra samples come back as they came
@pytest.mark.parametrize("code,depth", [(0, np.uint16), (1, np.uint16), (2, np.uint8), (1, np.uint8)])
def test_extra_samples_written_back_as_they_came(tmp_path, net, code, depth):
    top = np.iinfo(depth).max
    alpha = np.linspace(0, top, 24 * 32).reshape(24, 32).astype(depth)
    rgb = (U16 if depth == np.uint16 else U8)
    if code == 1: rgb = np.rint(rgb * (alpha[..., None] / top)).astype(depth)   # associated alpha: colours premultiplied
    tifffile.imwrite(tmp_path/"x.tif", np.dstack([rgb, alpha]), photometric="rgb", extrasamples=[code])
    enhance_file(tmp_path/"x.tif", tmp_path/"o.tif", net)
    _, dt, _, xs, o = first_page(tmp_path/"o.tif")
    assert xs == (code,) and dt == depth
    assert (o[..., 3] == alpha).all()                                            # the extra sample itself: unchanged
    if code == 1: assert (o[..., :3].astype(int) <= o[..., 3:].astype(int)).all()   # still premultiplied

# ------------------------------------------------------------------ folders: every readable extension, and what was skipped
def test_folder_scan_takes_every_readable_extension_and_says_what_it_skipped(tmp_path):
    d = tmp_path/"in"; d.mkdir()
    for ext in ("jfif", "jpe", "jpg"): Image.fromarray(U8).save(d/f"a_{ext}.{ext}", format="JPEG")
    exts = [".jfif", ".jpe", ".jpg"]
    if ".avif" in IMAGE_EXTS and Image.registered_extensions().get(".avif") in Image.SAVE:
        Image.fromarray(U8).save(d/"a_avif.avif"); exts.append(".avif")
    (d/"notes.txt").write_text("a note"); (d/"a_jpg.xmp").write_text("<x:xmpmeta/>")
    before = snapshot(d)
    rc, lines = sclle("enhance", d, "-o", tmp_path/"out", "-w", "random", "-q")
    one_line_each(lines)
    assert rc == 0 and sorted(p.stem for p in (tmp_path/"out").iterdir()) == sorted(f"a_{e[1:]}" for e in exts), lines
    note = [l for l in lines if "note:" in l]
    assert len(note) == 1 and "2 files not an extension Pillow or tifffile reads" in note[0] and "notes.txt" in note[0], lines
    assert "2 other files not taken" in lines[-1] and snapshot(d) == before

def test_second_run_into_the_same_folder_never_takes_the_first_runs_outputs(tmp_path):
    d = tmp_path/"photos"; d.mkdir()
    for n in ("a", "b"): Image.fromarray(U8).save(d/f"{n}.png")
    rc, lines = sclle("enhance", d, "-o", d, "--suffix", "_lit", "-w", "random", "-q")
    assert rc == 0 and sorted(p.name for p in d.iterdir()) == ["a.png", "a_lit.png", "b.png", "b_lit.png"], lines
    os.chmod(d/"a_lit.png", 0o640); os.chmod(d/"b_lit.png", 0o444)   # private, and read-only
    before = snapshot(d)
    rc, lines = sclle("enhance", d, "-o", d, "--suffix", "_lit", "-w", "random", "-q")
    one_line_each(lines)
    assert rc == 0 and snapshot(d) == before, lines                       # no a_lit_lit.png; nothing changed
    assert any("note: not taken: 2 files named like an output of an earlier run (--suffix _lit)" in l for l in lines)
    rc, lines = sclle("enhance", d, "-o", d, "--suffix", "_lit", "-w", "random", "-q", "--overwrite")
    after = snapshot(d)
    assert rc == 0 and sorted(after) == sorted(before), lines
    assert (after[str(d/"a_lit.png")][1], after[str(d/"b_lit.png")][1]) == (0o640, 0o444)           # permissions kept
    assert all(after[str(d/f"{n}.png")] == before[str(d/f"{n}.png")] for n in "ab")                # inputs untouched

# ------------------------------------------------------------------ the no-overwrite rule for enhance's outputs
def test_outputs_never_an_input_a_link_or_a_fifo(tmp_path):
    d, o = tmp_path/"in", tmp_path/"out"; d.mkdir(); o.mkdir()
    Image.fromarray(U8).save(d/"a.png"); Image.fromarray(U8).save(d/"b.png"); Image.fromarray(U8).save(d/"c.png")
    (tmp_path/"elsewhere.png").write_bytes(b"precious"); (o/"a.png").symlink_to(tmp_path/"elsewhere.png")
    os.mkfifo(o/"b.png")
    os.link(d/"c.png", o/"c.png")                                             # the output name is the input itself
    before = snapshot(tmp_path)
    rc, lines = sclle("enhance", d, "-o", o, "-w", "random", "-q", "--overwrite")
    one_line_each(lines)
    errs = [l for l in lines if "error:" in l]
    assert rc == 1 and len(errs) == 3 and snapshot(tmp_path) == before, lines
    assert any("a.png is a symbolic link" in l for l in errs) and any("b.png is a FIFO" in l for l in errs)
    assert any("would overwrite an input" in l for l in errs)

# ------------------------------------------------------------------ options and devices: one line naming the option or file
@pytest.mark.parametrize("args,msg", [
    (["--device", "meta"], "--device meta: a meta device cannot run the model"),
    (["--device", "mps"], "--device mps: this machine has no MPS (Apple GPU) device"),
    (["--device", "xpu"], "--device xpu: this machine has no XPU (Intel GPU) device"),
    (["--device", "nonsense"], "--device nonsense: not a device name"),
    (["--tile", "1"], "argument --tile: want 0 (the whole image) or at least 15 pixels, DCE-Net's receptive field"),
    (["--tile", "14"], "at least 15 pixels"),
    (["--max-megapixels", "1e-9"], "argument --max-megapixels: want 0 (no limit) or a positive number"),
    (["--max-megapixels", "-3"], "argument --max-megapixels"),
    (["--weights", "/dev/zero"], "--weights /dev/zero: cannot load weights"),
    (["--weights", "WEIGHTS"], "cannot load weights"),
])
def test_bad_options_are_one_line(tmp_path, args, msg):
    import torch
    if args[:2] == ["--device", "mps"] and torch.backends.mps.is_available(): pytest.skip("this machine has an MPS device")
    if args[:2] == ["--device", "xpu"] and hasattr(torch, "xpu") and torch.xpu.is_available(): pytest.skip("this machine has an XPU")
    Image.fromarray(U8).save(tmp_path/"a.png"); (tmp_path/"w.pth").write_bytes(b"\x80\x02}q\x00.")   # a pickle, not a checkpoint
    args = [str(tmp_path/"w.pth") if a == "WEIGHTS" else a for a in args]
    before = snapshot(tmp_path)
    rc, lines = sclle("enhance", tmp_path/"a.png", "-o", tmp_path/"out", *(["-w", "random"] if "--weights" not in args else []), "-q", *args)
    assert rc == 2 and len(lines) == 1 and msg in lines[0], lines
    assert lines[0].startswith("sclle enhance: error:") and snapshot(tmp_path) == before and not (tmp_path/"out").exists()

def test_tile_of_one_receptive_field_works(tmp_path):
    Image.fromarray(U8).save(tmp_path/"a.png")
    rc, lines = sclle("enhance", tmp_path/"a.png", "-o", tmp_path/"out", "-w", "random", "-q", "--tile", "15")
    assert rc == 0 and (tmp_path/"out"/"a.png").exists(), lines

def test_python_warnings_become_one_line(tmp_path):
    "A warning raised anywhere inside (here by a stand-in network) is printed in the package's one-line style."
    Image.fromarray(U8).save(tmp_path/"a.png")
    code = ("import sys, warnings; from unittest import mock; import sclle_nb.enhancer as E; from sclle_nb.cli import main\n"
            "def noisy(m, x, **k):\n    warnings.warn('something odd\\nsecond line', RuntimeWarning); return x\n"
            "with mock.patch.object(E, 'infer', noisy): sys.exit(main(sys.argv[1:]))")
    r = subprocess.run([sys.executable, "-c", code, "enhance", str(tmp_path/"a.png"), "-o", str(tmp_path/"o"), "-w", "random", "-q"],
                       capture_output=True, text=True, timeout=300)
    lines = r.stderr.splitlines()
    one_line_each(lines)
    assert r.returncode == 0 and any(l.endswith("a.png: something odd") and "warning:" in l for l in lines), lines

# ------------------------------------------------------------------ the near-limit bomb
def bomb_png(path:Path, w:int, h:int)->int:
    "An 8-bit RGB PNG of w x h black pixels, deflated to almost nothing; its size in bytes."
    z, row = zlib.compressobj(9), b"\0" * (1 + 3 * w)
    idat = b"".join(z.compress(row) for _ in range(h)) + z.flush()
    path.write_bytes(PNG_SIG + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))
    return path.stat().st_size

CHILD = r'''
import sys, json, resource, io
from contextlib import redirect_stderr
from unittest import mock
import sclle_nb.enhancer as E
from sclle_nb.cli import main
seen = []
def stand_in(model, x, **opts):   # DCE-Net itself on 49 MP is minutes of CPU: only the memory is measured here
    if x.shape[-1] > 8: seen.append(list(x.shape))
    return x
err = io.StringIO()
with mock.patch.object(E, "infer", stand_in), redirect_stderr(err):
    rc = main(["enhance", *sys.argv[1:], "-w", "random", "-q"])
print(json.dumps(dict(rc=rc, seen=seen, err=err.getvalue(), maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
'''

@pytest.mark.serial   # peak memory: alone, not beside other tests
def test_a_small_file_declaring_49_megapixels_cannot_take_gigabytes(tmp_path):
    w, h = 7000, 7000
    size = bomb_png(tmp_path/"bomb.png", w, h)
    assert size < 200_000 and w * h < E.MAX_PIXELS                  # ~150 kB declaring 49 MP: just under the limit
    r = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path/"bomb.png"), "-o", str(tmp_path/"out")],
                       capture_output=True, text=True, timeout=600)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["rc"] == 0, res["err"]
    # The whole photo never exists as float: one float32 copy alone is 0.59 GB over the 1.17 GB this run needs at
    # least, so 1.7 GB fails on any such copy while leaving room for the allocator's variance between runs (up to 1.57 GB seen).
    assert res["maxrss_mb"] < 1700, res["maxrss_mb"]
    assert all(s[-1] == w and s[-2] * s[-1] <= E.BAND_PIXELS + 2 * 7 * w for s in res["seen"])   # bands, with their margins
    assert sum(s[-2] for s in res["seen"]) - 2 * 7 * (len(res["seen"]) - 1) == h

def test_memory_budget_is_decided_from_the_header(tmp_path, monkeypatch):
    bomb_png(tmp_path/"bomb.png", 7000, 7000)
    monkeypatch.setattr(E, "MEMORY_BUDGET", 100 << 20)               # a machine with 200 MB to spare
    import time; t = time.perf_counter()
    with pytest.raises(ImageError, match=r"7000x7000 image needs about 0\.\d GiB to decode, over the memory budget of 0\.1 GiB"):
        read_image(tmp_path/"bomb.png")
    assert time.perf_counter() - t < 3                                # refused before decoding a single row

def test_bands_give_the_whole_photos_pixels(monkeypatch, net):
    "Bands of rows with the receptive-field margin: each kept pixel saw what it sees in the whole photo."
    a = RNG.integers(0, 256, (61, 40, 3), dtype=np.uint8)
    whole = E._enhance_array(a, net)
    monkeypatch.setattr(E, "BAND_PIXELS", 40 * 9)                 # bands of 9 rows: 7 of them
    banded = E._enhance_bands(a, net)
    d = np.abs(banded.astype(int) - whole)
    assert d.max() <= 1 and (d == 0).mean() > 0.99                # float summation order at most flips a rounding

def test_damaged_lzw_tiff_is_one_line(tmp_path):
    data = tiff_lzw(U16)
    (tmp_path/"cut.tif").write_bytes(data[:-200])
    flip = bytearray(data); flip[-300:-250] = b"\xff" * 50; (tmp_path/"flip.tif").write_bytes(bytes(flip))
    for name in ("cut.tif", "flip.tif"):
        with pytest.raises(ImageError) as e: read_image(tmp_path/name)
        assert str(e.value).startswith(f"{tmp_path/name}: corrupt or truncated TIFF") and "\n" not in str(e.value), e.value
