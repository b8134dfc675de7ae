"""The static docs site (tools/build_site.py) in a real browser: every page loads without console errors, shows its
sidebar and its figures, asks nothing from another host, and the kernel-free sliders change the shown image.

The site is built here unless _site/ is newer than every notebook and the builder (CI can build it in an earlier step),
or SCLLE_SITE_PREBUILT=1 says to use the _site/ that is there.
Screenshots: screenshots/site_*.png."""
import functools, http.server, json, os, re, socketserver, subprocess, sys, threading, time
from pathlib import Path
import pytest
from _browser import ROOT, need_browser, launch, shot

SITE = ROOT/"_site"
INPUTS = [*(ROOT/"nbs").glob("*.ipynb"), ROOT/"nbs"/"styles.css", ROOT/"tools"/"build_site.py",
          *(ROOT/"tools"/"site_template").rglob("*")]

def _fresh()->bool:
    pj = SITE/"pages.json"
    if not pj.exists(): return False
    srcs = {p["src"] for p in json.loads(pj.read_text())}
    nbs = {p.name for p in (ROOT/"nbs").glob("*.ipynb") if not p.name.startswith(("_", "."))}
    return nbs <= srcs and pj.stat().st_mtime > max(p.stat().st_mtime for p in INPUTS if p.exists())

@pytest.fixture(scope="module")
def site():
    need_browser()
    if not (os.environ.get("SCLLE_SITE_PREBUILT") and (SITE/"pages.json").exists()) and not _fresh():
        t0 = time.time()
        r = subprocess.run([sys.executable, str(ROOT/"tools"/"build_site.py")], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, f"tools/build_site.py failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
        print(f"site built in {time.time()-t0:.0f}s")
    pages = json.loads((SITE/"pages.json").read_text())

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(SITE)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", pages
    srv.shutdown(); srv.server_close()

@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()

def _open(browser, url):
    "A new page at `url`; returns (page, console errors, requests to other hosts)."
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, foreign = [], []
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("request", lambda r: foreign.append(r.url) if not re.match(r"(https?://127\.0\.0\.1[:/]|data:|blob:|about:)", r.url) else None)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, errors, foreign

def test_every_lesson_is_a_page(site):
    _, pages = site
    nbs = sorted(p.name for p in (ROOT/"nbs").glob("*.ipynb") if not p.name.startswith(("_", ".")))
    assert sorted(p["src"] for p in pages) == nbs
    assert pages[0]["href"] == "index.html"

def test_pages_load_with_sidebar_and_figures(site, browser):
    base, pages = site
    bad = {}
    for pg in pages:
        page, errors, foreign = _open(browser, f"{base}/{pg['href']}")
        side = page.locator("nav.sclle-sidebar")
        assert side.is_visible(), f"{pg['href']}: no sidebar"
        assert side.locator("a[href]").count() == len(pages) + 1, f"{pg['href']}: sidebar does not list every page"
        assert page.locator("nav.sclle-sidebar a.active").get_attribute("href") == pg["href"]
        assert page.locator(".jp-Cell").count() > 0, f"{pg['href']}: no notebook cells rendered"
        broken = page.evaluate("[...document.images].filter(i => i.complete && i.naturalWidth === 0).map(i => i.src.slice(0, 60))")
        shot(page, f"site_{pg['href'].removesuffix('.html')}")
        if errors or foreign or broken: bad[pg["href"]] = dict(errors=errors[:5], foreign=foreign[:5], broken_images=broken[:5])
        page.close()
    assert not bad, f"pages with problems: {json.dumps(bad, indent=1)}"

def test_static_slider_changes_image(site, browser):
    base, pages = site
    assert any(p["href"] == "widgets.html" for p in pages)
    page, errors, _ = _open(browser, f"{base}/widgets.html")
    ss = page.locator(".sclle-static-slider").first
    ss.scroll_into_view_if_needed()
    img, rng = ss.locator("img"), ss.locator("input[type=range]")
    before, label = img.get_attribute("src"), ss.locator(".sclle-ss-label").inner_text()
    shot(page, "site_static_slider_before")
    rng.focus(); page.keyboard.press("ArrowRight")   # what a user does: the range input moves one frame
    page.wait_for_function("([el, s]) => el.src !== s", arg=[img.element_handle(), before], timeout=5000)
    assert ss.locator(".sclle-ss-label").inner_text() != label
    shot(page, "site_static_slider_after")
    assert not errors, errors
    page.close()

def test_embedded_widget_slider_changes_image(site, browser):
    "ipywidgets restored by the local widget manager, linked in the browser (jslink): no kernel."
    base, _ = site
    page, errors, _ = _open(browser, f"{base}/widgets.html")
    box = page.locator(".sclle-embed-slider").first
    box.wait_for(timeout=20000)   # rendered by the widget manager from the saved widget state
    box.scroll_into_view_if_needed()
    visible = lambda: box.evaluate("b => [...b.querySelectorAll('img')].filter(i => i.offsetParent !== null).map(i => i.src)")
    before = visible()
    assert len(before) == 1, f"one image of the stack should show, got {len(before)}"
    shot(page, "site_embed_slider_before")
    box.locator(".noUi-handle").first.focus(); page.keyboard.press("ArrowRight")
    page.wait_for_function("([b, s]) => [...b.querySelectorAll('img')].some(i => i.offsetParent !== null && i.src !== s)",
                           arg=[box.element_handle(), before[0]], timeout=5000)
    shot(page, "site_embed_slider_after")
    assert visible() != before
    assert not errors, errors
    page.close()
