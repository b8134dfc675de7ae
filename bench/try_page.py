#!/usr/bin/env python
"""Time the docs site's Try-it page (try.html, onnxruntime-web in Debian's chromium) against Python's warm `enhance` on
the same photo, in the same run, and print a table: seconds and the page/Python ratio for each size, mode and thread
count, and the largest difference from Python's pixels (8-bit levels).

Usage: python bench/try_page.py [--sizes 1,2,12] [--threads 1,0] [--exact-max-mp 12] [--rounds 1]
(threads 0 = one per core, which needs the page cross-origin isolated: its service worker does that on a plain server).
Needs a built site (python tools/build_site.py) and /usr/bin/chromium with the playwright package."""
import argparse, functools, http.server, os, socketserver, statistics, sys, tempfile, threading, time
from pathlib import Path
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SIZES = {1: (1152, 864), 2: (1632, 1224), 12: (4000, 3000), 24: (5664, 4248)}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

def serve(folder:Path)->str:
    "Serve `folder` on localhost (a plain static server, as `python -m http.server`); its base URL."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
        def handle(self):
            try: super().handle()
            except (BrokenPipeError, ConnectionResetError): pass
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{srv.server_address[1]}"

def photo(size)->np.ndarray:
    "A dark photo of `size` (w, h): a real low-light photo when the reference data is here, else a dimmed sample image."
    from sclle_nb.refdata import lime_photos
    from sclle_nb.data import read_rgb8
    lime = lime_photos()
    if lime: img = read_rgb8(lime[2] if len(lime) > 2 else lime[0])
    else:
        from skimage import data
        img = (data.astronaut().astype(np.float32) * 0.25).astype(np.uint8)
    return np.asarray(Image.fromarray(img).resize(size, Image.BICUBIC))

def python_time(img, mode, rounds)->tuple[float, np.ndarray]:
    "Median seconds of Python's warm `enhance` (one untimed run first), and its output."
    from sclle_nb.enhancer import enhance
    kw = {} if mode == "exact" else dict(scale=0.25)
    out = enhance(img, **kw); ts = []
    for _ in range(rounds): t = time.perf_counter(); enhance(img, **kw); ts.append(time.perf_counter() - t)
    return statistics.median(ts), out

class Page:
    "The Try-it page in chromium, at a thread count (0: one per core)."
    def __init__(self, browser, base, threads):
        self.pg = browser.new_page(viewport={"width": 1280, "height": 900})
        self.pg.goto(f"{base}/try.html" + (f"?threads={threads}" if threads else ""), wait_until="load")
        self.pg.wait_for_function("() => window.sclleReady === true", timeout=300000)
        self.threads = self.pg.evaluate("ort.env.wasm.numThreads")
        self.isolated = self.pg.evaluate("crossOriginIsolated")
    def run(self, path, mode, h, w)->tuple[dict, np.ndarray]:
        pg = self.pg
        idle = lambda: (pg.wait_for_timeout(50), pg.wait_for_function("() => !window.sclleBusy()", timeout=900000))
        idle()   # the mode set without its change event, which would enhance the photo already shown again
        pg.evaluate("m => { document.querySelector(`input[name=mode][value=${m}]`).checked = true; }", mode)
        pg.evaluate("() => { window.sclleLast = null; }")
        pg.set_input_files("#file", str(path))
        pg.wait_for_function("() => window.sclleLast || !document.getElementById('message').hidden", timeout=900000)
        rep = pg.evaluate("() => window.sclleLast")
        if rep is None: raise SystemExit(f"the page said: {pg.locator('#message').inner_text()}")
        flat = pg.evaluate(f"() => Array.from(document.getElementById('after').getContext('2d').getImageData(0, 0, {w}, {h}).data)") if w * h <= 2.5e6 else None
        return rep, (None if flat is None else np.array(flat, dtype=np.uint8).reshape(h, w, 4)[..., :3])

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,2,12", help="megapixels, of 1, 2, 12, 24")
    ap.add_argument("--threads", default="1,0", help="page thread counts to time (0: one per core)")
    ap.add_argument("--exact-max-mp", type=float, default=12, help="time the exact mode only up to this size")
    ap.add_argument("--exact-max-mp-1thread", type=float, default=2, help="... and on one thread only up to this size")
    ap.add_argument("--rounds", type=int, default=1, help="timed Python rounds (median)")
    a = ap.parse_args(argv)
    site = ROOT/"_site"
    if not (site/"try.html").exists(): raise SystemExit("no _site/try.html: run python tools/build_site.py first")
    from playwright.sync_api import sync_playwright
    import torch
    base, rows = serve(site), []
    tmp = Path(tempfile.mkdtemp())
    warm = tmp/"warm.png"; Image.fromarray(photo((320, 240))).save(warm)
    runs = []   # (size, mode, photo path, Python seconds, Python's pixels)
    for mp in map(int, a.sizes.split(",")):
        w, h = SIZES[mp]; img = photo((w, h)); path = tmp/f"photo_{mp}mp.png"; Image.fromarray(img).save(path)
        for mode in ("exact", "fast"):
            if mode == "exact" and mp > a.exact_max_mp: continue
            py, want = python_time(img, mode, a.rounds)
            runs.append((mp, (w, h), mode, path, py, want if w * h <= 2.5e6 else None))
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=os.environ.get("SCLLE_CHROMIUM", "/usr/bin/chromium"), args=ARGS, headless=True)
        for t in map(int, a.threads.split(",")):   # one page at a time: an idle page's workers would share the cores
            pgx = Page(b, base, t)
            for m in ("fast", "exact"): pgx.run(warm, m, 240, 320)   # session created, code warm
            for mp, (w, h), mode, path, py, want in runs:
                if mode == "exact" and pgx.threads == 1 and mp > a.exact_max_mp_1thread: continue
                rep, got = pgx.run(path, mode, h, w)
                diff = "" if got is None or want is None else int(np.abs(got.astype(int) - want.astype(int)).max())
                rows.append((f"{w}x{h}", f"{w*h/1e6:.1f}", mode, f"{pgx.threads}" + ("" if pgx.isolated else " (not isolated)"),
                             f"{py:.2f}", f"{rep['ms']/1000:.2f}", f"{rep['ms']/1000/py:.1f}x", str(diff)))
                print(" | ".join(rows[-1]), flush=True)
            pgx.pg.close()
        b.close()
    rows.sort(key=lambda r: (float(r[1]), r[2] != "exact", r[3]))
    head = ("photo", "MP", "mode", "page threads", "Python s", "page s", "page/Python", "max diff")
    print(f"\nTry-it page vs Python's warm enhance (torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{os.cpu_count()} cores; chromium, onnxruntime-web WebAssembly)")
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in rows: print("| " + " | ".join(r) + " |")

if __name__ == "__main__": main()
