#!/usr/bin/env python
"""Build the docs site without Quarto: nbdev-processed notebooks (`nbdev-proc-nbs` -> _proc/) to static HTML (_site/).

Every page: nbconvert's HTMLExporter (lab template, outputs kept, widget views with their saved state, the
kernel-free sliders), a sidebar listing every lesson in order, formulas typeset by MathJax, and all scripts served from
local files in _site/vendor/ (the Jupyter widget manager, require.js, MathJax, onnxruntime-web). Those are fetched once
with `npm pack NAME@VERSION` (npm's own configuration says where from), checked against their pinned sha512 integrity
and kept in .sclle_cache/vendor/, so rebuilding needs no network. No page refers to another host.

Around the notebooks, every page has a top bar with the site's search (MiniSearch over search.json, an index of every
page's sections written here), the lessons in the sidebar grouped by track (behind a button at phone widths), an
on-page contents list from the page's headings, previous/next links, and a dark theme that follows the reader's
system (styles.css, site.js). Links belong to the site: nbdev's links to API names on the documentation host become
relative links, and "source" links point to source/<module>.html, the exported module with line anchors.

The "Try it" page (try.html) enhances the reader's own photo in the page with onnxruntime-web and the ONNX graphs
exported here by `sclle_nb.export` (exact, and fast mode's curve-map network); photos never leave the reader's machine.
A service worker (sw.js) makes that page cross-origin isolated on any static host, so WebAssembly runs on every core.

Usage: python tools/build_site.py [--out _site] [--no-proc] [--vendor-only] [--sidebar]
"""
from __future__ import annotations
import argparse, base64, copy, hashlib, html, json, os, re, shutil, subprocess, sys, tarfile, tempfile, time
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS, PROC, TEMPLATES = ROOT/"nbs", ROOT/"_proc", ROOT/"tools"/"site_template"
VENDOR = Path(os.environ.get("SCLLE_VENDOR_DIR", ROOT/".sclle_cache"/"vendor"))

# npm packages: (name, version, sha512 integrity as npm reports it, {path in the tarball (regex): path under vendor/})
PACKAGES = [
    ("@jupyter-widgets/html-manager", "1.0.15",
     "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
     {r"package/dist/(embed-amd\.js|[0-9a-f]{20}\.(woff2?|ttf|eot|svg))": "widgets/{0}"}),
    ("requirejs", "2.3.8",
     "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
     {r"package/(require\.js)": "{0}"}),
    ("mathjax", "3.2.2",
     "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
     {r"package/es5/(tex-chtml-full\.js|output/chtml/fonts/woff-v2/[\w-]+\.woff)": "mathjax/{0}"}),
    ("onnxruntime-web", "1.30.0",
     "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ==",
     {r"package/dist/(ort\.(wasm|webgpu)\.min\.js|ort-wasm-simd-threaded\.(asyncify\.)?(wasm|mjs))": "ort/{0}"}),
    ("minisearch", "7.2.0",   # the site's search (ES module: require.js on the lesson pages would claim a UMD build)
     "sha512-dqT2XBYUOZOiC5t2HRnwADjhNS2cecp9u+TJRiJ1Qp/f5qjkeT5APcGPjHw+bz89Ms8Jp+cG4AlE+QZ/QnDglg==",
     {r"package/dist/es/(index\.js|SearchableMap\.js)": "minisearch/{0}", r"package/(LICENSE\.txt)": "minisearch/{0}"}),
    ("fast-png", "8.0.0",     # the Try-it page's 16-bit PNG decoder and encoder (ES modules, with the two below)
     "sha512-gCysNasJ8KEMgfdYIKd/wTDo6ENK1PWT0RJO7O+0pgmuHPw2O6tA1WvdxFRJoLf9V8yFYpG0FA1YgI8X97OhJA==",
     {r"package/(lib/.*\.js|LICENSE)": "fast-png/{0}"}),
    ("fflate", "0.8.2",
     "sha512-cPJU47OaAoCbg0pBvzsgpTPhmhqI5eJjh/JIu8tPj5q+T7iLvW/JAYUqmE7KOB4R1ZyEhzBaIQpQpardBF5z8A==",
     {r"package/(esm/browser\.js|LICENSE)": "fflate/{0}"}),
    ("iobuffer", "6.0.1",
     "sha512-SZWYkWNfjIXIBYSDpXDYIgshqtbOPsi4lviawAEceR1Kqk+sHDlcQjWrzNQsii80AyBY0q5c8HCTNjqo74ul+Q==",
     {r"package/(lib/.*\.js|LICENSE)": "iobuffer/{0}"}),
]
FAST_SCALE = 0.25  # the Try-it page's fast mode: curve maps at a quarter of the resolution
CDN = re.compile(r"""(src|href)=["']https?://(?!github\.com)[^"']*(cdn|unpkg|jsdelivr|cdnjs|googleapis)""", re.I)

