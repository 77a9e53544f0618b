"""What the widget tests share: a fixed build context, real procedure
builds, a trace of real SIP bytes, conference-info documents."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from imkit.procedures import add_participants, one_to_one
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.profile import ClientProfile
from imkit.procedures.state import SessionKind, SessionState
from imkit.sip import NameAddr, SipURI, Via, parse_uri
from imkit.sip.builders import new_request
from imkit.sip.dialog import Dialog
from imkit.sip.ids import IdGenerator
from imkit.sip.sdp import build_msrp_offer
from imkit.sip.uri import URI
from imkit.trace import Direction, Protocol, Trace, Transport

ALICE = ("127.0.0.1", 5070)
SERVER = ("127.0.0.1", 5060)
ALICE_MSRP = ("127.0.0.1", 40001)
BOB_MSRP = ("127.0.0.1", 40002)
IDENTITY = "sip:conf-1@ims.example.com"


@dataclass
class FixedContext:
    """A BuildContext with fixed addresses and seeded ids: builds repeat exactly."""

    profile: ClientProfile = field(
        default_factory=lambda: ClientProfile.for_user("sip:alice@example.com", display_name="Alice"))
    contact: SipURI = field(default_factory=lambda: SipURI(host="127.0.0.1", user="alice", port=5070))
    ids: IdGenerator = field(default_factory=lambda: IdGenerator(random.Random(7)))

    def initial_request(self, method: str, request_uri: URI, to: NameAddr, clause: str, purpose: str) -> OutgoingRequest:
        via = Via("UDP", "127.0.0.1", 5070).with_param("branch", self.ids.branch()).with_param("rport")
        sender = NameAddr(self.profile.aor, self.profile.display_name).with_tag(self.ids.tag())
        request = new_request(method, request_uri, from_addr=sender, to_addr=to,
                              call_id=self.ids.call_id("127.0.0.1"), cseq=1, via=via)
        out = OutgoingRequest(request, clause, purpose)
        for name, section in (("Via", "8.1.1.7"), ("From", "8.1.1.3"), ("To", "8.1.1.2"), ("Call-ID", "8.1.1.4"),
                              ("CSeq", "8.1.1.5"), ("Max-Forwards", "8.1.1.6")):
            out.cite(name, "RFC 3261", section)
        return out

    def in_dialog_request(self, dialog: Dialog, method: str, clause: str, purpose: str) -> OutgoingRequest:
        return OutgoingRequest(dialog.create_request(method), clause, purpose)

    def sdp_offer(self, accept_types: Sequence[str]) -> bytes:
        return bytes(build_msrp_offer(path="msrp://127.0.0.1:40001/s3ss10n;tcp", session_id=1,
                                      accept_types=list(accept_types)))


def conference_session() -> SessionState:
    state = SessionState(SessionKind.ADHOC, parse_uri("sip:conference-factory@example.com"))
    state.identity = parse_uri(IDENTITY)
    return state


class FixedBuilder:
    """``build(clause, **params)`` over the real builders with a fixed context."""

    def __init__(self) -> None:
        self.context = FixedContext()
        self.calls: list[tuple[str, dict[str, object]]] = []

    def __call__(self, clause: str, **params: object) -> OutgoingRequest:
        self.calls.append((clause, params))
        if clause == "7.1.1.7":
            return add_participants.build(self.context, conference_session(), params["invited"],  # type: ignore[arg-type]
                                          anonymous=bool(params["anonymous"]))
        if clause == "7.1.1.2":
            return one_to_one.build(self.context, parse_uri(str(params["recipient"])),  # type: ignore[arg-type]
                                    anonymous=bool(params["anonymous"]))
        raise KeyError(clause)


def response_to(request: bytes, status: int, reason: str, extra: str = "") -> bytes:
    """A response copying Via, From, To, Call-ID and CSeq of ``request``."""
    head = request.split(b"\r\n\r\n", 1)[0].decode()
    keep = [line for line in head.split("\r\n")[1:]
            if line.split(":", 1)[0].lower() in ("via", "from", "call-id", "cseq")]
    to = next(line for line in head.split("\r\n") if line.lower().startswith("to:"))
    return (f"SIP/2.0 {status} {reason}\r\n" + "\r\n".join(keep) + f"\r\n{to};tag=srv1\r\n{extra}"
            "Content-Length: 0\r\n\r\n").encode()


MSRP_SEND = (b"MSRP a786hjs2 SEND\r\n"
             b"To-Path: msrp://127.0.0.1:40002/kjhd37s2s20w2a;tcp\r\n"
             b"From-Path: msrp://127.0.0.1:40001/jshA7weztas;tcp\r\n"
             b"Message-ID: 87652491\r\n"
             b"Byte-Range: 1-5/5\r\n"
             b"Content-Type: text/plain\r\n\r\n"
             b"Hello\r\n"
             b"-------a786hjs2$\r\n")


def refer_trace(*, refer_sub: bool = True) -> tuple[Trace, OutgoingRequest]:
    """A multiple REFER of 7.1.1.7 (built by the real builder) and its 202,
    then an MSRP SEND; without ``refer_sub`` the REFER lacks its Refer-Sub
    header, which rule 7.1.1.7/4c then fails."""
    out = FixedBuilder()("7.1.1.7", invited=["sip:bob@example.com", "sip:carol@example.com"], anonymous=False)
    if not refer_sub:
        out.request.headers.remove("Refer-Sub")
    trace = Trace(names={ALICE: "alice", SERVER: "server", ALICE_MSRP: "alice"})
    raw = bytes(out)
    trace.record(1.0, Direction.SENT, Protocol.SIP, Transport.UDP, ALICE, SERVER, raw,
                 out.provenance, label=out.clause)
    trace.record(1.1, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE, SERVER,
                 response_to(raw, 202, "Accepted"))
    trace.record(2.0, Direction.SENT, Protocol.MSRP, Transport.TCP, ALICE_MSRP, BOB_MSRP, MSRP_SEND)
    return trace, out


YOUROWN_NS = "urn:oma:xml:im:conference-info:yourown"

FULL = f"""<?xml version="1.0" encoding="UTF-8"?>
<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:o="{YOUROWN_NS}"
  entity="{IDENTITY}" state="full" version="1">
 <conference-state><user-count>3</user-count></conference-state>
 <users>
  <user entity="sip:alice@example.com" o:yourown="true">
   <display-text>Alice</display-text>
   <roles><entry>chairman</entry></roles>
   <endpoint entity="sip:alice@127.0.0.1:5070"><status>connected</status></endpoint>
  </user>
  <user entity="sip:b%C3%B6b@example.com">
   <display-text>Böb</display-text>
   <roles><entry>participant</entry></roles>
   <endpoint entity="sip:bob@127.0.0.1:5072"><status>connected</status></endpoint>
  </user>
  <user entity="sip:mallory@example.com">
   <display-text>Mallory &lt;the spammer&gt;</display-text>
   <endpoint entity="sip:mallory@127.0.0.1:5074"><status>alerting</status></endpoint>
  </user>
 </users>
