"""JupyterLab starts from the virtualenv and serves its API, and `make lab`
runs it on notebooks/ with the documented host/port overrides."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.support.jupyter import start_lab
from tests.support.tools import unavailable, venv_bin

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_jupyter_lab_serves_api_status(tmp_path: Path) -> None:
    jupyter = venv_bin("jupyter")
    if not jupyter.exists():
        unavailable(f"{jupyter} missing: install the [lab] extra")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    lab = start_lab(jupyter, notebooks, tmp_path / "lab")
    try:
        status = lab.api("/api/status")
        assert "started" in status and status.get("kernels") == 0
        contents = lab.api("/api/contents")
        assert contents.get("type") == "directory" and contents.get("content") == []
        request = urllib.request.Request(
            f"{lab.url}/lab", headers={"Authorization": f"token {lab.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            page = response.read(2_000_000).decode(errors="replace")
        assert "JupyterLab" in page
        # without the token the API refuses
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{lab.url}/api/contents", timeout=5)
        assert refused.value.code == 403
    finally:
        code = lab.stop()
    assert not lab.process.running()
    assert code is not None


def test_make_lab_command_line_honours_overrides() -> None:
    make = shutil.which("make")
    if make is None:
        unavailable("make not installed")
    env = dict(os.environ, IMKIT_LAB_IP="127.0.0.2", IMKIT_LAB_PORT="18999")
    done = subprocess.run(
        [make, "-s", "-n", "-C", str(REPO), "lab"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    line = next(text for text in done.stdout.splitlines() if " lab " in text)
    assert re.search(r"\.venv/bin/jupyter lab ", line), line
    assert "--notebook-dir=notebooks" in line
    assert "--ip=127.0.0.2" in line and "--port=18999" in line