def log(*a): print("[build_site]", *a, flush=True)

def _sha(path:Path, integrity:str)->bool:
    "Does the file's digest equal the integrity string (`sha512-<base64>`)?"
    algo, want = integrity.split("-", 1)
    return path.exists() and base64.b64encode(hashlib.new(algo, path.read_bytes()).digest()).decode() == want

def _fetch(pkg:str, ver:str, integrity:str)->Path:
    "The package's tarball from `npm pack` (cached in VENDOR/tgz), checked against the pinned sha512 integrity."
    tgz = VENDOR/"tgz"/f"{pkg.lstrip('@').replace('/', '-')}-{ver}.tgz"
    if _sha(tgz, integrity): return tgz
    if not shutil.which("npm"): raise SystemExit(f"{pkg}@{ver}: not in {tgz.parent} and npm is not installed to fetch it")
    log(f"npm pack {pkg}@{ver}")
    tgz.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tgz.parent) as d:
        r = subprocess.run(["npm", "pack", f"{pkg}@{ver}", "--json", "--pack-destination", d],
                           capture_output=True, text=True, cwd=d)
        if r.returncode: raise SystemExit(f"npm pack {pkg}@{ver} failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
        info = json.loads(r.stdout)[0]
        got = Path(d)/info["filename"]
        if info.get("integrity") != integrity or not _sha(got, integrity):
            raise SystemExit(f"{pkg}@{ver}: sha512 does not match the pinned integrity; refusing it")
        os.replace(got, tgz)
    return tgz

def vendor()->Path:
    "Make sure VENDOR/files holds the widget manager, require.js, MathJax and onnxruntime-web; return that folder."
    out, stamp = VENDOR/"files", VENDOR/"files"/".complete"
    key = json.dumps(PACKAGES)   # names, versions, digests and the files taken: a change re-extracts
    if stamp.exists() and stamp.read_text() == key: return out
    if out.exists(): shutil.rmtree(out)
    for pkg, ver, integ, pats in PACKAGES:
        with tarfile.open(_fetch(pkg, ver, integ)) as tf:
            n = 0
            for m in tf.getmembers():
                for pat, dest in pats.items():
                    if m.isfile() and (mm := re.fullmatch(pat, m.name)):
                        p = out/dest.format(mm.group(1)); p.parent.mkdir(parents=True, exist_ok=True)
                        p.write_bytes(tf.extractfile(m).read()); n += 1
            if not n: raise SystemExit(f"{pkg}@{ver}: no expected files in the tarball")
    stamp.write_text(key)
    return out

def front_matter(nb)->dict:
    "Title, description and output file from the raw YAML cell nbdev puts first in a processed notebook."
    import yaml
    for c in nb.cells:
        if c.cell_type == "raw" and c.source.lstrip().startswith("---"):
            try: return yaml.safe_load(c.source.strip().strip("-")) or {}
            except Exception: return {}
    return {}

def nb_title(path:Path)->str:
    "A notebook's title: its first markdown heading."
    nb = json.loads(path.read_text())
    for c in nb["cells"]:
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        if c["cell_type"] == "markdown" and (m := re.search(r"^#\s+(.+)$", src, re.M)): return m.group(1).strip()
    return path.stem

def page_name(nb_path:Path, fm:dict)->str:
    "nbdev's page names: 00_curves.ipynb -> curves.html, index.ipynb -> index.html."
    if fm.get("output-file"): return fm["output-file"]
    return re.sub(r"^\d+[a-z]?_", "", nb_path.stem) + ".html"

def lessons(folder:Path)->list[Path]:
    "Notebooks in teaching order: index first, then by file name; names starting with _ or . are skipped."
    nbs = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith(("_", ".")))
    return sorted(nbs, key=lambda p: (p.stem != "index", p.name))

