"""Helpers for the browser tests: Debian's chromium through playwright (never a downloaded browser), free ports,
screenshots, and the static docs site built (when stale) and served on localhost."""
import contextlib, fcntl, functools, http.server, json, os, socket, socketserver, subprocess, sys, threading, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get("SCLLE_SCREENSHOTS", ROOT/"screenshots"))
CHROMIUM = os.environ.get("SCLLE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

def free_port()->int:
    "A free TCP port on localhost."
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def need_browser():
    "Skip (locally) or fail (CI) when chromium or playwright is missing: CI must run these tests."
    why = None
    if not Path(CHROMIUM).exists(): why = f"{CHROMIUM} not found (tools/ci_system_deps.sh installs Debian's chromium)"
    else:
        try: import playwright.sync_api  # noqa: F401
        except ImportError: why = "the playwright Python package is not installed (pip install -e .[dev])"
    if why:
        if os.environ.get("CI"): pytest.fail(why)
        pytest.skip(why)

def launch(p):
    "Launch Debian's chromium headless with playwright."
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)

def shot(page, name:str)->Path:
    "Save a screenshot under screenshots/ and return its path."
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS/f"{name}.png"
    page.screenshot(path=str(path))
    return path

SITE = ROOT/"_site"
SITE_INPUTS = [*(ROOT/"nbs").glob("*.ipynb"), ROOT/"nbs"/"styles.css", ROOT/"tools"/"build_site.py",
               *(ROOT/"tools"/"site_template").rglob("*")]

def site_fresh()->bool:
    "Is _site/ newer than every notebook, the builder and its templates, and does it list every lesson?"
    pj = SITE/"pages.json"
    if not pj.exists(): return False
    srcs = {p["src"] for p in json.loads(pj.read_text())}
    nbs = {p.name for p in (ROOT/"nbs").glob("*.ipynb") if not p.name.startswith(("_", "."))}
    return nbs <= srcs and pj.stat().st_mtime > max(p.stat().st_mtime for p in SITE_INPUTS if p.exists())

@contextlib.contextmanager
def served_site():
    "Build _site/ unless it is fresh (or SCLLE_SITE_PREBUILT=1 says to use it), serve it on localhost: (base url, pages)."
    with open(ROOT/".site-build.lock", "w") as lock:    # tests run in parallel (pytest -n) build the site once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (os.environ.get("SCLLE_SITE_PREBUILT") and (SITE/"pages.json").exists()) and not site_fresh():
            t0 = time.time()
            r = subprocess.run([sys.executable, str(ROOT/"tools"/"build_site.py")], cwd=ROOT, capture_output=True, text=True)
            assert r.returncode == 0, f"tools/build_site.py failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
            print(f"site built in {time.time()-t0:.0f}s")
    pages = json.loads((SITE/"pages.json").read_text())
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
        def handle(self):
            try: super().handle()
            except (BrokenPipeError, ConnectionResetError): pass   # the browser dropped a request it no longer needs
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(SITE)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try: yield f"http://127.0.0.1:{srv.server_address[1]}", pages
    finally: srv.shutdown(); srv.server_close()
