#!/usr/bin/env bash
# Make sure a Chromium exists for the browser tests and the demo: $CHROMIUM, or Debian's package.
set -euo pipefail
if [[ -n "${CHROMIUM:-}" && -x "${CHROMIUM}" ]]; then exit 0; fi
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing Debian's chromium package (about a minute)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "error: Chromium is missing. Install Debian's 'chromium' package, or set CHROMIUM=/path/to/chromium" >&2
exit 1
