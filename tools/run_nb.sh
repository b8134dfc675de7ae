#!/usr/bin/env bash
# Execute notebooks in place (so their figures are saved for the docs), then nbdev-clean them.
# Usage: tools/run_nb.sh nbs/00_curves.ipynb [more.ipynb ...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$root/.venv/bin:$PATH"
export SCLLE_OFFLINE="${SCLLE_OFFLINE:-1}"   # saved outputs are the offline run's: nothing is fetched
for nb in "$@"; do
  (cd "$(dirname "$nb")" && jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=900 "$(basename "$nb")")
  nbdev-clean --fname "$nb"
done
