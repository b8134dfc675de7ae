#!/usr/bin/env python
"""Write README.md from nbs/index.ipynb without Quarto: markdown cells as they are, code cells as fenced blocks.

Cells with `#| hide` (or `#| include: false`) are left out and `#|` directive lines are dropped.
Usage: python tools/make_readme.py [--check]   (--check: exit 1 when README.md is not up to date)"""
import argparse, json, os, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = "<!-- generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file -->\n\n"

def readme(nb_path:Path)->str:
    "The README text for the notebook at `nb_path`."
    nb = json.loads(nb_path.read_text())
    parts = []
    for c in nb["cells"]:
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        lines = src.splitlines()
        dirs = [l[2:].replace(" ", "").lower() for l in lines if l.startswith("#|")]
        if "hide" in dirs or "include:false" in dirs: continue
        if c["cell_type"] == "code" and "echo:false" in dirs: continue   # the docs show only its output
        if c["cell_type"] == "markdown": parts.append(src.strip())
        elif c["cell_type"] == "code":
            body = "\n".join(l for l in lines if not l.startswith("#|")).strip()
            if body: parts.append(f"```python\n{body}\n```")
    return HEADER + "\n\n".join(p for p in parts if p) + "\n"

def main(argv=None)->int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nb", default=str(ROOT/"nbs"/"index.ipynb"))
    ap.add_argument("--out", default=str(ROOT/"README.md"))
    ap.add_argument("--check", action="store_true", help="only check that the README is up to date")
    a = ap.parse_args(argv)
    text, out = readme(Path(a.nb)), Path(a.out)
    if a.check:
        ok = out.exists() and out.read_text() == text
        print(f"{out}: {'up to date' if ok else 'OUT OF DATE: run python tools/make_readme.py'}")
        return 0 if ok else 1
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    tmp.write_text(text); os.replace(tmp, out)
    print(f"wrote {out} ({len(text)} characters)")
    return 0

if __name__ == "__main__": sys.exit(main())
