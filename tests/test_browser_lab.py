"""A live widget in JupyterLab, in a real browser: start JupyterLab on a free localhost port with a token, open a small
widget notebook, run it, move a slider with the keyboard, and the image output must change (the kernel recomputed it).
Screenshots: screenshots/lab_before.png, screenshots/lab_after.png."""
import json, os, secrets, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from _browser import ROOT, need_browser, free_port, launch, shot

CELLS = ["from sclle_nb.widgets import curve_explorer, photo",
         "w = curve_explorer(photo(size=48), alpha=0.2)\nw"]

def _notebook(path:Path):
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [], "source": s}
                    for i, s in enumerate(CELLS)],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))

@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    need_browser()
    d = tmp_path_factory.mktemp("lab")
    _notebook(d/"widget.ipynb")
    settings = d/"settings"/"@jupyterlab"/"apputils-extension"
    settings.mkdir(parents=True)
    (settings/"notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(d/"config"), "JUPYTER_RUNTIME_DIR": str(d/"runtime"),
           "IPYTHONDIR": str(d/"ipython"), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={d}",
           f"--LabApp.user_settings_dir={d/'settings'}", f"--LabApp.workspaces_dir={d/'workspaces'}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--ServerApp.port_retries=0", "--allow-root"]
    log = open(d/"lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=d, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if proc.poll() is not None: pytest.fail(f"JupyterLab exited: {(d/'lab.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2); break
            except OSError: time.sleep(0.5)
        else: pytest.fail(f"JupyterLab did not answer on {url}: {(d/'lab.log').read_text()[-2000:]}")
        yield url, token
    finally:
        proc.terminate()
        try: proc.wait(20)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()
        log.close()

def test_lab_slider_changes_image(lab):
    from playwright.sync_api import sync_playwright
    url, token = lab
    with sync_playwright() as p:
        b = launch(p)
        page = b.new_page(viewport={"width": 1280, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/lab/tree/widget.ipynb?token={token}")
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=60000)
        # the kernel must be up before cells are run, or the run is dropped: wait for "Idle" in the status bar
        page.wait_for_function("() => /\\|\\s*Idle/.test(document.querySelector('.jp-StatusBar-Widget, #jp-main-statusbar')?.innerText || '')", timeout=90000)
        prompt = page.locator(".jp-NotebookPanel .jp-Cell .jp-InputPrompt").first
        for attempt in range(3):
            page.locator(".jp-NotebookPanel .jp-Cell .jp-InputArea-editor").first.click()
            page.keyboard.press("Escape")                         # command mode, first cell selected
            for _ in CELLS: page.keyboard.press("Shift+Enter")   # run both cells, as a user does
            try:
                page.wait_for_function("el => /\\[(\\*|\\d+)\\]/.test(el.innerText)", arg=prompt.element_handle(), timeout=20000)
                break
            except Exception:
                if attempt == 2: shot(page, "lab_failure"); raise
        out = page.locator(".jp-OutputArea-output .sclle-live")
        try: out.wait_for(timeout=120000)   # kernel start, imports, first render
        except Exception:
            shot(page, "lab_failure"); raise
        img = out.locator("img").first
        img.wait_for(timeout=60000)
        page.wait_for_function("el => el.src && el.naturalWidth > 0", arg=img.element_handle(), timeout=30000)
        before = img.get_attribute("src")
        out.scroll_into_view_if_needed()
        shot(page, "lab_before")
        handle = out.locator(".widget-slider .noUi-handle").first   # the "alpha" slider
        handle.focus()
        for _ in range(6): page.keyboard.press("ArrowRight")          # +0.3: a brighter curve and photo
        page.wait_for_function("([el, s]) => el.src !== s && el.naturalWidth > 0", arg=[img.element_handle(), before], timeout=60000)
        label = out.locator(".widget-readout").first.inner_text()
        # alpha drives r, g and b through the kernel: wait until the last channel readout caught up, then the picture is final
        page.wait_for_function("o => { const r = [...o.querySelectorAll('.widget-readout')].map(e => e.textContent.trim());"
                               " return r.length >= 5 && r[4] === r[0]; }", arg=out.element_handle(), timeout=60000)
        page.wait_for_timeout(1500)
        shot(page, "lab_after")
        assert label.strip() not in ("0.20", "0.2"), f"the slider did not move (readout {label})"
        assert not errors, errors
        b.close()
