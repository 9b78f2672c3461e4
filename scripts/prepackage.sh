#!/bin/sh
# azd prepackage hook: compile the app's bytecode into the deployment package.
#
# unchecked-hash .pyc files stay valid after the zip is unpacked with new file times (a
# timestamp-checked .pyc would be recompiled on every cold start). They are only used by the
# same Python minor version: the runtime is Python 3.11 (functionAppConfig.runtime), so compile
# with 3.11, or not at all (a package without .pyc still works, it just starts slower).
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "prepackage: $PY not found; packaging without compiled bytecode" >&2
  exit 0
fi
if [ "$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "3.11" ]; then
  echo "prepackage: $PY is not Python 3.11; packaging without compiled bytecode" >&2
  exit 0
fi
# Stale caches of local runs go first, so only what is compiled now is shipped.
find instant -name __pycache__ -type d -prune -exec rm -rf {} +
rm -rf __pycache__
"$PY" -m compileall -q --invalidation-mode unchecked-hash function_app.py instant
