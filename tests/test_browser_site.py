"""The static docs site (tools/build_site.py) in a real browser: every page loads without console errors, shows its
sidebar and its figures, asks nothing from another host, and the kernel-free sliders change the shown image; on every
page whose notebook has $ math, MathJax has typeset it and no raw TeX is left in the visible text.

The site is built here unless _site/ is newer than every notebook and the builder (CI can build it in an earlier step),
or SCLLE_SITE_PREBUILT=1 says to use the _site/ that is there.
Screenshots: screenshots/site_*.png."""
import json, re
from pathlib import Path
import pytest
from _browser import ROOT, need_browser, launch, shot, served_site

@pytest.fixture(scope="module")
def site():
    need_browser()
    with served_site() as s: yield s

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

_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
_TEX = re.compile(r"\$\$.+?\$\$|\$[^$\s][^$\n]*?\$|\\\(|\\\[", re.S)

def has_math(nb:Path)->bool:
    "Does the notebook have $ math in a markdown cell, or a widget label with math in its saved state?"
    d = json.loads(nb.read_text())
    md = "\n".join("".join(c["source"]) for c in d["cells"] if c["cell_type"] == "markdown")
    labels = json.dumps(d.get("metadata", {}).get("widgets", {}))
    return bool(_TEX.search(_CODE.sub("", md)) or re.search(r'"description": "[^"]*\$[^"$]+\$', labels))

_TEXT_JS = """() => [...document.querySelectorAll('.jp-RenderedMarkdown, .jp-RenderedHTMLCommon, .widget-label, .widget-html-content')]
    .filter(e => !e.closest('.jp-InputArea-editor, .jp-RenderedText')).map(e => {
        const c = e.cloneNode(true);   // code and typeset math are not raw TeX
        c.querySelectorAll('pre, code, mjx-container, script, style').forEach(x => x.remove());
        return c.textContent; }).join('\\n')"""

@pytest.fixture(scope="module")
def visits(site, browser):
    "Every page opened once: what the page-load and the math tests check, page by page."
    base, pages = site
    out = {}
    for pg in pages:
        page, errors, foreign = _open(browser, f"{base}/{pg['href']}")
        side = page.locator("nav.sclle-sidebar")
        v = dict(sidebar=side.is_visible(), links=side.locator("a[href]").count(),
                 active=page.locator("nav.sclle-sidebar a.active").get_attribute("href"), cells=page.locator(".jp-Cell").count(),
                 broken=page.evaluate("[...document.images].filter(i => i.complete && i.naturalWidth === 0).map(i => i.src.slice(0, 60))"),
                 math=has_math(ROOT/"nbs"/pg["src"]))
        shot(page, f"site_{pg['href'].removesuffix('.html')}")
        if v["math"]:
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
            v["typeset"] = page.evaluate("() => MathJax.startup.promise.then(() => document.querySelectorAll('mjx-container').length)")
            v["raw_tex"] = sorted({m.group(0)[:40] for m in _TEX.finditer(page.evaluate(_TEXT_JS))})
            if pg["href"] == "contrastive.html": shot(page, "site_math_contrastive")
        v.update(errors=errors[:5], foreign=foreign[:5])   # read last: typesetting can log errors too
        out[pg["href"]] = v
        page.close()
    return out

def test_pages_load_with_sidebar_and_figures(site, visits):
    _, pages = site
    assert sorted(visits) == sorted(p["href"] for p in pages)
    bad = {}
    for href, v in visits.items():
        assert v["sidebar"], f"{href}: no sidebar"
        assert v["links"] == len(pages) + 2, f"{href}: sidebar does not list every page (+ title, Try it)"
        assert v["active"] == href
        assert v["cells"] > 0, f"{href}: no notebook cells rendered"
        if v["errors"] or v["foreign"] or v["broken"]: bad[href] = {k: v[k] for k in ("errors", "foreign", "broken")}
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

def test_math_is_typeset(visits):
    "Every page whose notebook has $ math shows typeset formulas (mjx-container) and no raw TeX in its text."
    math = {h: v for h, v in visits.items() if v["math"]}
    assert "contrastive.html" in math
    bad = {h: dict(typeset=v["typeset"], raw_tex=v["raw_tex"][:5], errors=v["errors"][:3])
           for h, v in math.items() if v["typeset"] == 0 or v["raw_tex"] or v["errors"]}
    print(f"{len(math)} pages with math, {sum(v['typeset'] for v in math.values())} typeset formulas:",
          json.dumps({h: v["typeset"] for h, v in math.items()}))
    assert not bad, f"pages whose math is not typeset: {json.dumps(bad, indent=1)}"

def test_widget_label_math_is_typeset(site, browser):
    "Widget labels: the widget manager typesets them with MathJax 2's `MathJax.Hub.Queue(['Typeset', hub, el])`, which the page maps to MathJax 3."
    base, _ = site
    page, errors, _ = _open(browser, f"{base}/widgets.html")
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise && MathJax.Hub", timeout=20000)
    n = page.evaluate("""() => {
        const el = document.createElement('label'); el.className = 'widget-label'; el.textContent = 'curve $\\\\alpha_1$';
        document.querySelector('.sclle-main').appendChild(el);
        MathJax.Hub.Queue(['Typeset', MathJax.Hub, el]);      // the widget manager's own call
        return MathJax.startup.promise.then(() => el.querySelectorAll('mjx-container').length); }""")
    assert n == 1
    assert "$" not in page.evaluate("() => document.querySelector('.sclle-main > label.widget-label:last-child mjx-container').closest('label').textContent")
    assert not errors, errors
    page.close()
