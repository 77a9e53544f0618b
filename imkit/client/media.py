"""The User Plane of an IM Session: MSRP set up by SDP offer/answer.

Every session procedure of 7.1.1 ends with "SHALL interact with the User
Plane".  The client offers one MSRP stream (RFC 4975 section 8) whose
``a=path`` names its MSRP listener, with ``a=setup:actpass`` (RFC 6135); the
answer decides who connects (:func:`imkit.sip.sdp.msrp_active_side`): the
active side opens the TCP connection and sends a SEND at once to bind it,
the passive side waits on its listener.  :class:`Chat` is the session's
chat: send text (wrapped in message/cpim when the peer lists it first, as a
conference focus does) and receive messages, unwrapped.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Sequence

from imkit.msrp import MSRPSession, MessageAborted, MessageReceived, Role, cpim
from imkit.msrp.uri import MSRPURI
from imkit.runtime.msrp_transport import MSRPChannel, MSRPListener, trace_hook
from imkit.sip.ids import IdGenerator
from imkit.sip.sdp import (
    ActiveSide,
    SessionDescription,
    Setup,
    build_msrp_answer,
    build_msrp_offer,
    msrp_active_side,
    msrp_media,
)
from imkit.trace import Trace

CPIM = "message/cpim"


@dataclass(frozen=True)
class ChatMessage:
    """A chat message received on an IM Session."""

    sender: str | None
    text: str
    content_type: str
    raw: bytes


class Chat:
    """The MSRP side of one IM Session."""

    def __init__(self, channel: MSRPChannel, local_aor: str, peer: str, remote_accept_types: Sequence[str]) -> None:
        self.channel = channel
        self.local_aor = local_aor
        self.peer = peer
        self.remote_accept_types = tuple(remote_accept_types)

    @property
    def wraps_in_cpim(self) -> bool:
        return bool(self.remote_accept_types) and self.remote_accept_types[0].lower() == CPIM

    async def send(self, text: str, *, to: str | None = None, success_report: bool = True) -> str:
        """Send ``text``; returns the MSRP Message-ID once it is delivered."""
        body = text.encode("utf-8")
        content_type = "text/plain;charset=UTF-8"
        if self.wraps_in_cpim:
            body = bytes(cpim.wrap(body, content_type, from_=self.local_aor, to=to or self.peer))
            content_type = CPIM
        return await self.channel.send_and_wait(body, content_type, success_report=success_report)

    async def receive(self, timeout: float | None = 10.0) -> ChatMessage:
        """The next chat message (message/cpim unwrapped)."""
        while True:
            event = await asyncio.wait_for(self.channel.receive(), timeout)
            if isinstance(event, MessageAborted):
                continue
            return _chat_message(event)

    async def close(self) -> None:
        await self.channel.close()


def _chat_message(event: MessageReceived) -> ChatMessage:
    content_type = (event.content_type or "text/plain").split(";")[0].strip().lower()
    if content_type == CPIM:
        wrapped = cpim.unwrap(event.body)
        sender = wrapped.from_.uri if wrapped.from_ is not None else None
        inner_type = wrapped.content_type or "text/plain"
        return ChatMessage(sender, wrapped.body.decode("utf-8", "replace"), inner_type, event.body)
    return ChatMessage(None, event.body.decode("utf-8", "replace"), content_type, event.body)


class MediaEndpoint:
    """One client's MSRP listener and the offers/answers made on it."""

    def __init__(self, trace: Trace | None, ids: IdGenerator, host: str = "127.0.0.1", name: str = "client") -> None:
        self.trace = trace
        self.ids = ids
        self.host = host
        #: the lane name of this client's MSRP addresses in ladders
        self.name = name
        self.listener: MSRPListener | None = None
        self._version = 0

    async def start(self) -> None:
        hook = trace_hook(self.trace) if self.trace is not None else None
        self.listener = await MSRPListener.start(self.host, 0, on_message=hook)

    async def close(self) -> None:
        if self.listener is not None:
            await self.listener.close()

    def _new_uri(self) -> MSRPURI:
        assert self.listener is not None, "start() the media endpoint first"
        return self.listener.uri(self.ids.tag())

    def offer(self, accept_types: Sequence[str]) -> "MediaOffer":
        uri = self._new_uri()
        self._version += 1
        sdp = build_msrp_offer(
            path=str(uri), session_id=self.ids.cseq(), accept_types=list(accept_types),
            setup=Setup.ACTPASS, address=self.host,
        )
        return MediaOffer(uri, bytes(sdp))

    def answer(self, offer: bytes, accept_types: Sequence[str] = (CPIM, "text/plain")) -> "MediaOffer":
        uri = self._new_uri()
        sdp = build_msrp_answer(
            SessionDescription.parse(offer), path=str(uri), session_id=self.ids.cseq(),
            accept_types=list(accept_types), prefer=Setup.PASSIVE, address=self.host,
        )
        return MediaOffer(uri, bytes(sdp))

    async def open(self, local: "MediaOffer", offer: bytes, answer: bytes, *, we_offered: bool,
                   local_aor: str, peer: str, peer_lane: str = "IM Server", timeout: float = 10.0) -> Chat:
        """Connect or wait for the connection, as the negotiation says;
        ``peer_lane`` names the other end's MSRP address in ladders."""
        offer_sd, answer_sd = SessionDescription.parse(offer), SessionDescription.parse(answer)
        remote = msrp_media(answer_sd if we_offered else offer_sd)
        side = msrp_active_side(offer_sd, answer_sd)
        active = (side is ActiveSide.OFFERER) == we_offered
        session = MSRPSession(
            [local.uri], list(remote.path), Role.ACTIVE if active else Role.PASSIVE,
            accept_types=("*",), remote_accept_types=remote.accept_types,
        )
        hook = trace_hook(self.trace) if self.trace is not None else None
        if active:
            channel = await MSRPChannel.connect(session, on_message=hook, timeout=timeout)
        else:
            assert self.listener is not None
            channel = self.listener.accept(session, on_message=hook)
        try:
            await channel.wait_bound(timeout)
        except BaseException:
            # a passive channel still waiting holds a place on the listener until closed
            await channel.close()
            raise
        if self.trace is not None:
            self.trace.names[channel.local_address] = self.name
            self.trace.names.setdefault(channel.remote_address, peer_lane)
        return Chat(channel, local_aor, peer, remote.accept_types)


@dataclass(frozen=True)
class MediaOffer:
    """Our MSRP URI and the SDP (offer or answer) that names it."""

    uri: MSRPURI
    sdp: bytes
