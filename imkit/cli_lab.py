"""``imkit lab``: JupyterLab on the clause notebooks (the main job).

Runs the ``jupyter lab`` of the Python running imkit, on ``--dir`` (default:
``notebooks/`` of the checkout, else the current directory), bound to
127.0.0.1 unless told otherwise.  Each notebook starts its own embedded test
IM Server, so nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser("lab", help="JupyterLab on the 7.1.1 notebooks")
    parser.add_argument("--dir", type=Path, default=None, help="the notebooks folder")
    parser.add_argument("--ip", default=os.environ.get("IMKIT_LAB_IP", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("IMKIT_LAB_PORT", "8888")))
    parser.set_defaults(command=command)


def notebooks_dir() -> Path:
    checkout = Path(__file__).resolve().parent.parent / "notebooks"
    return checkout if checkout.is_dir() else Path.cwd()


def command(args: argparse.Namespace) -> int:
    folder = args.dir or notebooks_dir()
    if not folder.is_dir():
        print(f"imkit lab: no folder {folder}", file=sys.stderr)
        return 2
    argv = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={folder}", f"--ip={args.ip}", f"--port={args.port}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    if not os.environ.get("DISPLAY") or not shutil.which("xdg-open"):
        argv.append("--no-browser")
    os.execv(sys.executable, argv)
    return 0  # not reached: exec replaced this process
