"""Free port allocation on 127.0.0.1 for UDP, TCP, or both at once.

The OS picks an unused port (bind to port 0); ports handed out once in this
process are never handed out again, so two fixtures in one session cannot
race each other for the same number.
"""

from __future__ import annotations

import socket
import threading

LOOPBACK = "127.0.0.1"
_MAX_TRIES = 200

_lock = threading.Lock()
_handed_out: set[int] = set()


def _bound_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _is_free(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def _claim(kinds: tuple[int, ...]) -> int:
    with _lock:
        for _ in range(_MAX_TRIES):
            port = _bound_port(kinds[0])
            if port in _handed_out:
                continue
            if all(_is_free(port, kind) for kind in kinds[1:]):
                _handed_out.add(port)
                return port
    raise RuntimeError(f"no free port on {LOOPBACK} after {_MAX_TRIES} tries")


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to right now."""
    return _claim((socket.SOCK_DGRAM,))


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that nothing is bound to right now."""
    return _claim((socket.SOCK_STREAM,))


def free_udp_tcp_port() -> int:
    """One port number free for both UDP and TCP (SIP listens on both)."""
    return _claim((socket.SOCK_STREAM, socket.SOCK_DGRAM))
