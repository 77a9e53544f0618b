"""OutgoingRequest: a built request and the reason for each header."""

from __future__ import annotations

from imkit.procedures import one_to_one
from imkit.trace import Provenance
from tests.procedures.context import FixedContext
from tests.procedures.flows import BOB, sip


def built():
    return one_to_one.build(FixedContext(), sip(BOB))


def test_reasons_are_kept_per_header_once_each() -> None:
    out = built()
    out.add("Route", "<sip:p1;lr>", "RFC 3261", "8.1.2", first=True)
    out.add("route", "<sip:p2;lr>", "RFC 3261", "8.1.2")
    out.cite("ROUTE", "RFC 3261", "8.1.2")
    assert out.request.headers.get_all("Route") == ["<sip:p1;lr>", "<sip:p2;lr>"]
    assert bytes(out).startswith(b"INVITE sip:bob@example.com SIP/2.0\r\nRoute: <sip:p1;lr>\r\n")
    assert out.why("route") == [Provenance("RFC 3261", "8.1.2")]
    out.set("Route", "<sip:p3;lr>", "7.1.1.2", "4", "towards the IM Server")
    assert out.request.headers.get_all("Route") == ["<sip:p3;lr>"]
    assert out.why("Route") == [Provenance("RFC 3261", "8.1.2"), Provenance("7.1.1.2", "4", "towards the IM Server")]
    assert out.why("Subject") == []


def test_explain_and_html_show_each_row_with_its_reasons() -> None:
    out = built()
    out.request.headers.add("Subject", "<b>hi</b>")
    text = out.explain().splitlines()
    assert text[0] == "INVITE sip:bob@example.com SIP/2.0    <- 7.1.1.2"
    assert "Accept-Contact: *;+g.oma.sip-im    <- 7.1.1.1 item 1 (RFC 3841 caller preferences)" in text
    assert "Subject: <b>hi</b>" in text
    assert text[-1] == "a=setup:actpass"
    annotated = dict(out.annotated())
    assert annotated["Supported: timer"] == [Provenance("7.1.1.1", "6")]
    html = out._repr_html_()
    assert "<code>Subject: &lt;b&gt;hi&lt;/b&gt;</code>" in html and "<b>hi</b>" not in html
    assert "<td>7.1.1.1 item 6</td>" in html
