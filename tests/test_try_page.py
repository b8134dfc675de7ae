"""The site's Try-it page (try.html) in a real browser: it loads with no console errors and asks nothing from another
host, and is cross-origin isolated on a plain static server (its service worker adds the headers), so WebAssembly runs
one thread per core; a photo chosen through the file input is enhanced in the page by onnxruntime-web, and the pixels
read back from the result canvas equal the Python package's `enhance` output within 8-bit rounding (at most 1 level
apart), in the exact and the fast mode, for a 12 MP photo in fast mode and for a 16-bit PNG read at 16 bits; the exact
mode's progress bar moves and its Cancel button stops it; a file that is not an image and photos over the limits get a
clear one-line message. Also times a ~1 MP photo in the page, both modes (bench/try_page.py compares with Python).

Uses the same built site as test_browser_site.py (built here when stale; SCLLE_SITE_PREBUILT=1 uses _site/ as it is).
Screenshots: screenshots/try_*.png; timings: screenshots/try_timing.json."""
import base64, json, re
import numpy as np
import pytest
from PIL import Image
from _browser import SHOTS, need_browser, launch, shot, served_site

TOL = 1  # 8-bit levels: the page rounds float32 results to 0..255 as the package does; ties may round apart

@pytest.fixture(scope="module")
def site():
    need_browser()
    with served_site() as s: yield s

@pytest.fixture(scope="module")
def pw(site):
    "One playwright for the module (a second one cannot start inside the first)."
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p: yield p

@pytest.fixture(scope="module")
def page(site, pw):
    base, _ = site
    b = launch(pw)
    pg = b.new_page(viewport={"width": 1280, "height": 1000})
    pg.errors, pg.foreign = [], []
    pg.on("console", lambda m: pg.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(f"page error: {e}"))
    pg.on("request", lambda r: pg.foreign.append(r.url) if not re.match(r"(https?://127\.0\.0\.1[:/]|data:|blob:|about:)", r.url) else None)
    pg.goto(f"{base}/try.html", wait_until="load")
    pg.wait_for_function("() => window.sclleReady === true", timeout=120000)
    yield pg
    b.close()

def photo(tmp_path, name="dark.png", size=None)->tuple:
    "A dark test photo as a PNG file: a real low-light photo when the reference data is here, else a dimmed scikit-image one."
    from sclle_nb.refdata import lime_photos
    from sclle_nb.data import read_rgb8
    lime = lime_photos()
    if lime: img = read_rgb8(lime[2] if len(lime) > 2 else lime[0])
    else:
        from skimage import data
        img = (data.astronaut()[40:415, 10:511].astype(np.float32) * 0.25).astype(np.uint8)   # 375x501: odd sizes
    if size: img = np.asarray(Image.fromarray(img).resize(size, Image.BICUBIC))
    path = tmp_path/name
    Image.fromarray(np.ascontiguousarray(img)).save(path, compress_level=1)   # fast to write; the page decodes any level
    return path, img

def run(page, path, mode, timeout=600000)->dict:
    "Choose `mode`, upload `path` through the file input, wait for the result; the page's report (mode, ms, size)."
    idle(page, timeout)
    set_mode(page, mode)
    page.evaluate("() => { window.sclleLast = null; }")
    page.set_input_files("#file", str(path))
    page.wait_for_function("() => window.sclleLast || !document.getElementById('message').hidden", timeout=timeout)
    assert page.locator("#message").is_hidden(), page.locator("#message").inner_text()
    return page.evaluate("() => window.sclleLast")

def set_mode(page, mode):
    "Choose the mode without its change event, which would first enhance the photo already shown again in that mode."
    page.evaluate("m => { document.querySelector(`input[name=mode][value=${m}]`).checked = true; }", mode)

def idle(page, timeout=600000):
    "Wait until no run is in progress (the Cancel button shows only during one)."
    page.wait_for_timeout(50)   # a run that a mode change starts begins after the change event
    page.wait_for_function("() => !window.sclleBusy() && document.getElementById('cancel').hidden", timeout=timeout)

def pixels(page, h, w, y0=0)->np.ndarray:
    "Rows y0..y0+h-1 of the result canvas as (h,w,3) uint8."
    b64 = page.evaluate(f"""() => {{   // base64 of the RGBA bytes: a list of a million numbers is slow to pass
        const d = document.getElementById('after').getContext('2d').getImageData(0, {y0}, {w}, {h}).data; let s = '';
        for (let i = 0; i < d.length; i += 32768) s += String.fromCharCode.apply(null, d.subarray(i, i + 32768));
        return btoa(s); }}""")
    return np.frombuffer(base64.b64decode(b64), dtype=np.uint8).reshape(h, w, 4)[..., :3]

