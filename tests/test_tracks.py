"""The lesson layout: the method track (00-14) teaches the method only, reads as prose with code, every notebook opens
in Jupyter without a kernel dialog, and the library has no import circle."""
import ast, json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted((ROOT/"nbs").glob("*.ipynb"))
FORBIDDEN = ["signal.", "os.replace", "fsync", "ThreadPoolExecutor", "threading", "argparse", "pickletools",
             "zlib.crc32", "stop_signals", "stop_on_signals", "temp_name", "tmp_path("]

def _cells(p): return [(c["cell_type"], "".join(c["source"])) for c in json.loads(p.read_text())["cells"]]
def _lines(s): return sum(1 for l in s.splitlines() if l.strip())
def _method(p):
    m = re.match(r"(\d+)[a-z]?_", p.name)
    return bool(m) and int(m.group(1)) <= 14

METHOD = [p for p in NBS if _method(p)]

def test_tracks_exist():
    assert len(METHOD) >= 15 and any(not _method(p) and p.name[0].isdigit() for p in NBS)

@pytest.mark.parametrize("nb", METHOD, ids=lambda p: p.name)
def test_method_lessons_hold_no_plumbing(nb):
    code = "\n".join(s for t, s in _cells(nb) if t == "code")
    found = [w for w in FORBIDDEN if w in code]
    assert not found, f"{nb.name} holds product plumbing: {found}"

def test_method_track_is_prose_and_code():
    code = sum(_lines(s) for p in METHOD for t, s in _cells(p) if t == "code")
    md = sum(_lines(s) for p in METHOD for t, s in _cells(p) if t == "markdown")
    assert code <= 4000, f"method track: {code} code lines (at most 4,000)"
    assert md/code >= 0.35, f"method track: {md/code:.3f} markdown lines per code line (at least 0.35)"

@pytest.mark.parametrize("nb", NBS, ids=lambda p: p.name)
def test_kernelspec(nb):
    ks = json.loads(nb.read_text())["metadata"].get("kernelspec", {})
    assert ks.get("name") == "python3" and ks.get("language") == "python", f"{nb.name}: no python3 kernelspec"

def _imports(py:Path)->set:
    "The sclle_nb modules `py` imports, at module level or inside functions."
    out = set()
    for n in ast.walk(ast.parse(py.read_text())):
        if isinstance(n, ast.ImportFrom):
            mod = n.module or ""
            if n.level == 1: base = mod.split(".")[0] if mod else None
            elif mod.startswith("sclle_nb."): base = mod.split(".")[1]
            elif mod == "sclle_nb": base = None
            else: continue
            names = [base] if base else [a.name for a in n.names]
            out |= {m for m in names if (ROOT/"sclle_nb"/f"{m}.py").exists()}
        elif isinstance(n, ast.Import):
            out |= {a.name.split(".")[1] for a in n.names if a.name.startswith("sclle_nb.")}
    return out - {py.stem}

def test_no_import_circle():
    graph = {p.stem: _imports(p) for p in (ROOT/"sclle_nb").glob("*.py") if not p.stem.startswith("_")}
    def reach(a, seen):
        for b in graph.get(a, ()):
            if b not in seen: seen.add(b); reach(b, seen)
        return seen
    circles = sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if a in reach(b, set()))
    assert not circles, f"modules that import each other (directly or through others): {circles}"

MACHINE = re.compile(r"/root/|/home/\w|/work/|urlopen error|Downloading: \"http")
@pytest.mark.parametrize("nb", NBS, ids=lambda p: p.stem)
def test_saved_outputs_name_no_machine(nb):
    "Saved outputs show no path of the machine that ran the notebook, and no weights download tried there."
    outs = json.dumps([c.get("outputs", []) for c in json.loads(nb.read_text())["cells"]])
    assert not MACHINE.search(outs) and str(ROOT) not in outs, MACHINE.findall(outs)[:3]
