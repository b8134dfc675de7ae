"""A 50-megapixel photo through `sclle enhance`: read, enhanced in bands of rows, written, within memory."""
import subprocess, sys, json

import numpy as np
import pytest
from PIL import Image

from sclle_nb.enhancer import MAX_PIXELS

# Runs in a fresh process so that its peak memory is its own. The network is replaced by a cheap stand-in that
# records what it was given: DCE-Net itself on 50 MP is ~8 TFLOP (minutes on a CPU; the inference lesson times it).
CHILD = r'''
import sys, json, resource, io
from contextlib import redirect_stderr
from unittest import mock
import sclle_nb.enhancer as E
from sclle_nb.cli import main
seen = {"rows": 0}
def fake_infer(model, x, *, scale=1.0, tile=None, overlap=None, precision="fp32"):
    if x.shape[-1] > 8: seen.update(shape=list(x.shape), tile=tile, rows=seen["rows"] + x.shape[-2])   # (8x8: the CLI's probe)
    return (x * 2).clamp_(0, 1)
err = io.StringIO()
with mock.patch.object(E, "infer", fake_infer), redirect_stderr(err):
    rc = main(["enhance", sys.argv[1], "-o", sys.argv[2], "-w", "random", "-q"] + sys.argv[3:])
print(json.dumps(dict(rc=rc, seen=seen, err=err.getvalue(), maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
'''

def child(*args):
    r = subprocess.run([sys.executable, "-c", CHILD, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.serial   # peak memory: alone, not beside other tests
def test_50_megapixels(tmp_path):
    h, w = 5773, 8660
    assert h*w <= MAX_PIXELS
    a = np.zeros((h, w, 3), np.uint8); a[:, :, 0] = 20; a[::97, :, 1] = 60; a[:, ::89, 2] = 40   # compresses well, not constant
    Image.fromarray(a).save(tmp_path/"big.png", compress_level=1); del a
    r = child(tmp_path/"big.png", tmp_path/"out")
    assert r["rc"] == 0, r["err"]
    from sclle_nb.enhancer import BAND_PIXELS
    s = r["seen"]
    assert s["shape"][-1] == w and s["shape"][-2] * w <= BAND_PIXELS + 14 * w and s["tile"] is None   # bands of rows; on a CPU infer tiles them
    assert s["rows"] >= h                                                 # every row, some twice (the bands' margins)
    assert r["maxrss_mb"] < 2000, r                                   # 50 MP RGB: 150 MB as uint8; never the whole photo as float
    with Image.open(tmp_path/"out"/"big.png") as im: assert im.size == (w, h) and im.mode == "RGB"
    r = child(tmp_path/"big.png", tmp_path/"out2", "--max-megapixels", "40")
    assert r["rc"] == 1 and "8660x5773 image (50.0 MP) is over the 40 MP limit" in r["err"] and r["seen"] == {"rows": 0}
