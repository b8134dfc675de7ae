"""`sclle bench --quick --json` prints one JSON object with every figure of the benchmark; the training step runs."""
import json, subprocess, sys, torch
import pytest

KEYS = ("matmul_gflops_fp32", "infer_512_s", "infer_900x1200_s", "infer_fast_900x1200_s", "fast_psnr_db",
        "tiled_24mp_peak_mb", "train_step_fp32_s", "train_step_bf16_s", "train_peak_mb")

def test_bench_json_quick():
    p = subprocess.run([sys.executable, "-c", "import sys; from sclle_nb.cli import main; sys.exit(main(sys.argv[1:]))", "bench", "--quick", "--json", "--no-train", "--rounds", "1"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    for k in KEYS: assert k in r, k
    assert r["train_step_fp32_s"] is None and "train_note" in r
    assert r["matmul_gflops_fp32"] > 0 and r["tiled_24mp_peak_mb"] > 0 and r["exact_max_abs_err"] <= 1e-5

def test_bench_table_and_bad_args():
    from sclle_nb.bench import bench_cli, bench_table
    with pytest.raises(SystemExit): bench_cli(["--rounds", "0"])

def test_train_steps_tiny():
    from sclle_nb.bench import train_setup
    for kind, prec in (("ours", "bf16"), ("authors", "fp32")):
        step = train_setup(kind, size=32, batch=1, precision=prec)
        assert torch.isfinite(step()) and torch.isfinite(step())