TRACKS = [("Method: SCL-LLE", 0), ("Product: the tools", 15)]  # lessons numbered from each start up to the next

def track(nb_name:str)->int|None:
    "Index into TRACKS of a lesson file (00_curves.ipynb -> 0, 16_photos.ipynb -> 1); None for unnumbered pages."
    m = re.match(r"(\d+)", nb_name)
    if not m: return None
    return max(i for i, (_, start) in enumerate(TRACKS) if int(m.group(1)) >= start)

def write_sidebar():
    "nbs/sidebar.yml (used by Quarto, custom_sidebar = true): every notebook in order, lessons grouped by track."
    lines, cur = ["website:", "  sidebar:", "    contents:"], None
    for p in lessons(NBS):
        t = track(p.name)
        if t is None: lines.append(f"      - {p.name}"); continue
        if t != cur: lines += [f'      - section: "{TRACKS[t][0]}"', "        contents:"]; cur = t
        lines.append(f"          - {p.name}")
    (NBS/"sidebar.yml").write_text("\n".join(lines) + "\n")
    log("wrote nbs/sidebar.yml with", len(lessons(NBS)), "notebooks")

_QATTR = re.compile(r"\]\(([^)]*)\)\{[^}]*\}")
_DIR = re.compile(r"^#\|\s*([\w-]+)\s*:?\s*(.*)$")
def quarto_directives(nb):
    "Apply the Quarto cell options nbdev emits (echo/output/include: false) and drop `#|` lines from shown code."
    from nbformat import NotebookNode
    cells = []
    keep = {"cell_type", "id", "metadata", "source", "outputs", "execution_count", "attachments"}
    for c in nb.cells:
        for k in set(c) - keep: del c[k]  # nbdev's own bookkeeping (has_sd, idx_...) is not nbformat
        c.metadata.pop("execution", None)  # nbdev's timings: not valid nbformat either
        if c.cell_type == "raw": continue  # front matter: rendered as the page header instead
        if c.cell_type == "markdown" and c.source.strip().startswith("<!-- WARNING: THIS FILE WAS AUTOGENERATED"): continue
        if c.cell_type == "code":
            lines, d = c.source.splitlines(), {}
            while lines and (m := _DIR.match(lines[0])): d[m.group(1).lower()] = m.group(2).strip().lower(); lines.pop(0)
            c.source = "\n".join(lines)
            if d.get("include") == "false" or "hide" in d: continue
            if d.get("output") == "false": c.outputs = []
            tags = set(c.metadata.get("tags", []))
            if d.get("echo") == "false" or not c.source.strip(): tags.add("remove_input")
            c.metadata["tags"] = sorted(tags)
            for o in c.outputs:  # show_doc's Quarto link attributes: [source](url){target="_blank" ...} -> [source](url)
                md = o.get("data", {}).get("text/markdown")
                if isinstance(md, str): o["data"]["text/markdown"] = _QATTR.sub(r"](\1)", md)
        cells.append(c)
    nb.cells = cells
    return nb

def drop_orphan_widget_views(nb):
    "Widget views whose model is not in the saved state cannot render: keep their text fallback only."
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    n = 0
    for c in nb.cells:
        for o in c.get("outputs", []):
            v = o.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if v is not None and v.get("model_id") not in state:
                del o["data"]["application/vnd.jupyter.widget-view+json"]; n += 1
    return n

EXTRA = [dict(href="try.html", title="Try it: your photo")]  # pages of the site that are not lessons

def sidebar_html(pages:list[dict], active:str, title:str)->str:
    "The sidebar: the site's title, every lesson in order grouped by track, then the Try-it page; `active` is marked."
    def item(p): return (f'<li><a href="{p["href"]}"' + (' class="active" aria-current="page"' if p["href"] == active else "")
                         + f'>{html.escape(p["title"])}</a></li>')
    out, cur = [], None
    for p in pages:
        t = track(p.get("src", ""))
        if t is not None and t != cur:
            if cur is not None: out.append("</ul></li>")
            out.append(f'<li class="sclle-track"><span>{html.escape(TRACKS[t][0])}</span><ul>'); cur = t
        elif t is None and cur is not None: out.append("</ul></li>"); cur = None
        out.append(item(p))
    if cur is not None: out.append("</ul></li>")
    out += [item(p) for p in EXTRA]
    return (f'<nav class="sclle-sidebar" id="sclle-sidebar" aria-label="lessons">\n'
            f'<a class="sclle-site-title" href="index.html">{html.escape(title)}</a>\n<ul>\n' + "\n".join(out) + "\n</ul>\n</nav>")

