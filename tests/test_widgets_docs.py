"""Docs tooling without a browser: the Quarto sidebar lists every notebook, the README builder, the site builder's
page names and Quarto-directive handling, and the kernel-free slider's HTML."""
import json, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"tools"))
import build_site, make_readme  # noqa: E402

def test_quarto_sidebar_lists_every_notebook_in_order():
    want = [p.name for p in build_site.lessons(ROOT/"nbs")]
    lines = (ROOT/"nbs"/"sidebar.yml").read_text().splitlines()
    got = [l.strip()[2:] for l in lines if l.strip().startswith("- ")]
    assert got == want, "nbs/sidebar.yml is stale: run `python tools/build_site.py --sidebar`"

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
