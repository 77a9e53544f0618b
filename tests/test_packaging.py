"""The package installs as declared in pyproject.toml: it imports, its
metadata names the `imkit` console script, and a wheel built from the tree
carries the Kamailio configs under imkit/data/kamailio/."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib import metadata, resources
from pathlib import Path

import pytest

import imkit

REPO = Path(__file__).resolve().parents[1]
KAMAILIO_CONFIGS = ("proxy.cfg", "msrp_relay.cfg")


def test_package_imports_with_its_version() -> None:
    assert imkit.__version__ == metadata.version("imkit")
    assert issubclass(imkit.ParseError, imkit.ProtocolError)


def test_console_script_entry_point_is_declared() -> None:
    scripts = metadata.entry_points(group="console_scripts")
    entries = [ep for ep in scripts if ep.name == "imkit"]
    assert len(entries) == 1
    assert entries[0].value == "imkit.cli:main"
    assert entries[0].dist is not None and entries[0].dist.name == "imkit"


def test_extras_are_declared() -> None:
    extras = metadata.metadata("imkit").get_all("Provides-Extra") or []
    assert {"test", "lab"} <= set(extras)


@pytest.mark.parametrize("name", KAMAILIO_CONFIGS)
def test_kamailio_configs_are_package_resources(name: str) -> None:
    text = resources.files("imkit").joinpath("data", "kamailio", name).read_text()
    assert text.startswith("#!KAMAILIO\n")


def test_wheel_ships_the_kamailio_configs(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "imkit", source / "imkit", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(out), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = out.glob("imkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for config in KAMAILIO_CONFIGS:
        assert f"imkit/data/kamailio/{config}" in names
    assert "imkit/py.typed" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "imkit = imkit.cli:main" in text
