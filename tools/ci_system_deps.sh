#!/usr/bin/env bash
# System packages the browser tests and the docs site need: Debian's chromium (never a browser downloaded by
# playwright) and npm; then the scripts the static site serves from its own folder (widget manager, require.js, MathJax,
# onnxruntime-web, MiniSearch for the search, fast-png with fflate and iobuffer for 16-bit PNGs), fetched once with `npm pack` (npm's configuration says where from), checked against their pinned
# sha512 integrity and cached in .sclle_cache/vendor/ (later builds are offline).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null  # (its wrapper script warns about a shell test on some machines)
# build_site.py's vendoring needs only the standard library: the system python, so this can run while .venv is made.
"${PYTHON:-python3}" "$root/tools/build_site.py" --vendor-only
