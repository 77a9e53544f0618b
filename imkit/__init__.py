"""imkit: explore the OMA SIMPLE IM client procedures for IM Sessions (7.1.1) live.

Layers (imports only point down): ``sip``/``msrp``/``payloads`` (sans-IO core),
``trace``, ``runtime`` (asyncio), ``procedures``, ``conformance``, ``client``
and ``server``, then ``widgets`` and ``cli``.

The names people start from: :class:`IMClient`, :class:`TestServer`,
:class:`Trace`, ``imkit.procedures.get("7.1.1.7")`` and
``imkit.conformance.check(trace)``.
"""

from __future__ import annotations

from typing import Any

from imkit.errors import LocalProtocolError, ParseError, ProtocolError, RemoteProtocolError

__version__ = "0.1.0"
__all__ = [
    "IMClient", "TestServer", "Trace",
    "ProtocolError", "ParseError", "LocalProtocolError", "RemoteProtocolError",
]

_LAZY = {
    "IMClient": ("imkit.client", "IMClient"),
    "TestServer": ("imkit.server", "TestServer"),
    "Trace": ("imkit.trace", "Trace"),
}


def __getattr__(name: str) -> Any:
    # Imported on first use: ``import imkit`` stays cheap and the sans-IO core
    # never pulls in asyncio, lxml or the server.
    if name in _LAZY:
        from importlib import import_module

        module, attribute = _LAZY[name]
        return getattr(import_module(module), attribute)
    raise AttributeError(f"module 'imkit' has no attribute {name!r}")