</conference-info>""".encode()

PARTIAL = f"""<?xml version="1.0" encoding="UTF-8"?>
<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="{IDENTITY}" state="partial" version="2">
 <users state="partial">
  <user entity="sip:carol@example.com" state="full">
   <display-text>Carol</display-text>
   <endpoint entity="sip:carol@127.0.0.1:5076"><status>connected</status></endpoint>
  </user>
  <user entity="sip:mallory@example.com" state="deleted"/>
  <user entity="sip:b%C3%B6b@example.com" state="partial">
   <endpoint entity="sip:bob@127.0.0.1:5072" state="partial"><status>on-hold</status></endpoint>
  </user>
 </users>
</conference-info>""".encode()


def visible_text(html: str) -> str:
    """What a browser would show of ``html`` (tags dropped, entities decoded)."""
    from lxml import html as lxml_html

    return str(lxml_html.fromstring(f"<div>{html}</div>").text_content())


def marked(html: str) -> list[str]:
    """The text of the elements highlighted as the error position."""
    from lxml import html as lxml_html

    tree = lxml_html.fromstring(f"<div>{html}</div>")
    return [str(e.text_content()) for e in tree.iter() if "outline:1px solid #d32f2f" in (e.get("style") or "")]


def table_rows(html: str) -> list[list[str]]:
    """The visible text of each cell of each data row of every table in ``html``."""
    from lxml import html as lxml_html

    tree = lxml_html.fromstring(f"<div>{html}</div>")
    return [[str(cell.text_content()) for cell in row.findall("td")] for row in tree.iter("tr") if row.findall("td")]


def row_with(html: str, text: str) -> list[str]:
    """The one table row one of whose cells contains ``text``."""
    rows = [row for row in table_rows(html) if any(text in cell for cell in row)]
    assert len(rows) == 1, f"{len(rows)} rows contain {text!r}"
    return rows[0]
