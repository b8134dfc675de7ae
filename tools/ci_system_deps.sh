#!/usr/bin/env bash
# System packages the browser tests need: Debian's chromium (never a browser downloaded by playwright),
# and the widget-manager scripts the static docs site serves from local files (fetched once from npm).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -x /usr/bin/chromium ]; then
  sudo=""; if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null  # (its wrapper script warns about a shell test on some machines)
py="$root/.venv/bin/python"; [ -x "$py" ] || py=python3
"$py" "$root/tools/build_site.py" --vendor-only
