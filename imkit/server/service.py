"""The plug-in point of the test IM Server: :class:`Service`.

The server's core (:class:`imkit.server.app.TestServer`) is a registrar and a
stateful proxy (RFC 3261 sections 10 and 16).  Everything that *terminates*
requests on the server's side -- the conference focus (RFC 4579), its
conference event package (RFC 4575), REFER handling (RFC 3515) -- is a
service, added with ``server.add_service(service)``.

For every request that passed the core's checks (bad input, fault
injection) the server asks its services in the order they were added,
before the registrar and the proxy: the first whose :meth:`Service.owns`
says yes gets the request through :meth:`Service.handle`.  Before that the
core has:

* answered a malformed request itself (400, 416, 505 ...) and applied the
  faults (:mod:`imkit.server.faults`);
* checked Require against :data:`imkit.server.config.SUPPORTED_OPTIONS`
  (420 with Unsupported);
* sent ``100 Trying`` for an INVITE (RFC 3261 17.2.1), so a service that
  takes a while (a dial-out) need not.

ACKs are offered to services too (``owns`` then ``handle``; whatever
``handle`` returns is ignored: an ACK is never answered).  A CANCEL never
reaches a service: the transaction layer answers it with 200 and the INVITE
with 487 (RFC 3261 9.2), and sets ``incoming.cancelled``.

``handle`` answers by returning the final response, or by sending it itself
with ``server.endpoint.respond(incoming, response)`` (provisional responses
that way too).  It must have answered by the time it returns: the core sends
``500 Server Internal Error`` for a request still unanswered then (and for
one whose handler raised), so no client waits forever.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from imkit.runtime import IncomingRequest
from imkit.sip import Request, Response

__all__ = ["Service"]


@runtime_checkable
class Service(Protocol):
    """A part of the IM server that answers requests: the focus and its kin.

    Optional attributes the core reads when present: ``methods`` (the
    methods the service accepts, merged into the server's Allow) and
    ``events`` (event packages it serves, merged into Allow-Events and used
    to tell a SUBSCRIBE for an unknown package, 489, from one for a known
    package at an unknown URI, 404).
    """

    name: str

    def owns(self, request: Request) -> bool:
        """Whether this service answers ``request`` (by its Request-URI, or
        because it belongs to one of the service's dialogs)."""
        ...

    async def handle(self, incoming: IncomingRequest) -> Response | None:
        """Answer ``incoming``: return the final response, or send it with
        ``server.endpoint.respond`` and return ``None``."""
        ...

    async def close(self) -> None:
        """End what the service holds (BYE its sessions, stop timers); called
        once by ``server.close()``."""
        ...
