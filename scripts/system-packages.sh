#!/usr/bin/env bash
# Install the Debian packages the whole suite uses: chromium (browser tests) and postgresql (second pass).
# Best effort: without root or apt-get the browser tests skip with a message and the PostgreSQL pass is off.
set -u
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: ${missing[*]} not installed and no root apt-get here; browser tests will be skipped" >&2
  exit 0
fi
echo "installing ${missing[*]} (Debian packages)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null \
  || echo "warning: could not install ${missing[*]}" >&2
exit 0
