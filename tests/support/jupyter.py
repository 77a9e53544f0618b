"""JupyterLab from the test virtualenv as a managed process.

`start_lab` runs `jupyter lab --no-browser --ip=127.0.0.1 --port=P
--ServerApp.token=T` with private Jupyter runtime/config/data dirs and waits
until `GET /api/status` answers with the token.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import LOOPBACK, free_tcp_port
from tests.support.process import ManagedProcess, Probe

START_TIMEOUT = 60.0


@dataclass
class JupyterLab:
    process: ManagedProcess
    port: int
    token: str

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def api(self, path: str, timeout: float = 5.0) -> dict[str, object]:
        """GET a JSON endpoint of the server, authenticated with the token."""
        request = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = json.loads(response.read(1_000_000))
        if not isinstance(data, dict):
            raise ValueError(f"{path} answered {data!r}, not a JSON object")
        return data

    def stop(self) -> int | None:
        return self.process.stop()


def lab_argv(jupyter: Path, notebook_dir: Path, port: int, token: str) -> list[str]:
    argv = [
        str(jupyter), "lab",
        "--no-browser",
        f"--ip={LOOPBACK}",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={notebook_dir}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        argv.append("--allow-root")
    return argv


def start_lab(jupyter: Path, notebook_dir: Path, workdir: Path) -> JupyterLab:
    """Start JupyterLab on a free port with a random token; wait for /api/status."""
    port = free_tcp_port()
    token = secrets.token_hex(16)
    env = dict(os.environ)
    for var, sub in (
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("IPYTHONDIR", "ipython"),
    ):
        env[var] = str(workdir / sub)
    proc = ManagedProcess(
        lab_argv(jupyter, notebook_dir, port, token),
        log_path=workdir / "jupyter-lab.log",
        name="jupyter-lab",
        env=env,
    )
    lab = JupyterLab(proc, port, token)
    proc.start(
        [Probe(lambda: "started" in lab.api("/api/status", 1.0), "/api/status")], START_TIMEOUT
    )
    return lab
