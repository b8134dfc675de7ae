#!/usr/bin/env python
"""Move imports out of notebook cells that also hold other code, into a cell of their own just before.

nbdev's docs processor re-runs every cell that contains an import (anywhere in it) without the notebook's other
cells, so a cell that imports AND uses earlier variables breaks `nbdev-proc-nbs` / the docs site.
Usage: python tools/split_imports.py [--check] nbs/*.ipynb   (--check: only report, exit 1 if any cell would change)"""
import ast, json, sys, uuid
from pathlib import Path

def _src(c): return "".join(c["source"]) if isinstance(c["source"], list) else c["source"]

def split(src:str):
    "(imports, rest) for a cell's source, or None when the cell needs no change."
    lines = src.splitlines()
    if any(l.startswith("#|") and ("export" in l or "eval: false" in l) for l in lines): return None
    try: tree = ast.parse(src)
    except SyntaxError: return None
    imps = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    if not imps: return None
    others = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
    if not others: return None
    taken, drop = [], set()
    for n in sorted(imps, key=lambda n: n.lineno):
        seg = lines[n.lineno-1:n.end_lineno]
        first = seg[0]; indent = len(first) - len(first.lstrip())
        # a line holding more than this import (`import x; y = 1`) cannot be cut safely
        same_line = [m for m in ast.walk(tree) if isinstance(m, ast.stmt) and m is not n and getattr(m, "lineno", 0) <= n.end_lineno
                     and getattr(m, "end_lineno", 0) >= n.lineno and not (m.lineno <= n.lineno and m.end_lineno >= n.end_lineno and m not in imps)]
        if same_line or not first.lstrip().startswith(("import ", "from ")):
            raise ValueError(f"cannot split line {n.lineno} safely, fix it by hand: {first.strip()}")
        taken.append(ast.unparse(n))
        for i in range(n.lineno-1, n.end_lineno): drop.add(i)
        if indent: lines[n.lineno-1] = " "*indent + "pass  # import moved to the cell above"; drop.discard(n.lineno-1)
    rest = "\n".join(l for i, l in enumerate(lines) if i not in drop)
    directives = [l for l in src.splitlines() if l.startswith("#|")]
    hide = [d for d in directives if d.replace(" ", "") in ("#|hide", "#|include:false")]
    if not hide and any(d.replace(" ", "") == "#|echo:false" for d in directives): hide = ["#| hide"]
    return "\n".join(hide + list(dict.fromkeys(taken))), rest

def main(argv):
    check = "--check" in argv
    changed = 0
    for p in [a for a in argv if not a.startswith("--")]:
        nb = json.loads(Path(p).read_text())
        out = []
        for c in nb["cells"]:
            r = split(_src(c)) if c["cell_type"] == "code" else None
            if r:
                changed += 1
                print(f"{p}: cell with imports and other code: {_src(c).splitlines()[0][:70]!r}")
                new = {"cell_type": "code", "execution_count": None, "id": uuid.uuid4().hex[:8], "metadata": {}, "outputs": [],
                       "source": r[0].splitlines(keepends=True)}
                c = {**c, "source": r[1].splitlines(keepends=True)}
                out += [new, c]
            else: out.append(c)
        if not check and out != nb["cells"]:
            nb["cells"] = out
            Path(p).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return 1 if (check and changed) else 0

if __name__ == "__main__": sys.exit(main(sys.argv[1:]))
