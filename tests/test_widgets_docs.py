"""Docs tooling without a browser: the Quarto sidebar lists every notebook, the README builder, the site builder's
page names and Quarto-directive handling, and the kernel-free slider's HTML."""
import json, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"tools"))
import build_site, make_readme  # noqa: E402

def _sidebar_files(items)->list:
    "Notebook names in Quarto sidebar contents, sections flattened, in order."
    out = []
    for it in items: out += _sidebar_files(it["contents"]) if isinstance(it, dict) else [it]
    return out

def test_quarto_sidebar_lists_every_notebook_in_order():
    import yaml
    want = [p.name for p in build_site.lessons(ROOT/"nbs")]
    sb = yaml.safe_load((ROOT/"nbs"/"sidebar.yml").read_text())["website"]["sidebar"]["contents"]
    assert _sidebar_files(sb) == want, "nbs/sidebar.yml is stale: run `python tools/build_site.py --sidebar`"
    assert [it["section"] for it in sb if isinstance(it, dict)] == [t for t, _ in build_site.TRACKS]   # the two tracks

def test_tracks():
    assert [build_site.track(n) for n in ("index.ipynb", "00_curves.ipynb", "06a_street.ipynb", "14_train.ipynb",
                                          "15_files.ipynb", "25a_lean.ipynb", "99_refdata.ipynb")] == [None, 0, 0, 0, 1, 1, 1]
    pages = [dict(src="index.ipynb", href="index.html", title="Home"), dict(src="00_curves.ipynb", href="curves.html", title="LE curves"),
             dict(src="16_photos.ipynb", href="photos.html", title="Photos")]
    h = build_site.sidebar_html(pages, "curves.html", "site")
    assert h.count('class="sclle-track"') == 2 and h.index("Method") < h.index("curves.html") < h.index("Product") < h.index("photos.html")
    assert 'href="curves.html" class="active" aria-current="page"' in h and h.count("<ul>") == h.count("</ul>")

def test_site_links_stay_inside():
    anchors = {"infer.html": {"engine": "engine", "fastengine": "FastEngine"}}
    body = ('<a href="https://sclle-nb.github.io/sclle_nb/infer.html#fastengine">x</a>'
            '<a href="https://github.com/sclle-nb/sclle_nb/blob/main/sclle_nb/infer.py#L12">source</a>'
            '<a href="https://github.com/sclle-nb/sclle_nb/blob/main/nbs/02_infer.ipynb">nb</a>'
            '<a href="https://github.com/LingLIx/SCL-LLE">paper code</a>')
    out = build_site.site_links(body, anchors, {"02_infer.ipynb": "infer.html"})
    assert 'href="infer.html#FastEngine"' in out and 'href="source/infer.html#L12"' in out and 'href="infer.html">nb' in out
    assert "https://github.com/LingLIx/SCL-LLE" in out and not build_site._OWN_HOSTS.search(out)   # the authors' code stays cited

def test_page_text_sections_and_toc():
    body = ('<main><h1 class="title">T</h1><div class="jp-MarkdownCell"><h2 id="Gram-matrices">Gram matrices<a class="anchor-link" href="#x">¶</a></h2>'
            '<p>The Gram matrix of features.</p></div><div class="jp-OutputArea-output jp-RenderedText"><pre>123 printed</pre></div>'
            '<div class="jp-OutputArea-output jp-RenderedMarkdown"><h3 id="gram">gram</h3><p>One-line doc.</p><img src="data:image/png;base64,AAAA"></div></main>')
    pt = build_site.page_text(body)
    assert pt.headings == [(2, "Gram-matrices", "Gram matrices"), (3, "gram", "gram")]
    secs = {sid: (head, text) for sid, head, text in pt.result()}
    assert secs["Gram-matrices"] == ("Gram matrices", "The Gram matrix of features.") and secs["gram"] == ("gram", "One-line doc.")
    toc = build_site.toc_html(pt.headings)
    assert 'href="#Gram-matrices"' in toc and 'class="sclle-toc-h3"' in toc and "<summary>On this page</summary>" in toc

def test_pager():
    chain = [dict(href=f"{c}.html", title=c.upper()) for c in "abc"]
    assert 'rel="prev" href="a.html"' in build_site.pager_html(chain, "b.html") and 'rel="next" href="c.html"' in build_site.pager_html(chain, "b.html")
    assert 'rel="prev"' not in build_site.pager_html(chain, "a.html") and 'rel="next"' not in build_site.pager_html(chain, "c.html")

def test_page_names_follow_nbdev():
    assert build_site.page_name(Path("00_curves.ipynb"), {}) == "curves.html"
    assert build_site.page_name(Path("index.ipynb"), {}) == "index.html"
    assert build_site.page_name(Path("07_zeroref.ipynb"), {"output-file": "zr.html"}) == "zr.html"

def test_quarto_directives():
    import nbformat
    from nbformat.v4 import new_notebook, new_code_cell, new_raw_cell
    nb = new_notebook(cells=[new_raw_cell("---\ntitle: T\n---"), new_code_cell("#| echo: false\nshow_doc(f)"),
                             new_code_cell("#| include: false\nx = 1"), new_code_cell("#| output: false\ny = 2")])
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text="hidden")]
    nb.cells[1]["has_sd"] = True   # nbdev's bookkeeping key: dropped
    out = build_site.quarto_directives(nb)
    assert [c.source for c in out.cells] == ["show_doc(f)", "y = 2"]
    assert out.cells[0].metadata["tags"] == ["remove_input"] and "has_sd" not in out.cells[0]
    assert out.cells[1].outputs == []
    nbformat.validate(out)

def test_readme_from_notebook(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# Title\n> summary"},
                    {"cell_type": "code", "metadata": {}, "source": "#| hide\nsecret()", "outputs": [], "execution_count": None},
                    {"cell_type": "code", "metadata": {}, "source": "#| eval: false\nsclle_nb.enhance(x)", "outputs": [], "execution_count": None}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    p = tmp_path/"index.ipynb"; p.write_text(json.dumps(nb))
    text = make_readme.readme(p)
    assert "# Title\n> summary" in text and "```python\nsclle_nb.enhance(x)\n```" in text
    assert "secret" not in text and "#|" not in text
    out = tmp_path/"README.md"
    assert make_readme.main(["--nb", str(p), "--out", str(out)]) == 0 and out.read_text() == text
    assert make_readme.main(["--nb", str(p), "--out", str(out), "--check"]) == 0

def test_template_has_no_cdn():
    for f in (ROOT/"tools"/"site_template").rglob("*"):
        if f.is_file(): assert not build_site.CDN.search(f.read_text()), f

def test_static_slider_html():
    import torch
    from sclle_nb.widgets import static_slider
    h = static_slider([torch.zeros(3, 4, 4), torch.ones(3, 4, 4)], ["a", "<b>"], "t", value=1)._repr_html_()
    assert 'type="range"' in h and 'max="1"' in h and "&lt;b&gt;" in h   # labels are escaped in the HTML
    assert h.count("data:image/jpeg;base64,") == 2
    with pytest.raises(ValueError, match="one label per frame"): static_slider([torch.zeros(3, 2, 2)], [])
