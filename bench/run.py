#!/usr/bin/env python
"""One command for every figure of the benchmark: `python bench/run.py` prints the table, `--json` one JSON object.

Same as `sclle bench`; options: --quick (small sizes, a smoke test), --no-train, --rounds N.
Inference timings are interleaved with the fp32/bf16 matrix products in one process (medians); the training
steps (authors' loop, ours fp32, ours bf16) run in fresh processes, alternating, so each peak memory is its own.
"""
import sys
from sclle_nb.bench import bench_cli

if __name__ == "__main__": sys.exit(bench_cli(sys.argv[1:]))
