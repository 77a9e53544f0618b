"""What a procedure needs from the client to build a request.

Procedures are pure: they build :class:`~imkit.procedures.outgoing.OutgoingRequest`
objects from a :class:`BuildContext` and never touch the network.  The
:class:`~imkit.client.IMClient` implements the context from its runtime
(addresses, dialogs, the MSRP endpoint); tests use a fixed one.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.profile import ClientProfile
from imkit.sip import NameAddr, SipURI
from imkit.sip.dialog import Dialog
from imkit.sip.uri import URI

#: The clause RFC 3261 itself stands for in provenance.
RFC3261 = "RFC 3261"


class BuildContext(Protocol):
    """The client-side facts a request builder reads."""

    @property
    def profile(self) -> ClientProfile: ...

    @property
    def contact(self) -> SipURI:
        """Our Contact URI: where requests in the new dialog reach us."""

    def initial_request(self, method: str, request_uri: URI, to: NameAddr, clause: str, purpose: str) -> OutgoingRequest:
        """A new request outside any dialog: Via, Max-Forwards, From (with a
        new tag), To, Call-ID, CSeq as RFC 3261 8.1.1 says, provenance noted."""

    def in_dialog_request(self, dialog: Dialog, method: str, clause: str, purpose: str) -> OutgoingRequest:
        """A request inside ``dialog`` (RFC 3261 12.2.1.1)."""

    def sdp_offer(self, accept_types: Sequence[str]) -> bytes:
        """An SDP offer for one MSRP media stream (RFC 4975 section 8)."""
