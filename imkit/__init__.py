"""imkit: explore the OMA SIMPLE IM client procedures for IM Sessions (7.1.1) live.

Layers (imports only point down): ``sip``/``msrp``/``payloads`` (sans-IO core),
``trace``, ``runtime`` (asyncio), ``procedures``, ``conformance``, ``client``
and ``server``, then ``widgets`` and ``cli``.
"""

from __future__ import annotations

from imkit.errors import LocalProtocolError, ParseError, ProtocolError, RemoteProtocolError

__all__ = ["ProtocolError", "ParseError", "LocalProtocolError", "RemoteProtocolError"]
__version__ = "0.1.0"
