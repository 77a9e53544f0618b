#!/usr/bin/env bash
# Create the benchmark virtualenv .venv-bench (at the repository root) with
# imkit (editable, so the benchmark measures this checkout) and the peer SIP
# parsers pinned in bench/requirements.txt, all from PyPI.
#
#   bash bench/setup.sh                        # then:
#   .venv-bench/bin/python bench/bench_sip_parse.py
#
# PYTHON=python3.11 bash bench/setup.sh picks the interpreter (3.11+).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv-bench/bin/python ]; then
    "$PYTHON" -m venv .venv-bench
fi
.venv-bench/bin/python -m pip install --quiet --upgrade pip
.venv-bench/bin/python -m pip install --quiet -e . -r bench/requirements.txt
.venv-bench/bin/python - <<'PY'
import importlib.metadata as md
for name in ("imkit", "sipmessage", "aiosipua", "sippy"):
    print(f"{name} {md.version(name)}")
PY