def test_page_loads(page):
    assert "never leaves your machine" in page.locator("#privacy").inner_text()
    assert page.evaluate("crossOriginIsolated"), "the service worker should make the page cross-origin isolated"
    cores = page.evaluate("navigator.hardwareConcurrency")
    assert page.evaluate("ort.env.wasm.numThreads") == min(cores, 16)
    assert f"{min(cores, 16)} WebAssembly thread" in page.locator("#engine").inner_text()
    assert page.locator("#file").get_attribute("accept") == "image/*"
    shot(page, "try_loaded")
    assert not page.errors and not page.foreign, (page.errors, page.foreign)

@pytest.mark.parametrize("mode,scale", [("exact", 1.0), ("fast", 0.25)])
def test_result_equals_python(page, tmp_path, mode, scale):
    from sclle_nb.enhancer import enhance
    path, img = photo(tmp_path)
    rep = run(page, path, mode)
    assert (rep["mode"], rep["width"], rep["height"]) == (mode, img.shape[1], img.shape[0])
    got, want = pixels(page, *img.shape[:2]).astype(int), enhance(img, **({} if scale == 1 else dict(scale=scale))).astype(int)
    d = np.abs(got - want)
    print(f"{mode}: {img.shape[1]}x{img.shape[0]} max |page - python| = {d.max()} levels, {np.count_nonzero(d)} of {d.size} values differ")
    assert d.max() <= TOL
    assert np.mean(d > 0) < 0.01     # differences are rare rounding ties, not a systematic shift
    link = page.locator("#download")
    link.wait_for(state="visible")
    assert link.get_attribute("href").startswith("blob:") and link.get_attribute("download") == "dark_enhanced.png"
    page.locator("#result").scroll_into_view_if_needed()
    shot(page, f"try_{mode}")
    assert not page.errors and not page.foreign, (page.errors, page.foreign)

def test_not_an_image(page, tmp_path):
    bad = tmp_path/"notes.txt"; bad.write_text("not a photo")
    page.set_input_files("#file", str(bad))
    msg = page.locator("#message")
    msg.wait_for(state="visible", timeout=10000)
    assert "notes.txt is not an image" in msg.inner_text()
    fake = tmp_path/"broken.png"; fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 10)
    page.set_input_files("#file", str(fake))
    page.wait_for_function("() => /broken\\.png could not be read/.test(document.getElementById('message').textContent)", timeout=10000)
    assert page.locator("#result").is_hidden() and page.locator("#download").is_hidden()   # no stale result beside the message
    shot(page, "try_not_an_image")
    assert not page.errors, page.errors

def test_time_one_megapixel(page, tmp_path):
    "In-page time for a ~1 MP photo, exact and fast (one WebAssembly thread: a plain local server is not cross-origin isolated)."
    path, img = photo(tmp_path, "one_mp.png", size=(1152, 864))
    times = {}
    for mode in ("fast", "exact"):
        rep = run(page, path, mode)
        times[mode] = round(rep["ms"] / 1000, 2)
        steps = page.evaluate("() => window.sclleProgress")
        if mode == "exact": steps = [v for v in steps if v is not None]   # (a busy bar while the model loads)
        if mode == "exact": assert len(steps) > 2 and steps[-1] == 1 and steps == sorted(steps), steps   # tile by tile
        else: assert None in steps, steps   # a busy bar while the one run goes
    mp = img.shape[0] * img.shape[1] / 1e6
    print(f"in-browser time for {img.shape[1]}x{img.shape[0]} ({mp:.2f} MP): exact {times['exact']} s, fast {times['fast']} s")
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS/"try_timing.json").write_text(json.dumps({"width": img.shape[1], "height": img.shape[0], "seconds": times}, indent=1))
    assert times["fast"] < times["exact"]
    assert not page.errors, page.errors

def test_size_limits(page, tmp_path):
    "Photos above the page's limits (24 MP exact, 36 MP fast) get a one-line message naming the file and the limit, no result."
    idle(page)
    big = tmp_path/"big.png"; Image.new("RGB", (5000, 5000), (20, 15, 10)).save(big)      # 25 MP: fast yes, exact no
    idle(page); set_mode(page, "exact")
    page.set_input_files("#file", str(big))
    page.wait_for_function("() => /big\\.png is 25\\.0 megapixels: the exact mode takes photos up to 24 MP; choose the fast mode \\(up to 36 MP\\)/.test(document.getElementById('message').textContent)", timeout=60000)
    assert page.locator("#result").is_hidden()
    huge = tmp_path/"huge.png"; Image.new("RGB", (6100, 6100), (20, 15, 10)).save(huge)   # 37.2 MP
    page.set_input_files("#file", str(huge))
    page.wait_for_function("() => /huge\\.png is 37\\.2 megapixels: the fast mode takes photos up to 36 MP; for larger photos, run sclle enhance/.test(document.getElementById('message').textContent)", timeout=60000)
    assert "`" not in page.locator("#message").inner_text()
    shot(page, "try_size_limit")
    assert not page.errors, page.errors

