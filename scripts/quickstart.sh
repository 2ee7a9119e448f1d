#!/usr/bin/env bash
# Build rcffi into .venv (created if missing) and run examples/quickstart.py.
#   PYTHON=python3.12 bash scripts/quickstart.sh    to choose the interpreter
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${RCFFI_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
fi
PY=$VENV/bin/python
echo "== installing the build tools and rcffi into $VENV"
"$PY" -m pip install -q --disable-pip-version-check "maturin>=1.5,<2" setuptools
"$PY" -m pip install -q --disable-pip-version-check --no-build-isolation \
    --no-deps --force-reinstall .
echo "== examples/quickstart.py"
exec "$PY" examples/quickstart.py
