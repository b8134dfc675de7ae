"""Helpers for the browser tests: Debian's chromium through playwright (never a downloaded browser), free ports, screenshots."""
import os, socket, shutil
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
