"""The docs site as a reader meets it, in a real browser at a phone width (400 px) and a desktop width, light and dark:
the lesson's title on the first phone screen with the sidebar behind a button, search that finds a lesson's section,
an on-page contents list, previous/next links, a dark theme, wide formulas that fit the phone's width, links that stay
inside the site (API names, source views) and no stderr noise from tools on any page.

Uses the same built site as test_browser_site.py (built here when stale; SCLLE_SITE_PREBUILT=1 uses _site/ as it is).
Screenshots: screenshots/nav_*.png."""
import json, os, re
from pathlib import Path
from urllib.parse import urlsplit, unquote
import pytest
from _browser import ROOT, SITE, need_browser, launch, shot, served_site

PHONE, DESK = dict(width=400, height=800), dict(width=1400, height=900)
SAMPLE = ["index.html", "contrastive.html", "train.html", "widgets.html", "fast.html"]   # long pages, formulas, figures

@pytest.fixture(scope="module")
def site():
    need_browser()
    with served_site() as s: yield s

@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = launch(p); yield b; b.close()

def _page(browser, url, viewport, scheme="light"):
    ctx = browser.new_context(viewport=viewport, color_scheme=scheme)
    page = ctx.new_page(); page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url, wait_until="load")
    return page

def _html(): return {p.name: p.read_text() for p in SITE.glob("*.html")}

def test_phone_title_on_first_screen_sidebar_in_a_drawer(site, browser):
    base, _ = site
    for name in [*SAMPLE, "try.html"]:
        page = _page(browser, f"{base}/{name}", PHONE)
        top = page.locator("h1.title").bounding_box()["y"]
        assert top < 200, f"{name}: the title starts at y={top:.0f} on a 400x800 screen"
        assert not page.locator("#sclle-sidebar a.active").is_visible()       # lessons list tucked away
        assert page.evaluate("document.documentElement.scrollWidth") <= 400, f"{name}: the page scrolls sideways"
        if name == "try.html": assert page.locator("#drop").bounding_box()["y"] < 500   # the upload box on the first screen
        if name == "contrastive.html":
            shot(page, "nav_phone_contrastive")
            page.click(".sclle-menu")
            page.locator("#sclle-sidebar a.active").wait_for(state="visible")
            assert page.locator(".sclle-menu").get_attribute("aria-expanded") == "true"
            assert page.locator("#sclle-sidebar .sclle-track").count() == 2
            page.wait_for_timeout(300); shot(page, "nav_phone_drawer")
            page.keyboard.press("Escape"); page.locator("#sclle-sidebar a.active").wait_for(state="hidden")
        assert not page.errors, (name, page.errors)
        page.context.close()

@pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["desktop", "phone"])
def test_search_finds_gram(site, browser, viewport):
    base, _ = site
    page = _page(browser, f"{base}/index.html", viewport)
    page.fill("#sclle-q", "Gram")
    page.locator("#sclle-results a").first.wait_for(timeout=20000)
    hrefs = [urlsplit(h).path.rsplit("/", 1)[-1] + "#" + urlsplit(h).fragment for h in page.eval_on_selector_all("#sclle-results a", "as => as.map(a => a.href)")]
    assert any(h.startswith("contrastive.html#") for h in hrefs), hrefs
    shot(page, f"nav_search_{'phone' if viewport is PHONE else 'desktop'}")
    first = page.locator("#sclle-results a[href*='contrastive.html']").first
    target = urlsplit(first.get_attribute("href")).fragment
    first.click(); page.wait_for_url(re.compile(r"contrastive\.html"))
    if target: assert page.locator(f"[id='{unquote(target)}']").count() == 1   # the section the result names
    assert not page.errors, page.errors
    page.context.close()

def test_every_page_has_contents_prev_next_and_dark_theme():
    pages = json.loads((SITE/"pages.json").read_text())
    chain = [p["href"] for p in pages] + ["try.html"]
    html = _html()
    for i, name in enumerate(chain):
        h = html[name]
        if name != "try.html" and len(re.findall(r'<h2 id=', h)) >= 2: assert 'class="sclle-toc"' in h, f"{name}: no contents list"
        link = lambda rel, href: re.search(f'<a (?=[^>]*rel="{rel}")(?=[^>]*href="{re.escape(href)}")', h)   # attributes in any order
        if i > 0: assert link("prev", chain[i-1]), f"{name}: no previous link"
        if i + 1 < len(chain): assert link("next", chain[i+1]), f"{name}: no next link"
        if name != "try.html": assert re.search(r'<link (?=[^>]*href="theme-dark.css")(?=[^>]*media="\(prefers-color-scheme: dark\)")', h)
        assert "prefers-color-scheme: dark" in (SITE/"styles.css").read_text()

