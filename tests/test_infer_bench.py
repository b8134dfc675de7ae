"""`sclle bench`: bad options are refused; the training steps it times run. (Its `--quick --json` report is checked in
the making-it-fast lesson.)"""
import json, subprocess, sys, torch
import pytest

def test_bench_table_and_bad_args():
    from sclle_nb.bench import bench_cli, bench_table
    with pytest.raises(SystemExit): bench_cli(["--rounds", "0"])

def test_train_steps_tiny():
    from sclle_nb.bench import train_setup
    for kind, prec in (("ours", "bf16"), ("authors", "fp32")):
        step = train_setup(kind, size=32, batch=1, precision=prec)
        assert torch.isfinite(step()) and torch.isfinite(step())
