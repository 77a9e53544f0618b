"""The four realistic OMA IM messages bench/bench_sip_parse.py measures.

Each is CRLF-framed with a correct Content-Length:

1. ``invite_msrp``: INVITE carrying an MSRP SDP offer (RFC 4975 section 8),
   about 560 bytes in all;
2. ``invite_urilist``: INVITE to a conference factory with a multipart/mixed
   body, SDP plus a recipient-list resource-lists document (RFC 5366 section 4);
3. ``notify_conf``: NOTIFY of the conference event package carrying a
   conference-info document (RFC 4575), relayed through a proxy (two Vias);
4. ``refer``: REFER with Refer-To, Refer-Sub, Require and Referred-By
   (RFC 3515, RFC 4488, RFC 3892).
"""

from __future__ import annotations


def _message(head: str, body: bytes = b"") -> bytes:
    """Head lines (LF-separated, no Content-Length) + body, as CRLF wire bytes
    with a correct Content-Length."""
    lines = head.strip("\n").split("\n")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


def _crlf(text: str) -> bytes:
    return "\r\n".join(text.strip("\n").split("\n")).encode("ascii") + b"\r\n"


MSRP_SDP = _crlf(
    """
v=0
o=alice 2890844526 2890844527 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=message 7654 TCP/MSRP *
a=accept-types:message/cpim text/plain
a=path:msrp://127.0.0.1:7654/jshA7we;tcp
"""
)

INVITE_MSRP = _message(
    """
INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK74bf9
Max-Forwards: 70
From: <sip:alice@example.com>;tag=9fxced76sl
To: <sip:bob@example.com>
Call-ID: a84b4c76e66710@127.0.0.1
CSeq: 1 INVITE
Contact: <sip:alice@127.0.0.1:5060>;+g.oma.sip-im
Accept-Contact: *;+g.oma.sip-im
Content-Type: application/sdp
""",
    MSRP_SDP,
)

RESOURCE_LISTS = _crlf(
    """
<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"
    xmlns:cp="urn:ietf:params:xml:ns:copycontrol">
  <list>
    <entry uri="sip:bill@example.com" cp:copyControl="to"/>
    <entry uri="sip:randy@example.net" cp:copyControl="to"/>
    <entry uri="sip:eddy@example.org" cp:copyControl="to"/>
  </list>
</resource-lists>
"""
)

URILIST_BODY = (
    b"--boundary1\r\n"
    b"Content-Type: application/sdp\r\n\r\n"
    + MSRP_SDP
    + b"\r\n--boundary1\r\n"
    b"Content-Type: application/resource-lists+xml\r\n"
    b"Content-Disposition: recipient-list\r\n\r\n"
    + RESOURCE_LISTS
    + b"\r\n--boundary1--\r\n"
)

INVITE_URILIST = _message(
    """
INVITE sip:conf-fact@example.com SIP/2.0
Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKhjhs8ass83
Max-Forwards: 70
To: <sip:conf-fact@example.com>
From: Alice <sip:alice@example.com>;tag=32331
Call-ID: d432fa84b4c76e66710@127.0.0.1
CSeq: 1 INVITE
Contact: <sip:alice@127.0.0.1:5060;transport=tcp>;+g.oma.sip-im
Accept-Contact: *;+g.oma.sip-im
Allow: INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, OPTIONS
Require: recipient-list-invite
Supported: timer
Session-Expires: 1800;refresher=uac
Content-Type: multipart/mixed;boundary=boundary1
""",
    URILIST_BODY,
)

CONFERENCE_INFO = _crlf(
    """
<?xml version="1.0" encoding="UTF-8"?>
<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"
    entity="sip:conf233@example.com" state="full" version="1">
  <conference-description>
    <subject>Project sync</subject>
    <maximum-user-count>10</maximum-user-count>
  </conference-description>
  <users>
    <user entity="sip:alice@example.com" state="full">
      <display-text>Alice</display-text>
      <endpoint entity="sip:alice@127.0.0.1:5060">
        <status>connected</status>
        <joining-method>dialed-in</joining-method>
      </endpoint>
    </user>
    <user entity="sip:bill@example.com" state="full">
      <display-text>Bill</display-text>
      <endpoint entity="sip:bill@127.0.0.1:5062">
        <status>connected</status>
        <joining-method>dialed-out</joining-method>
      </endpoint>
    </user>
    <user entity="sip:randy@example.net" state="full">
      <endpoint entity="sip:randy@127.0.0.1:5064">
        <status>alerting</status>
      </endpoint>
    </user>
  </users>
</conference-info>
"""
)

NOTIFY_CONF = _message(
    """
NOTIFY sip:alice@127.0.0.1:5060;transport=tcp SIP/2.0
Via: SIP/2.0/TCP 127.0.0.1:5080;branch=z9hG4bKnashds8
Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK776asdhds;received=127.0.0.1
Max-Forwards: 69
To: <sip:alice@example.com>;tag=32331
From: <sip:conf233@example.com>;tag=a73kszlfl
Call-ID: b84b4c76e66710@127.0.0.1
CSeq: 2 NOTIFY
Contact: <sip:conf233@127.0.0.1:5070;transport=tcp>;isfocus
Record-Route: <sip:127.0.0.1:5080;transport=tcp;lr>
Event: conference
Subscription-State: active;expires=3600
Content-Type: application/conference-info+xml
""",
    CONFERENCE_INFO,
)

REFER = _message(
    """
REFER sip:conf233@127.0.0.1:5070;transport=tcp SIP/2.0
Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK3a8f2c
Max-Forwards: 70
To: <sip:conf233@example.com>;tag=a73kszlfl
From: <sip:alice@example.com>;tag=32331
Call-ID: d432fa84b4c76e66710@127.0.0.1
CSeq: 3 REFER
Contact: <sip:alice@127.0.0.1:5060;transport=tcp>;+g.oma.sip-im
Refer-To: <sip:randy@example.net;method=INVITE>
Refer-Sub: false
Require: norefersub
Supported: norefersub, timer
Referred-By: <sip:alice@example.com>
""",
)

MESSAGES: dict[str, bytes] = {
    "invite_msrp": INVITE_MSRP,
    "invite_urilist": INVITE_URILIST,
    "notify_conf": NOTIFY_CONF,
    "refer": REFER,
}
