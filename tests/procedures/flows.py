"""Conforming exchanges of every 7.1.1 procedure, played on a :class:`Scene`.

Each flow does what :mod:`imkit.client` does around a procedure: notes the
intent before sending (``<clause>/target``, the size check, ...), sends what
the builder made, and on the IM Server's answers stores what 7.1.1 says to
store, opens the User Plane and, for a group session, subscribes to the
conference state.  A :class:`~tests.procedures.scene.Mutation` on the scene
makes one of these steps go wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from imkit.payloads.conference_info import CONTENT_TYPE as CONFERENCE_INFO
from imkit.payloads.conference_info import YOUROWN_NAMESPACE
from imkit.payloads.sipfrag import REFER_CONTENT_TYPE
from imkit.procedures import (
    add_participants,
    adhoc_conference,
    cancel_session,
    conference_events,
    extend_to_conference,
    leave_session,
    modify_session,
    one_to_one,
    predefined_conference,
    public_conference,
    refresh_session,
    rejoin_conference,
    remove_participant,
)
from imkit.procedures.errors import GroupSizeExceeded, NoStoredSessionIdentity
from imkit.procedures.general import session_timer_from_ok
from imkit.procedures.general_checks import sdp_body
from imkit.procedures.outgoing import OutgoingRequest
from imkit.procedures.profile import ClientProfile
from imkit.procedures.state import SessionKind, SessionPhase, SessionState
from imkit.sip import Request, Response, SipURI, parse, parse_uri
from imkit.sip.builders import make_ack_for_non2xx
from imkit.sip.dialog import Dialog
from imkit.sip.sdp import SessionDescription, build_msrp_answer
from imkit.trace import Trace
from tests.procedures.context import MSRP_URI, FixedContext
from tests.procedures.scene import CONFORMING, PEER_MSRP_URI, Mutation, Scene

ALICE = "sip:alice@example.com"
BOB = "sip:bob@example.com"
CAROL = "sip:carol@example.com"
DAVE = "sip:dave@example.com"
ERIN = "sip:erin@example.com"
FACTORY = "sip:conference-factory@example.com"
IDENTITY = "sip:conf-7@example.com"
GROUP = "sip:friends@example.com"
PUBLIC = "sip:lobby@example.com"
BOB_CONTACT = "<sip:bob@127.0.0.1:5080>"
FOCUS_CONTACT = f"<{IDENTITY}>;isfocus"
ALLOW = "INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, SUBSCRIBE, OPTIONS"
SESSION_EXPIRES = 1800
SDP = "application/sdp"

Flow = Callable[[Scene], object]


def sip(uri: str) -> SipURI:
    parsed = parse_uri(uri)
    assert isinstance(parsed, SipURI)
    return parsed


def trace_of(flow: Flow, change: Mutation = CONFORMING, ctx: Callable[[], FixedContext] = FixedContext) -> Trace:
    """Play ``flow`` on a new scene; its trace."""
    scene = Scene(change, ctx())
    flow(scene)
    return scene.trace


def context(**settings: object) -> Callable[[], FixedContext]:
    """A FixedContext factory whose profile has these settings."""
    return lambda: FixedContext(profile=ClientProfile.for_user(ALICE, display_name="Alice", **settings))


# -- what the IM Server says ------------------------------------------------------------
def sdp_answer(scene: Scene) -> bytes:
    offer = SessionDescription.parse(scene.ctx.sdp_offer(("message/cpim", "text/plain")))
    return bytes(build_msrp_answer(offer, path=PEER_MSRP_URI, session_id=77))


def conference_info(identity: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"'
        f' xmlns:oma="{YOUROWN_NAMESPACE}" entity="{identity}" state="full" version="1"><users>'
        f'<user entity="{ALICE}" state="full" oma:yourown="true"/><user entity="{BOB}" state="full"/>'
        f"</users></conference-info>"
    ).encode()


# -- what the client does on a 200 (imkit.client.session.IMSession.established) --------------
def send_procedure(scene: Scene, out: OutgoingRequest, intent: dict[str, str] | None = None) -> Request:
    """Note the intent (``imkit.client.prepare``), and anonymity as
    ``IMClient.transact`` does, then send."""
    for key, text in (intent or {}).items():
        scene.note(key, text, out.request)
    if "privacy" in out.provenance and "id" in out.request.privacy:
        scene.note("anonymous", "anonymity requested", out.request)
    return scene.send(out.clause, out)


def invite_session(scene: Scene, out: OutgoingRequest, intent: dict[str, str], kind: SessionKind,
                   contact: str) -> SessionState:
    invite = send_procedure(scene, out, intent)
    state = SessionState(kind, sip(str(invite.uri)), offer=sdp_body(invite, multipart=True) or b"")
    clause = out.clause
    ok_headers = (("Contact", contact), ("Allow", ALLOW), ("Supported", "timer"), ("Require", "timer"),
                  ("Session-Expires", f"{SESSION_EXPIRES};refresher=uac"))
    ok = scene.respond(f"{clause}/200", invite, 200, headers=ok_headers, body=sdp_answer(scene), content_type=SDP)
    if scene.skipped(f"{clause}/200"):
        return state
    state.dialog = Dialog.from_uac(invite, ok, ids=scene.ctx.ids)
    state.phase = SessionPhase.ESTABLISHED
    scene.send(f"{clause}/ack", state.dialog.create_ack(ok), label=clause)
    store_on_ok(scene, state, ok, f"MSRP {MSRP_URI} connected")
    scene.msrp(f"{clause}/msrp")
    if kind.is_group:
        scene.note("group-session", str(state.identity), ok)
        if not scene.skipped("7.1.1.11"):
            subscribe(scene, str(state.identity))
    return state


def store_on_ok(scene: Scene, state: SessionState, ok: Response, user_plane: str | None) -> None:
    """The IM Session Identity, the session timer and the User Plane."""
    if ok.contact:
        state.identity = sip(str(ok.contact[0].uri))
        scene.note("session-identity", str(ok.contact[0].uri), ok)
    state.timer = session_timer_from_ok(ok)
    if state.timer is not None:
        scene.note("7.1.1.1/ok1", str(state.timer.interval), ok)
    if user_plane is not None:
        scene.note("user-plane", user_plane, ok)


def subscribe(scene: Scene, target: str) -> Dialog:
    """7.1.1.11: SUBSCRIBE, its 200, a full NOTIFY and what the client makes of it."""
    subscribe_request = send_procedure(scene, conference_events.build_subscribe(scene.ctx, sip(target)))
    ok = scene.respond("7.1.1.11/200", subscribe_request, 200, headers=(("Contact", f"<{target}>;isfocus"), ("Expires", "3600")))
    scene.note("7.1.1.11/ok1", ", ".join(str(c) for c in ok.contact), ok)
    dialog = Dialog.from_uac(subscribe_request, ok, ids=scene.ctx.ids)
    notify = scene.incoming("7.1.1.11/notify", dialog, "NOTIFY", headers=(
        ("Event", "conference"), ("Subscription-State", "active;expires=3600")),
        body=conference_info(target), content_type=CONFERENCE_INFO)
    scene.answer("7.1.1.11/notify/200", notify, 200)
    blocklist = scene.ctx.profile.blocklist
    scene.note("7.1.1.11/n2", f"conference state: {ALICE} (full), {BOB} (full)", notify)
    scene.note("7.1.1.11/n3", f"own user {ALICE} (by yourown)", notify)
    scene.note("7.1.1.11/n4", "blocked users joined: " + (", ".join(sorted(blocklist & {ALICE, BOB})) or "none"), notify)
    if blocklist:
        scene.note("7.1.1.11/n4-cache", f"cached block list of {len(blocklist)}", notify)
    scene.subscription = dialog
    return dialog


def size_checked(scene: Scene, clause: str, count: int) -> dict[str, str]:
    """The note ``imkit.client.prepare`` writes after a successful size check."""
    return {f"{clause}/size-check": f"{count} invited <= MAX-ADHOC-GROUP-SIZE {scene.ctx.profile.max_adhoc_group_size}"}


# -- the procedures ---------------------------------------------------------------------------
def prepare_one_to_one(scene: Scene, *, anonymous: bool = False) -> tuple[OutgoingRequest, dict[str, str]]:
    return one_to_one.build(scene.ctx, sip(BOB), anonymous=anonymous), {"7.1.1.2/target": BOB}


def prepare_adhoc(scene: Scene, *, anonymous: bool = False,
                  invited: Sequence[str] = (BOB, CAROL)) -> tuple[OutgoingRequest, dict[str, str]]:
    out = adhoc_conference.build(scene.ctx, invited, anonymous=anonymous)
    return out, {**size_checked(scene, "7.1.1.3", len(invited)), "7.1.1.3/target": FACTORY}


def one_to_one_flow(scene: Scene, *, anonymous: bool = False) -> SessionState:
    return invite_session(scene, *prepare_one_to_one(scene, anonymous=anonymous), SessionKind.ONE_TO_ONE, BOB_CONTACT)


def adhoc_flow(scene: Scene, *, anonymous: bool = False, invited: Sequence[str] = (BOB, CAROL)) -> SessionState:
    out, intent = prepare_adhoc(scene, anonymous=anonymous, invited=invited)
    return invite_session(scene, out, intent, SessionKind.ADHOC, FOCUS_CONTACT)


def predefined_flow(scene: Scene) -> SessionState:
    scene.note("group-identity", GROUP)
    out = predefined_conference.build(scene.ctx, sip(GROUP))
    return invite_session(scene, out, {"7.1.1.4/target": GROUP}, SessionKind.PREDEFINED, FOCUS_CONTACT)


def public_flow(scene: Scene) -> SessionState:
    out = public_conference.build(scene.ctx, sip(PUBLIC))
    return invite_session(scene, out, {"7.1.1.10/target": PUBLIC}, SessionKind.PUBLIC, FOCUS_CONTACT)


def rejoin_flow(scene: Scene) -> SessionState:
    scene.note("7.1.1.9/1", f"stored IM Session Identity: {IDENTITY}")
    out = rejoin_conference.build(scene.ctx, sip(IDENTITY))
    return invite_session(scene, out, {"7.1.1.9/target": IDENTITY}, SessionKind.REJOINED, FOCUS_CONTACT)


def rejoin_refused_flow(scene: Scene) -> None:
    """7.1.1.9 item 1 with nothing stored: the error, and nothing sent."""
    scene.note("7.1.1.9/1", "stored IM Session Identity: none")
    try:
        rejoin_conference.build(scene.ctx, None)
    except NoStoredSessionIdentity as exc:
        scene.note("7.1.1.9/1-error", str(exc))


def subscribe_flow(scene: Scene) -> None:
    """7.1.1.11 on its own: the conference state of a pre-defined IM Group."""
    scene.note("group-identity", GROUP)
    subscribe(scene, GROUP)


def reinvite(scene: Scene, state: SessionState, out: OutgoingRequest, user_plane: str | None = None) -> None:
    """A re-INVITE, its 200 and ACK, and what the client keeps (``IMSession.send_reinvite``)."""
    request = send_procedure(scene, out)
    assert state.dialog is not None
    ok = scene.respond(f"{out.clause}/200", request, 200, headers=(
        ("Contact", BOB_CONTACT), ("Allow", ALLOW), ("Session-Expires", f"{SESSION_EXPIRES};refresher=uac")),
        body=sdp_answer(scene), content_type=SDP)
    state.dialog.receive_response(request, ok)
    scene.send(f"{out.clause}/ack", state.dialog.create_ack(ok), label=out.clause)
    store_on_ok(scene, state, ok, user_plane)
    scene.msrp(f"{out.clause}/msrp")


def modify_flow(scene: Scene) -> None:
    state = one_to_one_flow(scene)
    out = modify_session.build(scene.ctx, state, scene.ctx.sdp_offer(("message/cpim",)))
    reinvite(scene, state, out, "MSRP session kept on the same path")


def send_refresh(scene: Scene, state: SessionState, expires_at: float) -> None:
    """7.1.1.8 with what ``IMClient.prepare.refresh`` notes: the SDP in use and the deadline."""
    out = refresh_session.build(scene.ctx, state)
    scene.note("sdp-in-use", state.offer.decode("utf-8", "replace"), out.request)
    scene.note("session-expiry", f"{expires_at:.6f}", out.request)
    reinvite(scene, state, out)


def refresh_flow(scene: Scene) -> None:
    state = one_to_one_flow(scene)
    send_refresh(scene, state, scene.clock + SESSION_EXPIRES)


def lapse_flow(scene: Scene, *, refreshed: bool = True, peer_bye: bool = False) -> None:
    """A 1-1 session that outlives its first session interval.  Half-way the
    client refreshes it (RFC 4028 10: the refresher sends the refresh "after
    one half the session interval"), or with ``peer_bye`` the peer ends it,
    or with neither nothing happens; then, once the interval has run out, a
    chat message goes on the User Plane."""
    state = one_to_one_flow(scene)
    started = scene.clock
    scene.clock += SESSION_EXPIRES / 2
    if peer_bye:
        assert state.dialog is not None
        bye = scene.incoming("7.1.1.2/bye", state.dialog, "BYE")
        scene.answer("7.1.1.2/bye/200", bye, 200)
    elif refreshed:
        send_refresh(scene, state, started + SESSION_EXPIRES)
    scene.clock = started + SESSION_EXPIRES
    scene.msrp("lapse/msrp")


def extend_flow(scene: Scene, *, invited: Sequence[str] = (CAROL,)) -> None:
    """7.1.1.6, then the BYE the original peer sends when the focus replaces the 1-1 dialog."""
    one = one_to_one_flow(scene)
    dialog = one.dialog
    assert dialog is not None
    out = extend_to_conference.build(scene.ctx, one, invited)
    intent = {
        **size_checked(scene, "7.1.1.6", len(invited) + 1),
        "7.1.1.6/peer": BOB,
        "7.1.1.6/replaced-dialog": f"{dialog.call_id};to-tag={dialog.remote_tag};from-tag={dialog.local_tag}",
        "7.1.1.6/target": FACTORY,
    }
    invite_session(scene, out, intent, SessionKind.EXTENDED, FOCUS_CONTACT)
    bye = scene.incoming("7.1.1.6/bye", dialog, "BYE")
    scene.answer("7.1.1.6/bye/200", bye, 200)


def refer(scene: Scene, out: OutgoingRequest, intent: dict[str, str], *, notify: bool) -> None:
    """A REFER, its 202 and, when the subscription is on, a sipfrag NOTIFY answered 200."""
    request = send_procedure(scene, out, intent)
    clause = out.clause
    accepted = scene.respond(f"{clause}/202", request, 202, headers=(("Contact", FOCUS_CONTACT),))
    if not notify:
        return
    dialog = Dialog.from_uac(request, accepted, ids=scene.ctx.ids)
    sipfrag = scene.incoming(f"{clause}/notify", dialog, "NOTIFY", headers=(
        ("Event", "refer"), ("Subscription-State", "terminated;reason=noresource")),
        body=b"SIP/2.0 200 OK\r\n", content_type=REFER_CONTENT_TYPE)
    scene.answer(f"{clause}/notify/200", sipfrag, 200)
    scene.note(f"{clause}/display", "200 OK", sipfrag)


def conference(scene: Scene, *, busy: bool) -> SessionState:
    """An ad-hoc conference; ``busy``: a 1-1 session starts after it, so the
    last IM Session Identity the client stored is not the conference's."""
    state = adhoc_flow(scene)
    if busy:
        one_to_one_flow(scene)
    return state


def add_flow(scene: Scene, *, invited: Sequence[str] = (DAVE, ERIN), anonymous: bool = False, busy: bool = False) -> None:
    state = conference(scene, busy=busy)
    out = add_participants.build(scene.ctx, state, invited, anonymous=anonymous)
    intent = {**size_checked(scene, "7.1.1.7", len(invited)), "7.1.1.7/session-kind": state.kind.name}
    if len(invited) == 1:
        intent["7.1.1.7/target"] = invited[0]
    refer(scene, out, intent, notify=out.request.refer_sub is not False)


def add_one_flow(scene: Scene) -> None:
    """7.1.1.7 item 3: one IM User invited."""
    add_flow(scene, invited=(DAVE,))


def remove_flow(scene: Scene, *, notify: bool = False, anonymous: bool = False, busy: bool = False) -> None:
    """7.1.1.14; with ``notify`` the server ignores ``Refer-Sub: false`` and reports anyway."""
    state = conference(scene, busy=busy)
    out = remove_participant.build(scene.ctx, state, CAROL, anonymous=anonymous)
    refer(scene, out, {"7.1.1.14/target": CAROL}, notify=notify)


def leave_flow(scene: Scene, *, anonymous: bool = False, busy: bool = False) -> None:
    """7.1.1.12, then the end of the conference subscription (7.1.1.11 "term")."""
    state = conference(scene, busy=busy)
    request = send_procedure(scene, leave_session.build(scene.ctx, state, anonymous=anonymous))
    ok = scene.respond("7.1.1.12/200", request, 200)
    scene.note("7.1.1.12/ok", "MSRP session released", ok)
    scene.note("7.1.1.12/note", f"kept {state.identity} for 300s", ok)
    scene.note("7.1.1.11/term-needed", "the IM Session ended")
    term = scene.send("7.1.1.11/term", conference_events.build_refresh(scene.ctx, scene.subscription, expires=0))
    scene.respond("7.1.1.11/term/200", term, 200, headers=(("Expires", "0"),), store=False)


def cancel_flow(scene: Scene, *, prepare: Callable[[Scene], tuple[OutgoingRequest, dict[str, str]]] = prepare_adhoc,
                challenged: bool = False) -> None:
    """7.1.1.13: the conference INVITE rings, the user cancels, 487, ACK.
    ``prepare`` makes the INVITE (the client believes it a conference's);
    ``challenged``: a proxy asks for credentials first, and the INVITE is
    sent again with CSeq + 1 (RFC 3261 22.2), as ``IMClient.transact`` does."""
    out, intent = prepare(scene)
    invite = send_procedure(scene, out, intent)
    clause = out.clause
    if challenged:
        challenge = scene.respond(f"{clause}/407", invite, 407, headers=(
            ("Proxy-Authenticate", 'Digest realm="example.com", nonce="n0nce"'),))
        scene.send(f"{clause}/407/ack", make_ack_for_non2xx(invite, challenge), label=clause)
        invite = parse(bytes(invite))
        invite.headers.set("CSeq", f"{invite.cseq.seq + 1} INVITE")
        invite.headers.set("Via", f"SIP/2.0/UDP 127.0.0.1:5070;branch={scene.ctx.ids.branch()};rport")
        invite.headers.add("Proxy-Authorization", 'Digest username="alice", realm="example.com", nonce="n0nce"')
        scene.send(f"{clause}/retry", invite, label=clause)
    scene.respond(f"{clause}/180", invite, 180)
    cancel = cancel_session.build(SessionState(SessionKind.ADHOC, sip(str(invite.uri))), invite)
    scene.send("7.1.1.13", cancel)
    scene.respond("7.1.1.13/200", cancel.request, 200, store=False)
    terminated = scene.respond(f"{clause}/487", invite, 487)
    scene.send(f"{clause}/ack", make_ack_for_non2xx(invite, terminated), label=clause)


def cancel_after_final_flow(scene: Scene) -> None:
    """A CANCEL sent after the INVITE's final response (7.1.1.13 says: not then)."""
    out, intent = prepare_adhoc(scene)
    invite = send_procedure(scene, out, intent)
    scene.respond("7.1.1.3/200", invite, 200, headers=(("Contact", FOCUS_CONTACT),), body=sdp_answer(scene), content_type=SDP)
    scene.send("7.1.1.13", cancel_session.build(SessionState(SessionKind.ADHOC, sip(FACTORY)), invite))


def too_many_flow(scene: Scene, *, clause: str) -> None:
    """MAX-ADHOC-GROUP-SIZE exceeded: the builder refuses, the client tells the user
    (``imkit.client.prepare``: the ``size-exceeded`` note), nothing is sent."""
    too_many = [CAROL, DAVE, ERIN]
    builders = {
        "7.1.1.3": lambda: adhoc_conference.build(scene.ctx, too_many),
        "7.1.1.6": lambda: extend_to_conference.build(scene.ctx, one_to_one_flow(scene), too_many),
        "7.1.1.7": lambda: add_participants.build(scene.ctx, adhoc_flow(scene), too_many),
    }
    try:
        builders[clause]()
    except GroupSizeExceeded as exc:
        scene.note(f"{clause}/size-exceeded", str(exc))