def topbar_html(title:str)->str:
    "The bar above every page: the sidebar's button (phone widths), the site's name and the search box."
    return ('<a class="sclle-skip" href="#content">Skip to the text</a>\n<header class="sclle-topbar">'
            '<button type="button" class="sclle-menu" aria-controls="sclle-sidebar" aria-expanded="false">'
            '<span aria-hidden="true">&#9776;</span> Lessons</button>'
            f'<a class="sclle-brand" href="index.html">{html.escape(title)}</a>'
            '<div class="sclle-search" role="search"><input type="search" id="sclle-q" placeholder="Search" '
            'aria-label="Search the site" autocomplete="off" spellcheck="false">'
            '<div class="sclle-results" id="sclle-results" role="listbox" aria-label="search results" hidden></div></div>'
            '</header>')

def pager_html(chain:list[dict], href:str)->str:
    "Previous/next links (rel=prev, rel=next) along the sidebar's order."
    i = [p["href"] for p in chain].index(href)
    a = lambda p, rel, word: (f'<a rel="{rel}" href="{p["href"]}"><small>{word}</small>{html.escape(p["title"])}</a>')
    return ('<nav class="sclle-pager" aria-label="previous and next page">'
            + (a(chain[i-1], "prev", "Previous") if i > 0 else "<span></span>")
            + (a(chain[i+1], "next", "Next") if i + 1 < len(chain) else "<span></span>") + "</nav>")

def head_links(chain:list[dict], href:str)->str:
    "<link rel=prev/next> for the page's head."
    i = [p["href"] for p in chain].index(href)
    return "".join(f'<link rel="{r}" href="{chain[j]["href"]}">' for r, j in (("prev", i-1), ("next", i+1)) if 0 <= j < len(chain))

# ---- what a page holds: its headings, ids and sections' text (for the contents list and the search index)
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_SKIP_TAGS = {"script", "style", "svg", "button", "nav", "header", "template", "textarea", "select"}
_SKIP_CLASSES = {"anchor-link", "jp-InputPrompt", "jp-OutputPrompt", "sclle-toc", "sclle-pager", "sclle-sidebar", "sclle-topbar"}

class PageText(HTMLParser):
    "One pass over a page: `ids`, `headings` [(level, id, text)] and `sections` [(id, heading, text)] of the main text."
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.ids, self.headings, self.sections = [], set(), [], [["", "", []]]
        self.skip, self.head = 0, None   # depth of skipped elements we are in; the heading being read
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"): self.ids.add(a["id"])
        if tag in _VOID: return
        cls = set((a.get("class") or "").split())
        out = "jp-OutputArea-output" in cls and "jp-RenderedMarkdown" not in cls   # printed text, tables, figures
        skip = tag in _SKIP_TAGS or tag.startswith("mjx-") or bool(cls & _SKIP_CLASSES) or out
        self.stack.append((tag, skip)); self.skip += skip
        if tag in ("h1", "h2", "h3") and a.get("id") and not self.skip and "title" not in cls: self.head = [int(tag[1]), a["id"], []]
    def handle_endtag(self, tag):
        if tag in _VOID or not any(t == tag for t, _ in self.stack): return
        while self.stack:
            t, skip = self.stack.pop(); self.skip -= skip
            if t == tag: break
        if self.head and tag == f"h{self.head[0]}":
            lvl, hid, words = self.head; text = " ".join("".join(words).split()).rstrip("¶ ")
            self.headings.append((lvl, hid, text)); self.sections.append([hid, text, []]); self.head = None
    def handle_data(self, data):
        if self.skip: return
        (self.head[2] if self.head else self.sections[-1][2]).append(data)
    def result(self):
        return [(hid, head, " ".join("".join(t).split())) for hid, head, t in self.sections]

