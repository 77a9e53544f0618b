"""Find the external programs the integration tests drive.

A missing program skips the test with the reason, except under CI
(CI=true), where `make test` is meant to have installed everything: there a
missing program fails the test, so a broken install step is caught.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import NoReturn

import pytest

# kamailio and ip live in sbin, which a non-root PATH may lack
_EXTRA_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")

# the Debian package that provides each program, for the message
DEBIAN_PACKAGE = {
    "kamailio": "kamailio",
    "sipp": "sip-tester",
    "tshark": "tshark",
    "dumpcap": "wireshark-common",
    "dot": "graphviz",
    "ip": "iproute2",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def find_binary(name: str) -> str | None:
    """Absolute path of a program on PATH or in the sbin directories."""
    path = os.environ.get("PATH", "")
    return shutil.which(name, path=os.pathsep.join([path, *_EXTRA_DIRS]))


def unavailable(reason: str) -> NoReturn:
    """Skip with the reason, or fail under CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: `make test` should have provided it)", pytrace=False)
    pytest.skip(reason)


def require_binary(name: str) -> str:
    """The program's path; skip (fail under CI) when it is not installed."""
    found = find_binary(name)
    if found is None:
        package = DEBIAN_PACKAGE.get(name, name)
        unavailable(f"{name} not installed (Debian package {package}; `make test` installs it)")
    return found


def venv_bin(name: str) -> Path:
    """A console script installed beside the running interpreter (the venv's)."""
    return Path(sys.executable).parent / name
