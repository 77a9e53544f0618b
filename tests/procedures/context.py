"""A fixed BuildContext for testing procedure builders without a network."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.profile import ClientProfile
from imkit.sip import NameAddr, SipURI, Via
from imkit.sip.builders import new_request
from imkit.sip.dialog import Dialog
from imkit.sip.ids import IdGenerator
from imkit.sip.sdp import Setup, build_msrp_offer
from imkit.sip.uri import URI

#: The MSRP URI the fixed client offers (RFC 4975 section 9).
MSRP_URI = "msrp://127.0.0.1:7000/s3ss10n;tcp"


@dataclass
class FixedContext:
    profile: ClientProfile = field(default_factory=lambda: ClientProfile.for_user("sip:alice@example.com", display_name="Alice"))
    contact: SipURI = field(default_factory=lambda: SipURI(host="127.0.0.1", user="alice", port=5070))
    ids: IdGenerator = field(default_factory=lambda: IdGenerator(random.Random(7)))
    #: every request a builder asked for, in order (a refused build asks for none)
    made: list[OutgoingRequest] = field(default_factory=list)

    def initial_request(self, method: str, request_uri: URI, to: NameAddr, clause: str, purpose: str) -> OutgoingRequest:
        via = Via("UDP", "127.0.0.1", 5070).with_param("branch", self.ids.branch()).with_param("rport")
        sender = NameAddr(self.profile.aor, self.profile.display_name).with_tag(self.ids.tag())
        request = new_request(method, request_uri, from_addr=sender, to_addr=to, call_id=self.ids.call_id("127.0.0.1"),
                              cseq=1, via=via)
        return self._made(OutgoingRequest(request, clause, purpose))

    def in_dialog_request(self, dialog: Dialog, method: str, clause: str, purpose: str) -> OutgoingRequest:
        return self._made(OutgoingRequest(dialog.create_request(method), clause, purpose))

    def _made(self, out: OutgoingRequest) -> OutgoingRequest:
        self.made.append(out)
        return out

    def sdp_offer(self, accept_types: Sequence[str]) -> bytes:
        return bytes(build_msrp_offer(path=MSRP_URI, session_id=4242, accept_types=list(accept_types), setup=Setup.ACTPASS))
