"""bench/gpu.py's parts that need no GPU, on the CPU at 32 pixels: its instrumented step equals the trainer's step,
FLOPs are counted from the model, the per-part split sums to one, the peak-rate lookup and the table."""
import importlib.util, subprocess, sys
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]

def load_bench():
    spec = importlib.util.spec_from_file_location("bench_gpu", ROOT/"bench"/"gpu.py")
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m

def test_peak_lookup():
    g = load_bench()
    assert g.peak_bf16("NVIDIA H200") == 989.4e12 and g.peak_bf16("NVIDIA A100-SXM4-80GB") == 312e12
    assert g.peak_bf16("NVIDIA L40S") == 362e12 and g.peak_bf16("Some CPU") is None

def test_check_mode_on_cpu():
    p = subprocess.run([sys.executable, str(ROOT/"bench"/"gpu.py"), "--check"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "| batch | precision | ms/step | images/s | TFLOP/s | MFU |" in p.stdout and "DCE-Net forward" in p.stdout
