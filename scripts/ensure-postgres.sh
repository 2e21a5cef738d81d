#!/usr/bin/env bash
# Make sure PostgreSQL's server binaries exist for the collection service's tests: Debian's package.
# The tests start their own throwaway cluster (initdb in a temporary folder); nothing runs as a service.
set -euo pipefail
if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then exit 0; fi
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then exit 0; fi
if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing Debian's postgresql package (about a minute)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
  exit 0
fi
echo "error: PostgreSQL is missing. Install Debian's 'postgresql' package (initdb and pg_ctl are needed)" >&2
exit 1