def test_exact_progress_moves_and_cancel_stops_it(page, tmp_path):
    path, _ = photo(tmp_path, "six_mp.png", size=(3000, 2000))    # 24 tiles: long enough to cancel
    idle(page); set_mode(page, "exact")
    page.evaluate("() => { window.sclleLast = null; window.sclleProgress = []; }")
    page.set_input_files("#file", str(path))
    page.wait_for_function("() => window.sclleProgress.some(v => v > 0 && v < 1)", timeout=300000)
    assert page.locator("#cancel").is_visible() and page.locator("#progress").is_visible()
    assert page.locator("input[name=mode][value=fast]").is_enabled()             # the controls stay usable
    page.click("#cancel")
    shot(page, "try_exact_cancelling")
    page.wait_for_function("() => document.getElementById('status').textContent === 'Cancelled.'", timeout=120000)
    steps = page.evaluate("() => window.sclleProgress.filter(v => v !== null)")
    assert steps == sorted(steps) and 0 < steps[-1] < 1, steps                   # it moved, and stopped before the end
    assert page.evaluate("() => window.sclleLast") is None and page.locator("#result").is_hidden()
    assert page.locator("#cancel").is_hidden() and page.locator("#message").is_hidden()
    assert not page.errors, page.errors

def test_fast_mode_takes_a_12_mp_photo(page, tmp_path):
    from sclle_nb.enhancer import enhance
    path, img = photo(tmp_path, "phone.png", size=(4000, 3000))
    rep = run(page, path, "fast")
    assert (rep["width"], rep["height"]) == (4000, 3000)
    want = enhance(img, scale=0.25)
    for y0 in (0, 1499, 2936):                                                   # bands at the top, middle and bottom
        d = np.abs(pixels(page, 64, 4000, y0).astype(int) - want[y0:y0+64].astype(int))
        assert d.max() <= TOL and np.mean(d > 0) < 0.01, (y0, d.max(), np.mean(d > 0))
    print(f"fast mode, 4000x3000: {rep['ms']/1000:.1f} s in the page ({rep['threads']} threads)")
    assert not page.errors, page.errors

def test_sixteen_bit_png_is_read_at_16_bits(page, tmp_path):
    from sclle_nb.enhancer import enhance, png16_bytes
    _, img8 = photo(tmp_path)
    rng = np.random.default_rng(0)
    img16 = (img8.astype(np.uint16) * 257 + rng.integers(0, 257, img8.shape)).astype(np.uint16)   # low bytes that matter
    path = tmp_path/"deep.png"; path.write_bytes(png16_bytes(img16))
    for mode in ("exact", "fast"):
        rep = run(page, path, mode)
        assert rep["bits"] == 16
        want = enhance(img16, **({} if mode == "exact" else dict(scale=0.25)))
        assert want.dtype == np.uint16
        d = np.abs(pixels(page, *img16.shape[:2]).astype(int) - np.rint(want / 257).astype(int))
        assert d.max() <= TOL and np.mean(d > 0) < 0.01, (mode, d.max(), np.mean(d > 0))
    assert page.locator("#download").inner_text().endswith("(16-bit PNG)")
    with page.expect_download() as dl: page.click("#download")
    from sclle_nb.enhancer import _decode
    got = _decode(dl.value.path(), None).rgb[..., :3]                                  # the package's own 16-bit reader
    assert got.dtype == np.uint16 and got.shape == want.shape
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 257              # fast mode's 16-bit result, within a level
    shot(page, "try_16bit")
    assert not page.errors, page.errors

def test_webgpu_equals_python(site, pw, tmp_path):
    "WebGPU (chromium's software adapter here): the fast mode's network on the GPU backend, pixels as Python's."
    from sclle_nb.enhancer import enhance
    from _browser import CHROMIUM, ARGS
    base, _ = site
    path, img = photo(tmp_path)
    args = [a for a in ARGS if a != "--disable-gpu"] + ["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader", "--enable-features=Vulkan"]
    b = pw.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
    pg = b.new_page(viewport={"width": 1280, "height": 1000}); pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(f"{base}/try.html?ep=webgpu", wait_until="load")
    pg.wait_for_function("() => window.sclleReady === true", timeout=300000)   # (after the service worker's one reload)
    if not pg.evaluate("async () => !!(navigator.gpu && await navigator.gpu.requestAdapter())"):
        b.close(); pytest.skip("this chromium offers no WebGPU adapter")
    assert "GPU (WebGPU)" in pg.locator("#engine").inner_text()
    rep = run(pg, path, "fast")
    assert rep["threads"] == "webgpu"
    d = np.abs(pixels(pg, *img.shape[:2]).astype(int) - enhance(img, scale=0.25).astype(int))
    print(f"WebGPU fast: {img.shape[1]}x{img.shape[0]} in {rep['ms']/1000:.1f} s, max |page - python| = {d.max()}")
    assert d.max() <= TOL and np.mean(d > 0) < 0.01
    shot(pg, "try_webgpu")
    assert not pg.errors, pg.errors
    b.close()
