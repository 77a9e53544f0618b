"""For every rule of 7.1.1: a trace that passes it and one that fails it.

``CASES`` maps a rule id to a :class:`Case`: ``passing`` and ``failing``
make traces (a conforming flow of :mod:`tests.procedures.flows`, and the same
flow with one :class:`~tests.procedures.scene.Mutation`), and ``why`` is
what the failing verdict's note must say, so the trace fails for the reason
the case is about.  A MAY item's "failure" is reported as not applicable; the
3GPP/3GPP2 IMS items are never applicable (``why`` is then that reason).

``MORE_FAILURES`` reaches the other ways a rule fails, ``MORE_PASSES`` the
traces where a rule once failed wrongly, ``NOT_APPLICABLE`` the traces where
a rule is, by nature, not applicable; ``CONFORMING`` lists every conforming
exchange used, on which no rule fails.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

from imkit.trace import Trace
from tests.procedures.flows import (
    BOB,
    CAROL,
    DAVE,
    ERIN,
    FACTORY,
    GROUP,
    IDENTITY,
    add_flow,
    add_one_flow,
    adhoc_flow,
    cancel_after_final_flow,
    cancel_flow,
    context,
    extend_flow,
    lapse_flow,
    leave_flow,
    modify_flow,
    one_to_one_flow,
    predefined_flow,
    prepare_one_to_one,
    public_flow,
    refresh_flow,
    rejoin_flow,
    rejoin_refused_flow,
    remove_flow,
    subscribe_flow,
    too_many_flow,
    trace_of,
)
from tests.procedures.scene import (
    drop,
    mutation,
    put,
    replace_body,
    request_uri,
    rewrite,
    status,
    swap,
)

IMS_REASON = "the SIP/IP Core is not 3GPP/3GPP2 IMS"
CPIM_AND_TEXT = b"a=accept-types:message/cpim text/plain"
MSRP_LINE = b"m=message 7000 TCP/MSRP *"
NOT_MSRP = b"m=audio 7000 RTP/AVP 0"
OTHER_VIA = "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKnot-the-invite"

MakeTrace = Callable[[], Trace]


class Case(NamedTuple):
    passing: MakeTrace
    failing: MakeTrace
    why: str


def case(flow, why: str, **change) -> Case:
    """``flow`` as it is, and ``flow`` with ``change`` (see :func:`mutation`)."""
    return Case(partial(trace_of, flow), partial(trace_of, flow, mutation(**change)), why)


def ims(flow) -> Case:
    """The IMS item: not applicable on any trace, the conforming one included."""
    return Case(partial(trace_of, flow), partial(trace_of, flow), IMS_REASON)


def offer_rules(clause: str, item: str, flow, name: str | None = None) -> dict[str, Case]:
    """The SDP offer item of a conference INVITE and its accept-types SHALL and MAY."""
    name = name or clause
    return {
        f"{clause}/{item}": case(flow, "SDP offer is not an MSRP offer", edit={name: swap(MSRP_LINE, NOT_MSRP)}),
        f"{clause}/{item}-i": case(flow, "accept-types is text/plain, without message/cpim",
                                   edit={name: swap(CPIM_AND_TEXT, b"a=accept-types:text/plain")}),
        f"{clause}/{item}-ii": case(flow, "only message/cpim offered",
                                    edit={name: swap(CPIM_AND_TEXT, b"a=accept-types:message/cpim")}),
    }


def answered(clause: str, item: str, method: str, flow, response: str) -> dict[str, Case]:
    """"SHALL send the ... request towards ...": fails when nothing answered it."""
    return {f"{clause}/{item}": case(flow, f"no response to the {method} reached the client",
                                     skip={f"{clause}/{response}"})}


def size_notice(clause: str, flow, invited: int) -> Case:
    """"If exceeded, the IM Client SHOULD notify the IM User": passes when the
    builder refused and the user was told; fails when more than the limit the
    client noted went out without a word."""
    lying = mutation(note_text={f"{clause}/size-check": f"{invited} invited <= MAX-ADHOC-GROUP-SIZE 2"})
    return Case(partial(trace_of, partial(too_many_flow, clause=clause), ctx=context(max_adhoc_group_size=2)),
                partial(trace_of, flow, lying), f"{invited} invited exceed MAX-ADHOC-GROUP-SIZE 2")


anonymous_one_to_one = partial(one_to_one_flow, anonymous=True)
big_adhoc = partial(adhoc_flow, invited=(BOB, CAROL, DAVE))
anonymous_add = partial(add_flow, anonymous=True)
anonymous_leave = partial(leave_flow, anonymous=True)
remove_reported = partial(remove_flow, notify=True)
challenged_cancel_flow = partial(cancel_flow, challenged=True)
never_refreshed = partial(lapse_flow, refreshed=False)
ended_by_peer = partial(lapse_flow, peer_bye=True)

CASES: dict[str, Case] = {
    # 7.1.1.1 General
    "7.1.1.1/0": case(one_to_one_flow, "Max-Forwards is missing", edit={"7.1.1.2": drop("Max-Forwards")}),
    "7.1.1.1/1": case(adhoc_flow, "no Accept-Contact with +g.oma.sip-im",
                      edit={"7.1.1.11": put("Accept-Contact", "*;+g.poc.talkburst")}),
    "7.1.1.1/2": case(one_to_one_flow, "does not start with the release version",
                      edit={"7.1.1.2": put("User-Agent", "imkit/0.1")}),
    "7.1.1.1/3": case(one_to_one_flow, "Allow omits supported methods BYE",
                      edit={"7.1.1.2": put("Allow", "INVITE, ACK, CANCEL")}),
    "7.1.1.1/4": case(one_to_one_flow, "Contact lacks +g.oma.sip-im",
                      edit={"7.1.1.2": put("Contact", "<sip:alice@127.0.0.1:5070>")}),
    "7.1.1.1/5": case(anonymous_one_to_one, "anonymity was requested but Privacy has no 'id'",
                      edit={"7.1.1.2": drop("Privacy")}),
    "7.1.1.1/6": case(modify_flow, "no 'timer' in Supported", edit={"7.1.1.5": drop("Supported")}),
    "7.1.1.1/7": case(one_to_one_flow, "refresher is 'uas', not 'uac'",
                      edit={"7.1.1.2": put("Session-Expires", "1800;refresher=uas")}),
    "7.1.1.1/r1": case(one_to_one_flow, "the client did not store Allow", drop_notes={"7.1.1.1/r1"}),
    "7.1.1.1/r2": case(one_to_one_flow, "stored '<sip:carol@127.0.0.1:5090>', the response had '<sip:bob@127.0.0.1:5080>'",
                       note_text={"7.1.1.1/r2": "<sip:carol@127.0.0.1:5090>"}),
    "7.1.1.1/ok1": case(one_to_one_flow, "timer started with 90s, the 200 said 1800s", note_text={"7.1.1.1/ok1": "90"}),
    "7.1.1.1/ok2": case(adhoc_flow, "no SUBSCRIBE to the conference event package followed the 200", skip={"7.1.1.11"}),
    "7.1.1.1/ims": ims(one_to_one_flow),
    # 7.1.1.2 One-to-One IM session
    "7.1.1.2/1": case(one_to_one_flow, "From has no tag", edit={"7.1.1.2": put("From", "Alice <sip:alice@example.com>")}),
    "7.1.1.2/2": case(one_to_one_flow, f"Request-URI {CAROL} is not the intended {BOB}",
                      edit={"7.1.1.2": request_uri(CAROL)}),
    "7.1.1.2/3": case(one_to_one_flow, "no SDP body", edit={"7.1.1.2": replace_body(b"", None)}),
    **answered("7.1.1.2", "4", "INVITE", one_to_one_flow, "200"),
    "7.1.1.2/ok1": case(one_to_one_flow, "the client did not store Contact", drop_notes={"session-identity"}),
    "7.1.1.2/ok2": case(one_to_one_flow, "no MSRP message followed the 200", skip={"7.1.1.2/msrp"}),
    "7.1.1.2/ims": ims(one_to_one_flow),
    # 7.1.1.3 Ad-hoc IM Conference
    "7.1.1.3/1": case(adhoc_flow, "a INVITE needs a Contact", edit={"7.1.1.3": drop("Contact")}),
    "7.1.1.3/2": case(adhoc_flow, f"is not the intended {FACTORY}",
                      edit={"7.1.1.3": request_uri("sip:conference-factory@elsewhere.example")}),
    "7.1.1.3/3": case(adhoc_flow, "no recipient-list-invite in Require", edit={"7.1.1.3": drop("Require")}),
    "7.1.1.3/4": case(adhoc_flow, "the invitee count was not checked", drop_notes={"7.1.1.3/size-check"}),
    "7.1.1.3/4-notify": size_notice("7.1.1.3", big_adhoc, 3),
    **offer_rules("7.1.1.3", "5", adhoc_flow),
    **answered("7.1.1.3", "6", "INVITE", adhoc_flow, "200"),
    "7.1.1.3/ok1": case(adhoc_flow, "stored 'sip:conf-8@example.com', the response had 'sip:conf-7@example.com'",
                        note_text={"session-identity": "sip:conf-8@example.com"}),
    "7.1.1.3/ok2": case(adhoc_flow, "the client did not open the MSRP session", drop_notes={"user-plane"}),
    "7.1.1.3/ims": ims(adhoc_flow),
    # 7.1.1.4 Pre-Defined IM Conference
    "7.1.1.4/1": case(predefined_flow, "the branch lacks the z9hG4bK magic cookie",
                      edit={"7.1.1.4": put("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=1234")}),
    "7.1.1.4/1a": case(predefined_flow, f"Request-URI {GROUP} is not the intended sip:family@example.com",
                       note_text={"7.1.1.4/target": "sip:family@example.com"}),
    **offer_rules("7.1.1.4", "1b", predefined_flow),
    **answered("7.1.1.4", "2", "INVITE", predefined_flow, "200"),
    "7.1.1.4/ok1": case(predefined_flow, "the client did not store Contact", drop_notes={"session-identity"}),
    "7.1.1.4/ok2": case(predefined_flow, "no MSRP message followed the 200", skip={"7.1.1.4/msrp"}),
    "7.1.1.4/ims": ims(predefined_flow),
    # 7.1.1.5 IM Session Modification
    "7.1.1.5/0": case(modify_flow, "To needs the remote tag", edit={"7.1.1.5": put("To", f"<{BOB}>")}),
    "7.1.1.5/ok1": case(modify_flow, "the client did not store Contact", drop_notes={"session-identity"}),
    "7.1.1.5/ok2": case(modify_flow, "no MSRP message followed the 200", skip={"7.1.1.5/msrp"}),
    "7.1.1.5/ims": ims(modify_flow),
    # 7.1.1.6 extend a 1-1 IM Session to an Ad-hoc IM Conference
    "7.1.1.6/1": case(extend_flow, "no 'timer' in Supported", edit={"7.1.1.6": put("Supported", "replaces")}),
    "7.1.1.6/2": case(extend_flow, f"Request-URI {BOB} is not the intended {FACTORY}", edit={"7.1.1.6": request_uri(BOB)}),
    "7.1.1.6/3": case(extend_flow, f"the URI list lacks the original invited user {BOB}",
                      edit={"7.1.1.6": swap(b'uri="sip:bob@', b'uri="sip:bobby@')}),
    "7.1.1.6/4": case(extend_flow, "no application/resource-lists+xml body part",
                      edit={"7.1.1.6": swap(b"Content-Type: application/resource-lists+xml", b"Content-Type: application/xml")}),
    "7.1.1.6/5": case(extend_flow, "the invitee count was not checked", drop_notes={"7.1.1.6/size-check"}),
    "7.1.1.6/5-notify": size_notice("7.1.1.6", partial(extend_flow, invited=(CAROL, DAVE)), 3),
    "7.1.1.6/6": case(extend_flow, "Content-Type is 'multipart/alternative",
                      edit={"7.1.1.6": rewrite("Content-Type", "multipart/mixed", "multipart/alternative")}),
    **offer_rules("7.1.1.6", "7", extend_flow),
    "7.1.1.6/8": case(extend_flow, "no URI-list entry carries a Replaces header",
                      edit={"7.1.1.6": swap(b"?Replaces=", b"?Replace=")}),
    **answered("7.1.1.6", "9", "INVITE", extend_flow, "200"),
    "7.1.1.6/ok1": case(extend_flow, "the client did not store Contact", drop_notes={"session-identity"}),
    "7.1.1.6/ok2": case(extend_flow, "the client did not open the MSRP session", drop_notes={"user-plane"}),
    "7.1.1.6/note": case(extend_flow, "the BYE ending the replaced 1-1 session was not answered",
                         skip={"7.1.1.6/bye/200"}),
    "7.1.1.6/ims": ims(extend_flow),
    # 7.1.1.7 adding IM Users
    "7.1.1.7/1": case(add_flow, "a REFER needs exactly one Refer-To", edit={"7.1.1.7": drop("Refer-To")}),
    "7.1.1.7/2": case(add_flow, f"Request-URI {FACTORY} is not the IM Session Identity {IDENTITY}",
                      edit={"7.1.1.7": request_uri(FACTORY)}),
    "7.1.1.7/3a": case(add_one_flow, f"Refer-To is {ERIN}, the invited IM User is {DAVE}",
                       edit={"7.1.1.7": put("Refer-To", f"<{ERIN}>")}),
    "7.1.1.7/3b": case(add_one_flow, "Refer-Sub is 'true', expected false", edit={"7.1.1.7": put("Refer-Sub", "true")}),
    "7.1.1.7/4a": case(add_flow, "but the body's Content-ID is 'other@127.0.0.1'",
                       edit={"7.1.1.7": put("Content-ID", "<other@127.0.0.1>")}),
    "7.1.1.7/4b": case(add_flow, "a multiple REFER lists more than one IM User",
                       edit={"7.1.1.7": swap(f'<entry uri="{ERIN}"/>'.encode(), b"")}),
    "7.1.1.7/4c": case(add_flow, "Refer-Sub is 'false', expected true", edit={"7.1.1.7": put("Refer-Sub", "false")}),
    "7.1.1.7/4d": case(add_flow, "Require lacks norefersub", edit={"7.1.1.7": put("Require", "multiple-refer")}),
    "7.1.1.7/5": case(add_flow, "the invitee count was not checked", drop_notes={"7.1.1.7/size-check"}),
    "7.1.1.7/5-notify": size_notice("7.1.1.7", partial(add_flow, invited=(CAROL, DAVE, ERIN)), 3),
    "7.1.1.7/6": case(anonymous_add, "anonymity was requested but Privacy has no 'id'", edit={"7.1.1.7": drop("Privacy")}),
    **answered("7.1.1.7", "7", "REFER", add_flow, "202"),
    "7.1.1.7/n1": case(add_flow, "the NOTIFY was not answered", skip={"7.1.1.7/notify/200"}),
    "7.1.1.7/n2": case(add_flow, "no sign that the client showed the NOTIFY", drop_notes={"7.1.1.7/display"}),
    "7.1.1.7/ims": ims(add_flow),
    # 7.1.1.8 SIP Session refresh
    "7.1.1.8/0": case(refresh_flow, "the session expired at 1.000", note_text={"session-expiry": "1.000000"}),
    "7.1.1.8/0-missed": Case(partial(trace_of, lapse_flow), partial(trace_of, never_refreshed),
                             "no session refresh: the timer started on the 200 OK (message 1) expired at 1802.000"),
    "7.1.1.8/1": case(refresh_flow, "a session refresh is a re-INVITE inside the dialog",
                      edit={"7.1.1.8": put("To", f"<{BOB}>")}),
    "7.1.1.8/2": case(refresh_flow, "refresher is 'uas'", edit={"7.1.1.8": put("Session-Expires", "1800;refresher=uas")}),
    "7.1.1.8/3": case(refresh_flow, "Supported lacks timer", edit={"7.1.1.8": drop("Supported")}),
    "7.1.1.8/4": case(refresh_flow, "the SDP differs from the one in use",
                      edit={"7.1.1.8": swap(b"o=- 4242 4242", b"o=- 4242 4243")}),
    **answered("7.1.1.8", "5", "INVITE", refresh_flow, "200"),
    "7.1.1.8/ims": ims(refresh_flow),
    # 7.1.1.9 rejoin
    "7.1.1.9/1": case(rejoin_flow, "sent without checking that a session id is stored", drop_notes={"7.1.1.9/1"}),
    "7.1.1.9/1-error": case(rejoin_refused_flow, "no session id was stored and no error was shown",
                            drop_notes={"7.1.1.9/1-error"}),
    "7.1.1.9/2": case(rejoin_flow, "no Accept-Contact", edit={"7.1.1.9": drop("Accept-Contact")}),
    "7.1.1.9/3": case(rejoin_flow, f"is not the intended {IDENTITY}", edit={"7.1.1.9": request_uri(FACTORY)}),
    "7.1.1.9/4": case(rejoin_flow, "no SDP body", edit={"7.1.1.9": put("Content-Type", "text/plain")}),
    **answered("7.1.1.9", "5", "INVITE", rejoin_flow, "200"),
    "7.1.1.9/ok1": case(rejoin_flow, "the client did not store Allow", drop_notes={"7.1.1.1/r1"}),
    "7.1.1.9/ok2": case(rejoin_flow, "the client did not store Contact", drop_notes={"session-identity"}),
    "7.1.1.9/ims": ims(rejoin_flow),
    # 7.1.1.10 Public Conference
    "7.1.1.10/1": case(public_flow, "does not start with the release version", edit={"7.1.1.10": put("User-Agent", "OMA-IM")}),
    "7.1.1.10/2": case(public_flow, f"Request-URI {GROUP} is not the intended sip:lobby@example.com",
                       edit={"7.1.1.10": request_uri(GROUP)}),
    "7.1.1.10/3": case(public_flow, "'application/x-sdp', not application/sdp",
                       edit={"7.1.1.10": put("Content-Type", "application/x-sdp")}),
    **offer_rules("7.1.1.10", "4", public_flow),
    **answered("7.1.1.10", "5", "INVITE", public_flow, "200"),
    "7.1.1.10/ok1": case(public_flow, "the client did not store Allow", drop_notes={"7.1.1.1/r1"}),
    "7.1.1.10/ok2": case(public_flow, "stored 'sip:conf-8@example.com'", note_text={"session-identity": "sip:conf-8@example.com"}),
    "7.1.1.10/ims": ims(public_flow),
    # 7.1.1.11 conference state subscription
    "7.1.1.11/0": case(adhoc_flow, "the client never subscribed to the conference state", skip={"7.1.1.11"}),
    "7.1.1.11/1": case(subscribe_flow, "Event is not 'conference'", edit={"7.1.1.11": put("Event", "presence")}),
    "7.1.1.11/2": case(adhoc_flow, f"{FACTORY} is neither the IM Session Identity nor the IM Group Identity",
                       edit={"7.1.1.11": request_uri(FACTORY)}),
    **answered("7.1.1.11", "3", "SUBSCRIBE", subscribe_flow, "200"),
    "7.1.1.11/resp": case(subscribe_flow, "unexpected 204 to SUBSCRIBE", edit={"7.1.1.11/200": status(204)}),
    "7.1.1.11/ok1": case(subscribe_flow, "the client did not store Contact", drop_notes={"7.1.1.11/ok1"}),
    "7.1.1.11/n1": case(subscribe_flow, "the NOTIFY was answered 500", edit={"7.1.1.11/notify/200": status(500)}),
    "7.1.1.11/n2": case(subscribe_flow, "updated the displayed conference state", drop_notes={"7.1.1.11/n2"}),
    "7.1.1.11/n3": case(subscribe_flow, "identified its own <user>", drop_notes={"7.1.1.11/n3"}),
    "7.1.1.11/n4": case(subscribe_flow, "checked the joined users against the block list", drop_notes={"7.1.1.11/n4"}),
    "7.1.1.11/n4-cache": Case(partial(trace_of, subscribe_flow, ctx=context(blocklist={DAVE})),
                              partial(trace_of, subscribe_flow), "used a cached block list"),
    "7.1.1.11/term": case(leave_flow, "the subscription had to end but no SUBSCRIBE with Expires: 0 was sent",
                          skip={"7.1.1.11/term", "7.1.1.11/term/200"}),
    "7.1.1.11/ims": ims(subscribe_flow),
    # 7.1.1.12 leaving
    "7.1.1.12/1": case(leave_flow, "a BYE is sent inside the session's dialog", edit={"7.1.1.12": put("To", f"<{FACTORY}>")}),
    "7.1.1.12/2": case(leave_flow, f"Request-URI {FACTORY} is not the IM Session Identity {IDENTITY}",
                       edit={"7.1.1.12": request_uri(FACTORY)}),
    "7.1.1.12/3": case(anonymous_leave, "anonymity was requested but Privacy has no 'id'",
                       edit={"7.1.1.12": put("Privacy", "header")}),
    **answered("7.1.1.12", "4", "BYE", leave_flow, "200"),
    "7.1.1.12/note": case(leave_flow, "the session id was not kept", drop_notes={"7.1.1.12/note"}),
    "7.1.1.12/ok": case(leave_flow, "the MSRP session was not released", drop_notes={"7.1.1.12/ok"}),
    "7.1.1.12/ims": ims(leave_flow),
    # 7.1.1.13 cancelling
    "7.1.1.13/1": case(cancel_flow, "the Via differs from the INVITE's top Via", edit={"7.1.1.13": put("Via", OTHER_VIA)}),
    "7.1.1.13/ims": ims(cancel_flow),
    # 7.1.1.14 removing an IM User
    "7.1.1.14/1": case(remove_flow, "Max-Forwards is missing", edit={"7.1.1.14": drop("Max-Forwards")}),
    "7.1.1.14/2": case(remove_flow, f"Request-URI {FACTORY} is not the IM Session Identity {IDENTITY}",
                       edit={"7.1.1.14": request_uri(FACTORY)}),
    "7.1.1.14/3": case(remove_flow, f"Refer-To <{CAROL}> has no method=BYE", edit={"7.1.1.14": put("Refer-To", f"<{CAROL}>")}),
    "7.1.1.14/4": case(remove_flow, "Refer-Sub is 'true', expected false", edit={"7.1.1.14": put("Refer-Sub", "true")}),
    **answered("7.1.1.14", "5", "REFER", remove_flow, "202"),
    "7.1.1.14/n1": case(remove_reported, "the NOTIFY was not answered", skip={"7.1.1.14/notify/200"}),
    "7.1.1.14/n2": case(remove_reported, "no sign that the client showed the NOTIFY", drop_notes={"7.1.1.14/display"}),
    "7.1.1.14/ims": ims(remove_flow),
}

#: (rule id, a failing trace, what the note says): the other ways rules fail.
MORE_FAILURES: list[tuple[str, MakeTrace, str]] = [
    ("7.1.1.1/3", partial(trace_of, one_to_one_flow, mutation(edit={"7.1.1.2": drop("Allow")})), "no Allow header"),
    ("7.1.1.1/ok1", partial(trace_of, one_to_one_flow, mutation(drop_notes={"7.1.1.1/ok1"})), "the session timer was not started"),
    ("7.1.1.2/ok2", partial(trace_of, one_to_one_flow, mutation(drop_notes={"user-plane"})), "did not open the MSRP session"),
    ("7.1.1.6/8", partial(trace_of, extend_flow, mutation(note_text={"7.1.1.6/replaced-dialog": "other@host;to-tag=a;from-tag=b"})),
     "the 1-1 dialog is other@host;to-tag=a;from-tag=b"),
    ("7.1.1.7/4b", partial(trace_of, add_flow, mutation(edit={"7.1.1.7": put("Content-Type", "application/xml")})),
     "Content-Type is 'application/xml', not application/resource-lists+xml"),
    ("7.1.1.8/0", partial(trace_of, refresh_flow, mutation(note_text={"session-expiry": "soon"})),
     "the noted session expiry 'soon' is not a time"),
    ("7.1.1.11/n1", partial(trace_of, subscribe_flow, mutation(skip={"7.1.1.11/notify/200"})), "the NOTIFY was not answered"),
    ("7.1.1.13/1", partial(trace_of, partial(cancel_flow, prepare=prepare_one_to_one)),
     "the cancelled INVITE came from 7.1.1.2, not 7.1.1.3 or 7.1.1.4"),
    ("7.1.1.13/1", partial(trace_of, cancel_after_final_flow), "a final 200 had already arrived"),
    ("7.1.1.13/1", partial(trace_of, cancel_flow, mutation(edit={"7.1.1.13": put("From", "<sip:alice@example.com>;tag=x")})),
     "From differs from the INVITE's"),
    ("7.1.1.13/1", partial(trace_of, cancel_flow, mutation(edit={"7.1.1.13": request_uri(BOB)})),
     "Request-URI differs from the INVITE's"),
    ("7.1.1.14/3", partial(trace_of, remove_flow, mutation(edit={"7.1.1.14": put("Refer-To", f"<{DAVE};method=BYE>")})),
     f"the removed IM User is {CAROL}"),
]

#: (rule id, a trace every message of which passes the rule, what the note says).
MORE_PASSES: list[tuple[str, MakeTrace, str]] = [
    # the 407 to the first attempt is not a final response to the INVITE cancelled
    ("7.1.1.13/1", partial(trace_of, challenged_cancel_flow), "CANCEL of the 7.1.1.3 INVITE"),
    # what the client noted about the challenged first attempt holds for the retry
    ("7.1.1.3/2", partial(trace_of, challenged_cancel_flow), FACTORY),
    ("7.1.1.3/4", partial(trace_of, challenged_cancel_flow), "2 invited <= MAX-ADHOC-GROUP-SIZE 10"),
    # a 1-1 session started after the conference: its identity is not the one to use
    ("7.1.1.7/2", partial(trace_of, partial(add_flow, busy=True)), IDENTITY),
    ("7.1.1.12/2", partial(trace_of, partial(leave_flow, busy=True)), IDENTITY),
    ("7.1.1.14/2", partial(trace_of, partial(remove_flow, busy=True)), IDENTITY),
    # the session ended before its timer ran out: nothing left to refresh
    ("7.1.1.8/0-missed", partial(trace_of, ended_by_peer), "BYE received 896.0s before expiry"),
]

#: (rule id, a trace where the rule is by nature not applicable, the reason).
NOT_APPLICABLE: list[tuple[str, MakeTrace, str]] = [
    ("7.1.1.1/5", partial(trace_of, one_to_one_flow), "anonymity was not requested"),
    ("7.1.1.1/7", partial(trace_of, subscribe_flow), "RFC 4028 defines Session-Expires for INVITE and UPDATE only"),
    ("7.1.1.1/r1", partial(trace_of, subscribe_flow), "no Allow in this response"),
    ("7.1.1.1/ok1", partial(trace_of, one_to_one_flow, mutation(edit={"7.1.1.2/200": drop("Session-Expires")})),
     "the 200 has no Session-Expires"),
    ("7.1.1.1/ok2", partial(trace_of, one_to_one_flow), "not an IM group session"),
    ("7.1.1.2/2", partial(trace_of, one_to_one_flow, mutation(drop_notes={"7.1.1.2/target"})), "the intended target was not noted"),
    ("7.1.1.3/4-notify", partial(trace_of, adhoc_flow), "the group size was never exceeded"),
    ("7.1.1.6/3", partial(trace_of, extend_flow, mutation(drop_notes={"7.1.1.6/peer"})), "the original invited user was not noted"),
    ("7.1.1.6/8", partial(trace_of, extend_flow, mutation(drop_notes={"7.1.1.6/replaced-dialog"})), "the 1-1 dialog was not noted"),
    ("7.1.1.7/2", partial(trace_of, add_flow, mutation(drop_notes={"session-identity"})), "no IM Session Identity was stored"),
    ("7.1.1.7/3a", partial(trace_of, add_one_flow, mutation(drop_notes={"7.1.1.7/target"})), "the invitee was not noted"),
    ("7.1.1.7/5-notify", partial(trace_of, add_flow), "the group size was never exceeded"),
    ("7.1.1.8/0", partial(trace_of, refresh_flow, mutation(drop_notes={"session-expiry"})), "no session timer was running"),
    ("7.1.1.8/0-missed", partial(trace_of, one_to_one_flow), "the trace ends before the session timer expires"),
    ("7.1.1.8/0-missed", partial(trace_of, subscribe_flow), "no session timer the client had to refresh"),
    ("7.1.1.8/0-missed", partial(trace_of, never_refreshed, mutation(edit={"7.1.1.2/200": put("Session-Expires", "1800;refresher=uas")})),
     "no session timer the client had to refresh"),
    ("7.1.1.8/0-missed", partial(trace_of, never_refreshed, mutation(drop_notes={"7.1.1.1/ok1"})),
     "no session timer the client had to refresh"),
    ("7.1.1.8/4", partial(trace_of, refresh_flow, mutation(drop_notes={"sdp-in-use"})), "the session's SDP was not noted"),
    ("7.1.1.9/1", partial(trace_of, one_to_one_flow), "no rejoin was attempted"),
    ("7.1.1.9/1-error", partial(trace_of, rejoin_flow), "a session id was stored each time"),
    ("7.1.1.11/0", partial(trace_of, one_to_one_flow), "no IM group session in this trace"),
    ("7.1.1.11/1", partial(trace_of, leave_flow), "a refresh inside the subscription dialog"),
    ("7.1.1.11/2", partial(trace_of, leave_flow), "a refresh inside the subscription dialog"),
    ("7.1.1.11/2", partial(trace_of, subscribe_flow, mutation(drop_notes={"group-identity"})),
     "no IM Session Identity or IM Group Identity was noted"),
    ("7.1.1.11/n2", partial(trace_of, subscribe_flow, mutation(edit={"7.1.1.11/notify": replace_body(b"", None)})),
     "the NOTIFY carries no conference-info"),
    ("7.1.1.11/term", partial(trace_of, adhoc_flow), "the subscription never had to be terminated"),
    ("7.1.1.12/2", partial(trace_of, leave_flow, mutation(drop_notes={"session-identity"})), "no IM Session Identity was stored"),
    ("7.1.1.12/3", partial(trace_of, leave_flow), "anonymity was not requested"),
    ("7.1.1.14/2", partial(trace_of, remove_flow, mutation(drop_notes={"session-identity"})), "no IM Session Identity was stored"),
]

#: every conforming exchange the cases start from (no rule fails on any)
CONFORMING: dict[str, MakeTrace] = {
    **{flow.__name__: partial(trace_of, flow) for flow in (
        one_to_one_flow, adhoc_flow, predefined_flow, public_flow, rejoin_flow, rejoin_refused_flow, modify_flow,
        refresh_flow, lapse_flow, extend_flow, add_flow, add_one_flow, remove_flow, leave_flow, cancel_flow, subscribe_flow)},
    "anonymous 1-1": partial(trace_of, anonymous_one_to_one),
    "ended by the peer": partial(trace_of, ended_by_peer),
    "anonymous add": partial(trace_of, anonymous_add),
    "anonymous leave": partial(trace_of, anonymous_leave),
    "removal reported": partial(trace_of, remove_reported),
    "challenged cancel": partial(trace_of, challenged_cancel_flow),
    "cached block list": partial(trace_of, subscribe_flow, ctx=context(blocklist={DAVE})),
    **{f"busy {flow.__name__}": partial(trace_of, partial(flow, busy=True)) for flow in (add_flow, remove_flow, leave_flow)},
    **{f"too many {clause}": partial(trace_of, partial(too_many_flow, clause=clause), ctx=context(max_adhoc_group_size=2))
       for clause in ("7.1.1.3", "7.1.1.6", "7.1.1.7")},
}
