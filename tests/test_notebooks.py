"""Every notebook under notebooks/ runs headless from top to bottom with the
virtualenv's kernel, and the notebooks committed to git carry no outputs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
CELL_TIMEOUT = 300


def notebooks() -> list[Path]:
    return sorted(
        path for path in NOTEBOOK_DIR.rglob("*.ipynb") if ".ipynb_checkpoints" not in path.parts
    )


def ids(paths: list[Path]) -> list[str]:
    return [str(path.relative_to(NOTEBOOK_DIR)) for path in paths]


def committed_notebooks() -> list[tuple[str, str]]:
    """(path, text as staged in git) for each tracked notebook; [] outside git."""
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        return []
    listed = subprocess.run(
        [git, "-C", str(REPO), "ls-files", "-z", "--", "notebooks/*.ipynb", "notebooks/**/*.ipynb"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    staged = []
    for path in sorted(set(filter(None, listed.stdout.split("\0")))):
        shown = subprocess.run(
            [git, "-C", str(REPO), "show", f":{path}"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        staged.append((path, shown.stdout))
    return staged


@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", notebooks(), ids=ids(notebooks()))
def test_notebook_runs_headless(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from jupyter_client.manager import KernelManager

    # only the kernel shipped with the venv's ipykernel, not one from ~/.local
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    kernel = KernelManager(kernel_name="python3")
    assert kernel.format_kernel_cmd()[0] == sys.executable
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        km=kernel,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    errors = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []


def test_committed_notebooks_have_no_outputs() -> None:
    nbformat = pytest.importorskip("nbformat")
    staged = committed_notebooks()
    if not staged:
        pytest.skip("no notebooks tracked by git")
    dirty = []
    for path, text in staged:
        nb = nbformat.reads(text, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
                dirty.append(f"{path} cell {index}")
    assert dirty == [], "strip outputs with `make strip-notebooks` before committing"