def page_text(body:str)->PageText:
    "Parse a page (its embedded images dropped first: they are most of its bytes)."
    pt = PageText(); pt.feed(re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+", "data:,", body)); pt.close()
    return pt

def toc_html(headings:list[tuple])->str:
    "The on-page contents list from the page's h2/h3 headings (collapsed at phone widths, beside the text on wide screens)."
    items = [f'<li class="sclle-toc-h{lvl}"><a href="#{html.escape(hid, quote=True)}">{html.escape(text)}</a></li>'
             for lvl, hid, text in headings if lvl in (2, 3) and text]
    if not items: return ""
    return ('<nav class="sclle-toc" aria-label="on this page"><details><summary>On this page</summary><ul>'
            + "".join(items) + "</ul></details></nav>")

# ---- links: nbdev writes API links to the documentation host and "source" links to the repository host
# (with no documentation host configured, nbdev writes them as root-absolute paths: href="/infer.html#infer", href="/blob/main/...")
_DOCS = re.compile(r"(?:https?://sclle-nb\.github\.io/sclle_nb/?|(?<=href=[\"'])/(?=[\w.-]*\.html))([^\"'#\s<>)]*)(#[^\"'\s<>)]*)?")
_SRC = re.compile(r"(?:https?://github\.com/sclle-nb/sclle_nb|(?<=href=[\"']))/(?:blob|tree)/[^/\"'\s<>)]+/([\w./-]+)(?:#L(\d+))?")
_NB = re.compile(r"(href=[\"'])(?:\./)?([\w-]+\.ipynb)(#[^\"']*)?")
_OWN_HOSTS = re.compile(r"(href|src)=[\"'](https?://(sclle-nb\.github\.io|github\.com/sclle-nb)|/(?!/))[^\"']*")

def site_links(body:str, anchors:dict[str, dict[str, str]], nb_pages:dict[str, str], files:set|None=None)->str:
    "Links to the documentation host as relative links (anchors matched without case), repository links to the site's own copies."
    def doc(m):
        page = (m.group(1) or "index.html").removesuffix(".md")
        if page.endswith("/") or not page: page += "index.html"
        frag = m.group(2) or ""
        if frag and page in anchors:   # nbdev's anchors are lower case; a name without its own doc entry: the page's top
            frag = ("#" + anchors[page][frag[1:].lower()]) if frag[1:].lower() in anchors[page] else ""
        return page + frag
    def src(m):
        path, line = m.group(1), m.group(2)
        if path.startswith("nbs/") and path.endswith(".ipynb"): return nb_pages.get(path[4:], "index.html")
        if re.fullmatch(r"sclle_nb/\w+\.py", path): return f"source/{path[9:-3]}.html" + (f"#L{line}" if line else "")
        if files is not None and (ROOT/path).is_file(): files.add(path); return "source/files/" + path + (".html" if path.endswith(".md") else "")
        return m.group(0)   # left as it is: the build stops on it below
    def nb(m):   # a lesson linking another by its notebook's file name
        return m.group(1) + nb_pages.get(m.group(2), m.group(2)) + (m.group(3) or "")
    return _NB.sub(nb, _DOCS.sub(doc, _SRC.sub(src, body)))

def file_pages(out:Path, files:set, title:str):
    "Other repository files the lessons link to: Markdown rendered to source/files/<path>.html, anything else copied."
    import mistune
    for path in sorted(files):
        dst = out/"source"/"files"/path; dst.parent.mkdir(parents=True, exist_ok=True)
        if not path.endswith(".md"): shutil.copy2(ROOT/path, dst); continue
        up = "../" * (len(Path(path).parts) + 1)
        body = mistune.html((ROOT/path).read_text())
        dst.with_name(dst.name + ".html").write_text(
            f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{html.escape(Path(path).name)}</title>\n<link rel="icon" href="data:,">\n<link rel="stylesheet" href="{up}styles.css">\n</head>\n'
            f'<body class="sclle-site sclle-source-page">\n<main class="sclle-main sclle-doc" id="content"><p class="sclle-crumbs">'
            f'<a href="{up}index.html">{html.escape(title)}</a> / <code>{html.escape(path)}</code></p>\n{body}</main>\n</body>\n</html>\n')

def source_pages(out:Path, title:str, nb_pages:dict[str, str])->list[str]:
    "source/<module>.html for every exported module: the code with line anchors (#L12), and its lesson linked."
    from pygments import highlight
    from pygments.lexers import PythonLexer
    from pygments.formatters import HtmlFormatter
    (out/"source").mkdir()
    light, dark = HtmlFormatter(style="default").get_style_defs(".sclle-src"), HtmlFormatter(style="github-dark").get_style_defs(".sclle-src")
    (out/"source"/"pygments.css").write_text(light + "\n@media (prefers-color-scheme: dark) {\n" + dark + "\n}\n")
    mods = []
    for py in sorted((ROOT/"sclle_nb").glob("*.py")):
        if py.name.startswith("_") and py.name != "__init__.py": continue
        code = py.read_text()
        body = highlight(code, PythonLexer(), HtmlFormatter(linespans="L", cssclass="sclle-src", wrapcode=True))
        body = re.sub(r'<span id="L-(\d+)">', r'<span id="L\1" class="sclle-line">', body)
        m = re.search(r"File to edit: \.\./nbs/([\w.-]+\.ipynb)", code)
        lesson = nb_pages.get(m.group(1)) if m else None
        note = (f' Exported from the lesson <a href="../{lesson}">{html.escape(lesson.removesuffix(".html"))}</a>;'
                ' edit the notebook, not this file.') if lesson else ""
        (out/"source"/f"{py.stem}.html").write_text(
            f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>sclle_nb/{py.name}: source</title>\n<link rel="icon" href="data:,">\n<link rel="stylesheet" href="../styles.css">\n'
            f'<link rel="stylesheet" href="pygments.css">\n</head>\n<body class="sclle-site sclle-source-page">\n'
            f'<main class="sclle-main sclle-source" id="content"><p class="sclle-crumbs"><a href="../index.html">{html.escape(title)}</a> / source</p>\n'
            f'<h1 class="title"><code>sclle_nb/{py.name}</code></h1>\n<p class="description">The module as installed.{note}'
            f' Each line has an anchor: <code>#L12</code> is line 12.</p>\n{body}</main>\n</body>\n</html>\n')
        mods.append(py.stem)
    return mods

def maps_onnx(net)->"onnx.ModelProto":
    "DCE-Net alone as ONNX: `image` (N,3,h,w) -> `maps`, the raw curve maps r = -alpha (N,24,h,w): fast mode's network."
    from onnx import helper, checker, TensorProto as TP
    from sclle_nb.export import OnnxGraph, dcenet_nodes, OPSET
    g = OnnxGraph()
    dcenet_nodes(g, "image", net)
    g.nodes[-1].output[0] = "maps"
    vi = lambda name, c: helper.make_tensor_value_info(name, TP.FLOAT, ["N", c, "h", "w"])
    graph = helper.make_graph(g.nodes, "dcenet_maps", [vi("image", 3)], [vi("maps", 3*net.n_iter)], g.inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="sclle_nb", ir_version=8)
    helper.set_model_props(m, {"output": "raw curve maps r = -alpha (fast mode: of the image downsampled by the page)"})
    checker.check_model(m, full_check=True)
    return m

def try_page(out:Path, pages:list[dict], title:str)->str:
    "try.html: the reader's photo enhanced in the page (onnxruntime-web), with the ONNX graphs exported now; returns its HTML."
    sys.path.insert(0, str(ROOT))
    from sclle_nb.export import export_onnx, ExportError
    from sclle_nb.dcenet import load_dcenet
    (out/"models").mkdir()
    try:
        export_onnx(out/"models"/"dcenet.onnx")
        export_onnx(out/"models"/"dcenet_fast.onnx", scale=FAST_SCALE)
        (out/"models"/"dcenet_maps.onnx").write_bytes(maps_onnx(load_dcenet("default")).SerializeToString())
    except ExportError as e: raise SystemExit(f"the Try-it page's model: {e} (pip install -e .[dev] installs it)") from None
    chain = [*pages, *EXTRA]
    page = (TEMPLATES/"try.html").read_text()
    for k, v in {"SIDEBAR": sidebar_html(pages, "try.html", title), "TOPBAR": topbar_html(title),
                 "PAGER": pager_html(chain, "try.html"), "HEAD_LINKS": head_links(chain, "try.html"),
                 "FAST_SCALE": f"{FAST_SCALE:g}", "FAST_PCT": f"{FAST_SCALE*100:g}"}.items():
        page = page.replace("{{" + k + "}}", v)
    (out/"try.html").write_text(page)
    for f in ("try.js", "sw.js"): shutil.copy2(TEMPLATES/f, out/f)
    return page

def theme_dark()->str:
    "JupyterLab's dark theme (the CSS variables nbconvert's lab template uses), as nbconvert ships it."
    from jupyter_core.paths import jupyter_path
    for d in jupyter_path("nbconvert", "templates", "lab", "static"):
        if (f := Path(d)/"theme-dark.css").exists(): return f.read_text()
    raise SystemExit("nbconvert's lab template has no theme-dark.css (pip install -e .[dev] installs nbconvert)")

def build(out:Path, proc:Path=PROC, title:str="sclle_nb")->list[dict]:
    "Convert every notebook in `proc` to `out`/*.html with the site's frame, add source, search and Try-it; return the lesson pages."
    import nbformat
    from nbconvert import HTMLExporter
    vend = vendor()
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copytree(vend, out/"vendor", ignore=shutil.ignore_patterns(".complete"))
    for f in proc.rglob("*"):  # images and other files the notebooks refer to
        if f.is_file() and f.suffix not in (".ipynb", ".yml", ".yaml") and not any(s.startswith((".", "_")) for s in f.relative_to(proc).parts):
            (out/f.relative_to(proc)).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, out/f.relative_to(proc))
    css = NBS/"styles.css"   # after _proc/'s files: its copy of styles.css may be older than nbs/'s
    (out/"styles.css").write_text(css.read_text() if css.exists() else "")
    (out/"theme-dark.css").write_text(theme_dark())
    shutil.copy2(TEMPLATES/"site.js", out/"site.js")
    nbs = [(p, nbformat.read(p, as_version=4)) for p in lessons(proc)]
    pages = []
    for p, nb in nbs:
        fm = front_matter(nb)
        pages.append(dict(src=p.name, href=page_name(p, fm), title=fm.get("title") or nb_title(p), description=fm.get("description", "")))
    for pg in pages:
        if pg["href"] == "index.html": pg["title"] = "Home"
    chain, nb_pages = [*pages, *EXTRA], {pg["src"]: pg["href"] for pg in pages}
    from traitlets.config import Config
    ex = HTMLExporter(template_name="sclle", extra_template_basedirs=[str(TEMPLATES)],
                      require_js_url="vendor/require.js", widget_renderer_url="vendor/widgets/embed-amd.js",
                      mathjax_url="vendor/mathjax/tex-chtml-full.js", jupyter_widgets_base_url="vendor/",
                      exclude_input_prompt=True, exclude_output_prompt=True,
                      config=Config({"TagRemovePreprocessor": {"enabled": True, "remove_input_tags": {"remove_input"}}}))
    bodies = {}
    for (p, nb), pg in zip(nbs, pages):
        quarto_directives(nb)
        if (k := drop_orphan_widget_views(nb)): log(f"{p.name}: {k} widget view(s) without saved state shown as text")
        res = {"sidebar_html": sidebar_html(pages, pg["href"], title), "topbar_html": topbar_html(title),
               "pager_html": pager_html(chain, pg["href"]), "head_links": head_links(chain, pg["href"]),
               "page_title": pg["title"] if pg["href"] != "index.html" else title, "page_description": pg["description"]}
        body, _ = ex.from_notebook_node(nb, resources=res)
        if (m := CDN.search(body)): raise SystemExit(f"{p.name}: the page refers to a CDN ({m.group(0)[:80]}...)")
        bodies[pg["href"]] = body
    texts = {h: page_text(b) for h, b in bodies.items()}
    anchors = {h: {i.lower(): i for i in t.ids} for h, t in texts.items()}
    docs, files = [], set()
    def add_docs(href, page_title, sections):
        for sid, head, text in sections:
            if head or text: docs.append(dict(id=len(docs), href=href + (f"#{sid}" if sid else ""), page=page_title,
                                              title=head or page_title, text=text[:6000]))
    for pg in pages:
        h, t = pg["href"], texts[pg["href"]]
        body = site_links(bodies[h], anchors, nb_pages, files).replace("<!--SCLLE_TOC-->", toc_html(t.headings), 1)
        if (m := _OWN_HOSTS.search(body)): raise SystemExit(f"{pg['src']}: a link leaves the site: {m.group(0)[:100]}")
        (out/h).write_text(body)
        add_docs(h, pg["title"], t.result())
    mods = source_pages(out, title, nb_pages)
    file_pages(out, files, title)
    add_docs("try.html", EXTRA[0]["title"], page_text(try_page(out, pages, title)).result())
    (out/"search.json").write_text(json.dumps(docs, ensure_ascii=False, separators=(",", ":")))
    (out/"pages.json").write_text(json.dumps(pages, indent=1))
    log(f"{len(docs)} sections in search.json, {len(mods)} modules in source/")
    return pages

