"""The sans-IO SIP core (RFC 3261 and the extensions OMA IM 7.1.1 relies on).

Bytes in, bytes and events out; no sockets, no clock reads.  Start with
:func:`parse` and ``bytes(message)``.
"""

from __future__ import annotations

from imkit.sip.address import NameAddr, parse_address_list
from imkit.sip.errors import FramingError, ParseError
from imkit.sip.framing import KeepAlivePing, StreamFramer, parse_datagram
from imkit.sip.headers import COMPACT_FORMS, Field, Headers, canonical_name, parse_header_block
from imkit.sip.message import REASON_PHRASES, Message, Request, Response, SIPMessage, parse
from imkit.sip.multipart import BodyPart, Multipart
from imkit.sip.params import Params
from imkit.sip.uri import URI, AbsoluteURI, SipURI, parse_uri
from imkit.sip.values import (
    Challenge,
    ContentDisposition,
    CSeq,
    Event,
    FeatureSet,
    MediaType,
    Replaces,
    SessionExpires,
    SubscriptionState,
    TokenWithParams,
    Via,
)

__all__ = [
    "parse", "parse_datagram", "parse_uri", "parse_header_block", "parse_address_list",
    "Message", "Request", "Response", "SIPMessage", "Headers", "Field", "Params",
    "ParseError", "FramingError", "StreamFramer", "KeepAlivePing",
    "URI", "SipURI", "AbsoluteURI", "NameAddr",
    "Via", "CSeq", "MediaType", "ContentDisposition", "Event", "SubscriptionState",
    "SessionExpires", "Replaces", "FeatureSet", "Challenge", "TokenWithParams",
    "BodyPart", "Multipart", "COMPACT_FORMS", "REASON_PHRASES", "canonical_name",
]
