"""The test IM Server of imkit (issue 5): registrar, stateful proxy,
simulated users, fault injection, and the plug-in point for the conference
focus.

``from imkit.server import TestServer`` (also ``imkit.TestServer``)::

    async with TestServer(users={"carol": "busy"}) as server:
        host, port = server.address
        server.faults.add(method="INVITE", to="bob", status=503)

``imkit server`` runs it standalone (:mod:`imkit.cli`).
"""

from __future__ import annotations

from imkit.server.app import TestServer, default_groups
from imkit.server.behaviour import Answer, Behaviour, Chat
from imkit.server.config import ServerConfig
from imkit.server.faults import Fault, FaultAction, Faults, parse_fault
from imkit.server.registrar import Binding, Location
from imkit.server.service import Service
from imkit.server.users import SimSession, SimulatedUser, SimulatedUsers

__all__ = [
    "Answer",
    "Behaviour",
    "Binding",
    "Chat",
    "Fault",
    "FaultAction",
    "Faults",
    "Location",
    "ServerConfig",
    "Service",
    "SimSession",
    "SimulatedUser",
    "SimulatedUsers",
    "TestServer",
    "default_groups",
    "parse_fault",
]
