#!/usr/bin/env bash
# Create .venv in the repository root (once) and install sclle_nb into it.
# Usage: tools/setup.sh [dev]   -- "dev" also installs the notebook and test tools.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then "$py" -m venv .venv; fi
pip=".venv/bin/python -m pip"
stamp=".venv/.sclle_installed_${1:-user}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  # torch/torchvision first, pinned: these two releases are on the build machines' disk.
  $pip install -q --disable-pip-version-check torch==2.14.1 torchvision==0.29.1 2>&1 | grep -v "is ignored" || true
  if [ "${1:-}" = dev ]; then extra='.[dev]'; else extra='.'; fi
  $pip install -q --disable-pip-version-check -e "$extra" 2>&1 | grep -v "is ignored" || true
  .venv/bin/python -c "import sclle_nb, torch, torchvision" # fail here, not later, when the install is broken
  touch "$stamp"
fi
