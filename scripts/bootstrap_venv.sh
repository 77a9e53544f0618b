#!/usr/bin/env bash
# Create the project virtualenv (.venv) and install imkit with its extras.
#
#   VENV=.venv IMKIT_EXTRAS=test,lab bash scripts/bootstrap_venv.sh
#
# Python: $PYTHON if set, else python3.11 on PATH, else python3 if it is
# 3.11 or newer; on Debian, python3 and python3-venv are installed when
# missing. A .venv left with a too-old or broken Python is recreated.
# Writes $VENV/.imkit-installed; the Makefile reruns this only when
# pyproject.toml is newer than that stamp.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
EXTRAS=${IMKIT_EXTRAS:-test,lab}
STAMP="$VENV/.imkit-installed"

python_ok() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

find_python() {
    local candidate path
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [ -n "$candidate" ] || continue
        path=$(command -v "$candidate" 2>/dev/null) || continue
        if python_ok "$path"; then
            echo "$path"
            return 0
        fi
    done
    return 1
}

venv_ok() {
    [ -x "$VENV/bin/python" ] && python_ok "$VENV/bin/python" \
        && "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

if ! venv_ok; then
    if [ -e "$VENV" ]; then
        if [ ! -f "$VENV/pyvenv.cfg" ]; then
            echo "bootstrap: $VENV exists but is not a virtualenv; move it away" >&2
            exit 1
        fi
        echo "bootstrap: $VENV is broken or too old; recreating it" >&2
        rm -rf "$VENV"
    fi
    if ! python=$(find_python); then
        bash scripts/system_deps.sh python3 python3-venv
        python=$(find_python) || { echo "bootstrap: no Python >= 3.11 found" >&2; exit 1; }
    fi
    if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        bash scripts/system_deps.sh python3-venv
    fi
    echo "bootstrap: creating $VENV with $python ($("$python" --version 2>&1))" >&2
    "$python" -m venv "$VENV"
fi

echo "bootstrap: installing imkit[$EXTRAS] into $VENV" >&2
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q -e ".[$EXTRAS]"
touch "$STAMP"
