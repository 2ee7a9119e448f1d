#!/usr/bin/env bash
# The whole test suite of rcffi.
#
#   1. creates (or reuses) the virtual environment .venv in the repository
#      and installs the build/test tools: maturin, pytest, pycparser,
#      setuptools;
#   2. builds and installs rcffi into it (pip install .);
#   3. makes rcffi stand in for cffi there (python -m rcffi install-as-cffi);
#   4. cargo test of the pure crates (cdecl, model, recompiler);
#   5. the pytest suite in tests/;
#   6. the upstream conformance ratchet (tests/upstream/run.py).
#
# Every step runs even if an earlier one failed (unless it depends on it);
# the exit status is non-zero if any step failed.
#
# Knobs: PYTHON (interpreter for the venv, default python3), RCFFI_VENV
# (default .venv), PYTEST_ARGS (extra pytest arguments), RATCHET_ARGS
# (extra run.py arguments), CARGO_TARGET_DIR (as usual).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${RCFFI_VENV:-$ROOT/.venv}
PY=$VENV/bin/python
PIP=("$PY" -m pip --disable-pip-version-check)

declare -a RESULTS=()
FAILED=0
T_START=$(date +%s)

# step NAME COMMAND...: run a step, time it, record its outcome
step() {
    local name=$1; shift
    local t0 t1 rc
    echo
    echo "==== $name"
    t0=$(date +%s)
    "$@"
    rc=$?
    t1=$(date +%s)
    if [ $rc -eq 0 ]; then
        RESULTS+=("ok      $(printf '%5ss' $((t1 - t0)))  $name")
    else
        RESULTS+=("FAILED  $(printf '%5ss' $((t1 - t0)))  $name (exit $rc)")
        FAILED=1
    fi
    return $rc
}

skip() {
    RESULTS+=("skipped         $1 ($2)")
    FAILED=1
}

make_venv() {
    if [ ! -x "$PY" ]; then
        "${PYTHON:-python3}" -m venv "$VENV" || return
    fi
    "${PIP[@]}" install -q "maturin>=1.5,<2" pytest pycparser setuptools
}

install_rcffi() {
    # --no-build-isolation: build with the venv's maturin (no download of
    # build requirements); --force-reinstall: the version number does not
    # change between builds
    "${PIP[@]}" install -q --no-build-isolation --no-deps --force-reinstall .
}

run_pytest() {
    # shellcheck disable=SC2086
    "$PY" -m pytest -q -p no:cacheprovider ${PYTEST_ARGS:-} tests
}

run_ratchet() {
    # shellcheck disable=SC2086
    "$PY" tests/upstream/run.py --python "$PY" ${RATCHET_ARGS:-}
}

if step "virtual environment $VENV" make_venv; then
    if step "build and install rcffi (pip install .)" install_rcffi; then
        step "rcffi stands in for cffi in $VENV" \
            "$PY" -m rcffi install-as-cffi || true
        PY_OK=1
    else
        PY_OK=0
    fi
else
    PY_OK=0
    skip "build and install rcffi" "no virtual environment"
fi

step "cargo test -p cdecl -p model -p recompiler" cargo test -q -p cdecl -p model -p recompiler || true

if [ $PY_OK = 1 ]; then
    step "pytest tests/" run_pytest || true
    step "upstream conformance ratchet" run_ratchet || true
else
    skip "pytest tests/" "rcffi is not installed"
    skip "upstream conformance ratchet" "rcffi is not installed"
fi

echo
echo "==== summary ($(( $(date +%s) - T_START ))s)"
printf '%s\n' "${RESULTS[@]}"
if [ $FAILED -ne 0 ]; then
    echo "scripts/test.sh: FAILED"
    exit 1
fi
echo "scripts/test.sh: all passed"