@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_theme_follows_the_system(site, browser, scheme):
    base, _ = site
    for name in ("contrastive.html", "fast.html"):
        page = _page(browser, f"{base}/{name}", DESK, scheme)
        bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
        lum = sum(int(v) for v in re.findall(r"\d+", bg)[:3]) / 3
        assert (lum < 60) if scheme == "dark" else (lum > 200), (name, bg)
        code = page.locator(".jp-InputArea-editor").first
        fg = code.evaluate("e => getComputedStyle(e.querySelector('pre') || e).color")
        flum = sum(int(v) for v in re.findall(r"\d+", fg)[:3]) / 3
        assert abs(flum - lum) > 100, f"{name}: code text {fg} on {bg}"                  # code stays readable
        assert page.locator(".sclle-toc details").evaluate("d => d.open")                  # beside the text at this width
        page.wait_for_timeout(500); shot(page, f"nav_{name.removesuffix('.html')}_{scheme}")
        if name == "fast.html":
            page.locator(".sclle-pager").scroll_into_view_if_needed(); shot(page, f"nav_pager_{scheme}")
        assert not page.errors, page.errors
        page.context.close()

def test_wide_formulas_fit_a_phone(site, browser):
    base, _ = site
    for name in ("contrastive.html", "objective.html", "zeroref.html"):
        page = _page(browser, f"{base}/{name}", PHONE, "dark")
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
        page.evaluate("() => MathJax.startup.promise.then(() => window.sclleFitMath && sclleFitMath())")
        wide = page.evaluate("""() => [...document.querySelectorAll('mjx-container[display="true"]')]
            .filter(c => c.scrollWidth > c.clientWidth + 2).map(c => c.textContent.slice(0, 40))""")
        assert not wide, f"{name}: formulas wider than a 400 px screen: {wide}"
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        if name == "contrastive.html":
            page.locator('mjx-container[display="true"]').first.scroll_into_view_if_needed(); shot(page, "nav_phone_formula_dark")
        page.context.close()

OWN = re.compile(r"(sclle-nb\.github\.io|github\.com/sclle-nb)")
def test_links_stay_in_the_site():
    "No page links to the project's unknown hosts; API and source links are relative and land on an existing anchor."
    html = {p.relative_to(SITE).as_posix(): p.read_text() for p in SITE.rglob("*.html")}
    ids = {n: set(re.findall(r'\sid="([^"]+)"', h)) for n, h in html.items()}
    # line anchors are checked when the modules are as old as the site (not while lessons are being edited after a build)
    source_fresh = max(p.stat().st_mtime for p in (ROOT/"sclle_nb").glob("*.py")) < (SITE/"pages.json").stat().st_mtime
    bad, api, src = [], 0, 0
    for n, h in html.items():
        assert not OWN.search(h), f"{n}: mentions {OWN.search(h).group(0)}"   # the source view too: no module names them
        for m in re.finditer(r'<(?:a|link|img|script)\b[^>]*?\s(?:href|src)="([^"]+)"', h):
            u = m.group(1)
            if OWN.search(u): bad.append((n, u)); continue
            if re.match(r"[a-z]+:|#|data:|blob:", u): continue
            path, _, frag = u.partition("#")
            target = os.path.normpath((Path(n).parent/path).as_posix()) if path else n
            if not (SITE/target).exists(): bad.append((n, u)); continue
            if frag and target.endswith(".html") and unquote(frag) not in ids.get(target, ()):
                if not target.startswith("source/") or source_fresh: bad.append((n, u))
            api += target.endswith(".html") and not target.startswith("source/") and bool(frag) and n != target
            src += target.startswith("source/")
    print(f"{api} links to API names on other pages, {src} links to source views, all inside the site")
    assert api > 100 and src > 100
    assert not bad, f"{len(bad)} links that leave the site or land nowhere: {bad[:10]}"

def test_source_view_has_line_anchors(site, browser):
    base, _ = site
    page = _page(browser, f"{base}/source/infer.html#L120", DESK, "dark")
    line = page.locator("#L120")
    assert line.is_visible() and "sclle-line" in line.get_attribute("class")
    assert page.locator(".sclle-line").count() >= 200 and page.locator("#L200").count() == 1   # one anchor a line
    assert 0 <= line.bounding_box()["y"] < 900                                      # on the screen: scrolled to the line asked for
    shot(page, "nav_source_infer_dark")
    page.context.close()

NOISE = re.compile(r"gpuGetDeviceCount|profiler_start|profiler_stop|USDT:|Warning:")
STDERR = re.compile(r'data-mime-type="application/vnd.jupyter.stderr">(.*?)</pre>', re.S)
def test_no_tool_noise_in_outputs():
    "No library noise (profiler logs, warnings) in any page's stderr outputs; the CLI lessons' error lines are their point."
    html = _html()
    err = {n: STDERR.findall(h) for n, h in html.items()}
    noisy = {n: NOISE.findall(" ".join(e))[:3] for n, e in err.items() if NOISE.search(" ".join(e))}
    assert not noisy, noisy
    assert not any("gpuGetDeviceCount" in h for h in html.values())
    print("pages with stderr outputs (CLI error messages shown on purpose):", {n: len(e) for n, e in err.items() if e})
    assert not err.get("fast.html")

MACHINE = re.compile(r"/root/|/home/\w|/work/|/tmp/\w|Downloading: \"http|urlopen error|Name or service not known")
def test_no_machine_paths_or_fetches():
    "No page shows a path of the machine that built it, or a weights download tried while building (the build is offline)."
    pages = {**_html(), **{f"source/{p.name}": p.read_text() for p in (SITE/"source").glob("*.html")}}
    hits = {n: sorted(set(MACHINE.findall(h)))[:3] for n, h in pages.items() if MACHINE.search(h)}
    assert not hits, hits
    assert str(ROOT) not in " ".join(pages.values())