def proc_lenient():
    "nbdev-proc-nbs in this process, serially, skipping (with a warning) every cell that fails in nbdev's docs run."
    import nbdev.processors as P, nbdev.quarto as Q
    orig, failed = P.exec_show_docs.__call__, []
    def call(self, cell):
        saved = copy.deepcopy(cell.get("outputs"))
        try: return orig(self, cell)
        except Exception as e:
            if saved is not None: cell["outputs"] = saved  # keep the notebook's own outputs, not the traceback
            failed.append(f"{getattr(self.nb, 'frontmatter_', {}).get('title', '?')} cell {cell.idx_}: {str(e).splitlines()[-1]}")
            self.k.exc = None
    P.exec_show_docs.__call__ = call
    try: Q._pre_docs(n_workers=0, force=True)  # force: every notebook, so that every failing cell is listed
    finally: P.exec_show_docs.__call__ = orig
    for f in failed: log("lenient: skipped a failing cell in", f)

HINT = ("nbdev's docs processing (nbdev-proc-nbs, run by nbdev-docs too) executes every cell that imports something, "
        "without the notebook's other cells: keep imports in cells of their own (or in the exported import cell).")

def main(argv=None)->int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT/"_site"), help="output folder (default: _site)")
    ap.add_argument("--no-proc", action="store_true", help="use the existing _proc/ (skip nbdev-proc-nbs)")
    ap.add_argument("--vendor-only", action="store_true", help="only fetch the local copies of the widget manager, require.js, MathJax and onnxruntime-web")
    ap.add_argument("--sidebar", action="store_true", help="(re)write nbs/sidebar.yml from the notebooks and stop")
    ap.add_argument("--n-workers", type=int, default=2, help="workers for nbdev-proc-nbs")
    ap.add_argument("--lenient", action="store_true", help="local preview: skip notebook cells that fail in nbdev-proc-nbs instead of stopping")
    a = ap.parse_args(argv)
    t0 = time.time()
    if a.sidebar: write_sidebar(); return 0
    if a.vendor_only: log("vendor files in", vendor()); return 0
    os.environ["SCLLE_OFFLINE"] = "1"   # nbdev-proc-nbs reruns import cells: the docs build never fetches weights
    if a.lenient and not a.no_proc: os.chdir(ROOT); proc_lenient()
    elif not a.no_proc:
        exe = Path(sys.executable).parent/"nbdev-proc-nbs"
        r = subprocess.run([str(exe) if exe.exists() else "nbdev-proc-nbs", "--n-workers", str(a.n_workers)], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode:
            errs = [l for l in r.stdout.splitlines() if l.startswith("Exception: Error in notebook")]
            print(r.stdout[-4000:])
            log("nbdev-proc-nbs failed:", *(errs[-1:] or ["see above"]))
            log(HINT)
            log("`python tools/build_site.py --lenient` lists every failing cell and builds the site without them")
            return r.returncode
    missing = sorted({p.name for p in lessons(NBS)} - {p.name for p in lessons(PROC)})
    if missing:
        log("notebooks missing from _proc/ (nbdev-proc-nbs failed on them?):", ", ".join(missing))
        if not a.lenient: return 1
    pages = build(Path(a.out))
    log(f"{len(pages)} pages in {a.out} ({time.time()-t0:.1f}s)")
    return 0

if __name__ == "__main__": sys.exit(main())
