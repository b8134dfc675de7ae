#!/usr/bin/env python
"""Build the docs site without Quarto: nbdev-processed notebooks (`nbdev-proc-nbs` -> _proc/) to static HTML (_site/).

Every page: nbconvert's HTMLExporter (lab template, outputs kept, widget views with their saved state, the
kernel-free sliders), a sidebar listing every lesson in order, formulas typeset by MathJax, and all scripts served from
local files in _site/vendor/ (the Jupyter widget manager, require.js, MathJax, onnxruntime-web). Those are fetched once
with `npm pack NAME@VERSION` (npm's own configuration says where from), checked against their pinned sha512 integrity
and kept in .sclle_cache/vendor/, so rebuilding needs no network. No page refers to another host.

The "Try it" page (try.html) enhances the reader's own photo in the page with onnxruntime-web and the ONNX graphs
exported here by `sclle_nb.export` (exact and fast); photos never leave the reader's machine.

Usage: python tools/build_site.py [--out _site] [--no-proc] [--vendor-only] [--sidebar]
"""
from __future__ import annotations
import argparse, base64, copy, hashlib, html, json, os, re, shutil, subprocess, sys, tarfile, tempfile, time
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
     {r"package/dist/(ort\.wasm\.min\.js|ort-wasm-simd-threaded\.(wasm|mjs))": "ort/{0}"}),
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
    key = json.dumps([p[:3] for p in PACKAGES])
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

def write_sidebar():
    "nbs/sidebar.yml (used by Quarto, custom_sidebar = true) listing every notebook in order."
    lines = ["website:", "  sidebar:", "    contents:"] + [f"      - {p.name}" for p in lessons(NBS)]
    (NBS/"sidebar.yml").write_text("\n".join(lines) + "\n")
    log("wrote nbs/sidebar.yml with", len(lines) - 3, "notebooks")

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
    "The sidebar: the site's title, every lesson in order, then the Try-it page; `active` is marked."
    items = [f'<li><a href="{p["href"]}"' + (' class="active" aria-current="page"' if p["href"] == active else "")
             + f'>{html.escape(p["title"])}</a></li>' for p in [*pages, *EXTRA]]
    return (f'<nav class="sclle-sidebar" aria-label="lessons">\n<a class="sclle-site-title" href="index.html">{html.escape(title)}</a>\n'
            f'<ul>\n' + "\n".join(items) + "\n</ul>\n</nav>")

def try_page(out:Path, pages:list[dict], title:str):
    "try.html: the reader's photo enhanced in the page (onnxruntime-web), with the ONNX graphs exported now."
    sys.path.insert(0, str(ROOT))
    from sclle_nb.export import export_onnx, ExportError
    (out/"models").mkdir()
    try:
        export_onnx(out/"models"/"dcenet.onnx")
        export_onnx(out/"models"/"dcenet_fast.onnx", scale=FAST_SCALE)
    except ExportError as e: raise SystemExit(f"the Try-it page's model: {e} (pip install -e .[dev] installs it)") from None
    page = (TEMPLATES/"try.html").read_text()
    for k, v in {"SIDEBAR": sidebar_html(pages, "try.html", title), "FAST_SCALE": f"{FAST_SCALE:g}",
                 "FAST_PCT": f"{FAST_SCALE*100:g}"}.items():
        page = page.replace("{{" + k + "}}", v)
    (out/"try.html").write_text(page)
    shutil.copy2(TEMPLATES/"try.js", out/"try.js")

def build(out:Path, proc:Path=PROC, title:str="sclle_nb")->list[dict]:
    "Convert every notebook in `proc` to `out`/*.html with the sidebar, add the Try-it page; return the lesson pages."
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
    nbs = [(p, nbformat.read(p, as_version=4)) for p in lessons(proc)]
    pages = []
    for p, nb in nbs:
        fm = front_matter(nb)
        pages.append(dict(src=p.name, href=page_name(p, fm), title=fm.get("title") or nb_title(p), description=fm.get("description", "")))
    for pg in pages:
        if pg["href"] == "index.html": pg["title"] = "Home"
    from traitlets.config import Config
    ex = HTMLExporter(template_name="sclle", extra_template_basedirs=[str(TEMPLATES)],
                      require_js_url="vendor/require.js", widget_renderer_url="vendor/widgets/embed-amd.js",
                      mathjax_url="vendor/mathjax/tex-chtml-full.js", jupyter_widgets_base_url="vendor/",
                      exclude_input_prompt=True, exclude_output_prompt=True,
                      config=Config({"TagRemovePreprocessor": {"enabled": True, "remove_input_tags": {"remove_input"}}}))
    for (p, nb), pg in zip(nbs, pages):
        quarto_directives(nb)
        if (k := drop_orphan_widget_views(nb)): log(f"{p.name}: {k} widget view(s) without saved state shown as text")
        res = {"sidebar_html": sidebar_html(pages, pg["href"], title),
               "page_title": pg["title"] if pg["href"] != "index.html" else title, "page_description": pg["description"]}
        body, _ = ex.from_notebook_node(nb, resources=res)
        if (m := CDN.search(body)): raise SystemExit(f"{p.name}: the page refers to a CDN ({m.group(0)[:80]}...)")
        (out/pg["href"]).write_text(body)
    try_page(out, pages, title)
    (out/"pages.json").write_text(json.dumps(pages, indent=1))
    return pages

def proc_lenient():
    "nbdev-proc-nbs in this process, serially, skipping (with a warning) non-export cells that fail in nbdev's docs run."
    import nbdev.processors as P, nbdev.quarto as Q
    orig, failed = P.exec_show_docs.__call__, []
    def call(self, cell):
        saved = copy.deepcopy(cell.get("outputs"))
        try: return orig(self, cell)
        except Exception as e:
            if saved is not None: cell["outputs"] = saved  # keep the notebook's own outputs, not the traceback
            if cell.directives_.keys() & {"export", "exports", "exporti", "exec_doc"}: raise
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
