"""A private network namespace with only loopback up, for tests that need
their own addresses and ports without touching the host's network.

`NetNamespace.create()` runs `ip netns add imkit-<random>` and
`ip -n NS link set lo up`; `run` / `argv` execute a command inside it with
`ip netns exec`; `delete` (or leaving the `with` block) removes it.  Creating
one needs CAP_SYS_ADMIN: `NetnsUnavailable` says why it could not be made.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

IP_TIMEOUT = 20.0


class NetnsUnavailable(RuntimeError):
    """Network namespaces cannot be created here (permission, no iproute2)."""


def _ip(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary, *args],
        capture_output=True,
        text=True,
        timeout=IP_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@dataclass
class NetNamespace:
    """One named namespace; `name` is what `ip netns` knows it by."""

    ip_binary: str
    name: str
    deleted: bool = False

    @classmethod
    def create(cls, ip_binary: str, prefix: str = "imkit") -> NetNamespace:
        name = f"{prefix}-{secrets.token_hex(4)}"
        added = _ip(ip_binary, "netns", "add", name)
        if added.returncode != 0:
            raise NetnsUnavailable(f"`ip netns add {name}` failed: {added.stderr.strip()}")
        ns = cls(ip_binary, name)
        up = _ip(ip_binary, "-n", name, "link", "set", "lo", "up")
        if up.returncode != 0:
            ns.delete()
            raise NetnsUnavailable(f"`ip -n {name} link set lo up` failed: {up.stderr.strip()}")
        return ns

    def argv(self, command: Sequence[str]) -> list[str]:
        """The command line that runs `command` inside the namespace."""
        return [self.ip_binary, "netns", "exec", self.name, *command]

    def run(
        self, command: Sequence[str], timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace and collect its output."""
        return subprocess.run(
            self.argv(command),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def delete(self) -> None:
        if not self.deleted:
            _ip(self.ip_binary, "netns", "delete", self.name)
            self.deleted = True

    def __enter__(self) -> NetNamespace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.delete()
