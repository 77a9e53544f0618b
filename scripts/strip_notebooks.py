"""Remove outputs, execution counts and run metadata from notebooks in place.

    .venv/bin/python scripts/strip_notebooks.py notebooks/*.ipynb

Committed notebooks must carry no outputs (tests/test_notebooks.py checks).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

RUN_METADATA = ("execution", "collapsed", "scrolled")


def strip(path: Path) -> bool:
    """Strip one notebook; True when it changed."""
    before = path.read_text()
    nb = nbformat.reads(before, as_version=4)
    for cell in nb.cells:
        for key in RUN_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    after = nbformat.writes(nb)
    if not after.endswith("\n"):
        after += "\n"
    if after != before:
        path.write_text(after)
        return True
    return False


def main(argv: list[str]) -> int:
    for name in argv:
        if strip(Path(name)):
            print(f"stripped {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
