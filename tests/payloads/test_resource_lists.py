"""imkit.payloads.resource_lists: RFC 4826 documents, RFC 5366 URI lists, Replaces."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from imkit.errors import LocalProtocolError
from imkit.payloads import PayloadError
from imkit.payloads.resource_lists import (
    CONTENT_TYPE,
    COPYCONTROL_NAMESPACE,
    DISPOSITION,
    NAMESPACE,
    CopyControl,
    Entry,
    EntryRef,
    External,
    Replaces,
    ResourceList,
    ResourceLists,
    replaces_uri,
    split_replaces,
)
from imkit.payloads.xml import Extension

DATA = Path(__file__).parent / "data"
RL = "{urn:ietf:params:xml:ns:resource-lists}"
CP = "{urn:ietf:params:xml:ns:copycontrol}"


def _data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _dialog(split: tuple[str, Replaces | None]) -> tuple[str, tuple[str, str, str, bool] | None]:
    """What split_replaces found: the URI left and the dialog named."""
    uri, replaces = split
    if replaces is None:
        return uri, None
    return uri, (replaces.call_id, replaces.to_tag, replaces.from_tag, replaces.early_only)


def test_constants() -> None:
    assert CONTENT_TYPE == "application/resource-lists+xml"
    assert DISPOSITION == "recipient-list"
    assert NAMESPACE == "urn:ietf:params:xml:ns:resource-lists"
    assert COPYCONTROL_NAMESPACE == "urn:ietf:params:xml:ns:copycontrol"


# --- RFC 4826 --------------------------------------------------------------------


def test_rfc4826_document_model() -> None:
    doc = ResourceLists.from_xml(_data("resource_lists_rfc4826.xml"))
    (friends,) = doc.lists
    assert friends.name == "friends" and friends.display_name == "Friends"
    bill, ref, close = friends.items
    assert bill == Entry("sip:bill@example.com", display_name="Bill Doe")
    assert isinstance(ref, EntryRef) and ref.ref.endswith("entry%5b@uri=%22sip:petri@example.com%22%5d")
    assert isinstance(close, ResourceList) and close.name == "close-friends"
    joe, nancy, marketing = close.items
    assert joe.display_name == "Joe Smith"
    assert isinstance(nancy, Entry) and nancy.display_name_lang == "en"
    assert isinstance(marketing, External) and marketing.display_name == "Marketing"
    assert marketing.anchor.startswith("http://xcap.example.org/")
    assert doc.uris() == ("sip:bill@example.com", "sip:joe@example.com", "sip:nancy@example.com")


def test_rfc4826_round_trip_keeps_order_and_values() -> None:
    doc = ResourceLists.from_xml(_data("resource_lists_rfc4826.xml"))
    out = doc.to_xml()
    assert ResourceLists.from_xml(out) == doc
    root = etree.fromstring(out)
    outer = root[0]
    assert [etree.QName(c).localname for c in outer] == ["display-name", "entry", "entry-ref", "list"]
    assert [etree.QName(c).localname for c in outer[3]] == ["display-name", "entry", "entry", "external"]
    assert outer[3][2][0].get("{http://www.w3.org/XML/1998/namespace}lang") == "en"


def test_empty_document() -> None:
    doc = ResourceLists.from_xml(b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>')
    assert doc == ResourceLists()
    assert tuple(doc.entries()) == ()


# --- RFC 5366 / RFC 5364 ---------------------------------------------------------


EXPECTED_5366 = [
    ("sip:bill@example.com", CopyControl.TO, None, None),
    ("sip:randy@example.net", CopyControl.TO, True, None),
    ("sip:joe@example.org", CopyControl.CC, None, None),
    ("sip:carol@example.net", CopyControl.CC, True, None),
    ("sip:ted@example.net", CopyControl.BCC, None, 2),
]


@pytest.mark.parametrize("name", ["uri_list_rfc5366.xml", "uri_list_copyControl_case.xml"])
def test_rfc5366_copy_control_in_either_namespace_spelling(name: str) -> None:
    doc = ResourceLists.from_xml(_data(name))
    got = [(e.uri, e.copy_control, e.anonymize, e.count) for e in doc.entries()]
    assert got == EXPECTED_5366
    assert all(e.attributes == () for e in doc.entries())


def test_copy_control_is_written_in_the_registered_namespace() -> None:
    doc = ResourceLists.from_xml(_data("uri_list_copyControl_case.xml"))
    out = doc.to_xml()
    assert b'xmlns:cp="urn:ietf:params:xml:ns:copycontrol"' in out
    assert b"copyControl\"" not in out.split(b">")[1]  # no namespace spelled copyControl
    root = etree.fromstring(out)
    first = root[0][0]
    assert first.get(CP + "copyControl") == "to"
    assert root[0][1].get(CP + "anonymize") == "true"
    assert root[0][4].get(CP + "count") == "2"
    assert ResourceLists.from_xml(out) == doc


def test_from_uris_builds_the_uri_list_body() -> None:
    doc = ResourceLists.from_uris(["sip:bob@example.com", "sip:carol@example.com"], copy_control="to")
    assert doc.to_xml() == (
        b"<?xml version='1.0' encoding='UTF-8'?>\n"
        b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" '
        b'xmlns:cp="urn:ietf:params:xml:ns:copycontrol"><list>'
        b'<entry uri="sip:bob@example.com" cp:copyControl="to"/>'
        b'<entry uri="sip:carol@example.com" cp:copyControl="to"/>'
        b"</list></resource-lists>"
    )


def test_from_uris_options() -> None:
    custom = Entry("sip:dave@example.com", copy_control=CopyControl.BCC)
    doc = ResourceLists.from_uris(
        ["sip:a@example.com", custom], copy_control=CopyControl.CC, anonymize=True, name="invitees"
    )
    (invitees,) = doc.lists
    assert invitees.name == "invitees"
    assert invitees.items == (Entry("sip:a@example.com", copy_control=CopyControl.CC, anonymize=True), custom)
    assert ResourceLists.from_uris([]).to_xml().endswith(b"<list/></resource-lists>")


@pytest.mark.parametrize("bad", ["", "  ", None, 5])
def test_from_uris_refuses_non_uris(bad: object) -> None:
    with pytest.raises(LocalProtocolError):
        ResourceLists.from_uris([bad])  # type: ignore[list-item]


def test_from_uris_refuses_unknown_copy_control() -> None:
    with pytest.raises(ValueError):
        ResourceLists.from_uris(["sip:a@x"], copy_control="reply-to")


def test_unwritable_values_raise_local_protocol_error() -> None:
    with pytest.raises(LocalProtocolError):
        ResourceLists.from_uris([Entry("sip:a@x", count=-1)]).to_xml()
    with pytest.raises(LocalProtocolError):
        ResourceLists.from_uris([Entry("sip:a@x\x01")]).to_xml()
    with pytest.raises(LocalProtocolError):
        ResourceLists((ResourceList(("sip:a@x",)),)).to_xml()  # type: ignore[arg-type]


# --- extensions -------------------------------------------------------------------


def test_unknown_elements_and_attributes_survive_a_round_trip() -> None:
    data = (
        b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:v="urn:vendor" v:doc="1">'
        b'<list name="l" v:list="2"><v:policy max="3"/>'
        b'<entry uri="sip:a@x" v:prio="high"><display-name>A</display-name><v:note>hi</v:note></entry>'
        b'<entry-ref ref="r" v:r="1"><v:x/></entry-ref><external anchor="http://a" v:e="1"/>'
        b"</list><v:trailer/></resource-lists>"
    )
    doc = ResourceLists.from_xml(data)
    (lst,) = doc.lists
    entry, ref, external = lst.items
    assert entry.attributes == (("{urn:vendor}prio", "high"),)
    assert entry.extensions == (Extension(b'<v:note xmlns:v="urn:vendor">hi</v:note>'),)
    assert lst.attributes == (("{urn:vendor}list", "2"),)
    assert lst.extensions[0].tag == "{urn:vendor}policy"
    assert ref.attributes == (("{urn:vendor}r", "1"),) and external.attributes == (("{urn:vendor}e", "1"),)
    assert doc.attributes == (("{urn:vendor}doc", "1"),)
    out = doc.to_xml()
    assert ResourceLists.from_xml(out) == doc
    root = etree.fromstring(out)
    assert root.get("{urn:vendor}doc") == "1"
    # The schema puts xs:any after the items: extensions are written last.
    assert root[0][-1].tag == "{urn:vendor}policy" and root[0][-1].get("max") == "3"
    assert etree.QName(root[-1]).localname == "trailer"


# --- Replaces inside an entry URI -------------------------------------------------


def test_replaces_uri_matches_rfc3891_escaping() -> None:
    uri = replaces_uri("sip:bob@example.com", "12345@192.168.118.3", "12345", "5FFE-3994")
    assert uri == "sip:bob@example.com?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994"
    assert _dialog(split_replaces(uri)) == ("sip:bob@example.com", ("12345@192.168.118.3", "12345", "5FFE-3994", False))


def test_replaces_entry_survives_the_uri_list_exactly() -> None:
    uri = replaces_uri("sip:bob@example.com;transport=tcp", "call%1@host", "t", "f", early_only=True)
    assert "call%251%40host%3Bto-tag%3Dt%3Bfrom-tag%3Df%3Bearly-only" in uri
    doc = ResourceLists.from_uris(["sip:carol@example.com", uri], copy_control="to")
    again = ResourceLists.from_xml(doc.to_xml())
    entry = list(again.entries())[1]
    assert entry.uri == uri
    assert entry.replaces is not None
    assert (entry.replaces.call_id, entry.replaces.to_tag, entry.replaces.from_tag) == ("call%1@host", "t", "f")
    assert entry.replaces.early_only
    assert split_replaces(entry.uri)[0] == "sip:bob@example.com;transport=tcp"
    assert list(again.entries())[0].replaces is None


def test_replaces_next_to_other_uri_headers() -> None:
    uri = replaces_uri("sip:bob@example.com?Subject=hi", "abc", "1", "2")
    assert uri == "sip:bob@example.com?Subject=hi&Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2"
    assert _dialog(split_replaces(uri)) == ("sip:bob@example.com?Subject=hi", ("abc", "1", "2", False))
    moved = "sip:bob@example.com?replaces=abc%3bfrom-tag%3d2%3bTo-Tag%3d1&Subject=hi"
    assert _dialog(split_replaces(moved)) == ("sip:bob@example.com?Subject=hi", ("abc", "1", "2", False))


@pytest.mark.parametrize(
    ("uri", "call_id", "to_tag", "from_tag"),
    [
        ("tel:+1555", "a", "b", "c"),
        ("<sip:bob@x>", "a", "b", "c"),
        ("sip:bob@x", "", "b", "c"),
        ("sip:bob@x", "a b", "b", "c"),
        ("sip:bob@x", "a", "", "c"),
        ("sip:bob@x", "a", "b;c", "c"),
        ("sip:bob@x", "a", "b", "c=d"),
        ("sip:bob@x?Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2", "a", "b", "c"),
    ],
)
def test_replaces_uri_refuses_what_cannot_be_sent(uri: str, call_id: str, to_tag: str, from_tag: str) -> None:
    with pytest.raises(LocalProtocolError):
        replaces_uri(uri, call_id, to_tag, from_tag)


@pytest.mark.parametrize(
    "uri",
    [
        "sip:b@x?Replaces=abc%3Bto-tag%3D1",
        "sip:b@x?Replaces=abc%3Bfrom-tag%3D1",
        "sip:b@x?Replaces=%3Bto-tag%3D1%3Bfrom-tag%3D2",
        "sip:b@x?Replaces=abc%3Bto-tag%3D1%3Bto-tag%3D3%3Bfrom-tag%3D2",
        "sip:b@x?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2&Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2",
        "sip:b@x?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2%",
        "sip:b@x?Replaces=abc%ZZ",
        "sip:b@x?Replaces=%FF%3Bto-tag%3D1%3Bfrom-tag%3D2",
        "sip:b@x?Replaces=abc%3Bto-tag%3D%3Bfrom-tag%3D2",
    ],
)
def test_split_replaces_refuses_malformed_headers(uri: str) -> None:
    with pytest.raises(PayloadError) as caught:
        split_replaces(uri)
    assert 0 < caught.value.offset <= len(uri)


def test_entry_without_headers() -> None:
    assert split_replaces("sip:bob@example.com") == ("sip:bob@example.com", None)
    assert split_replaces("sip:bob@example.com?Subject=x") == ("sip:bob@example.com?Subject=x", None)


# --- malformed documents ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b'<resource-list xmlns="urn:ietf:params:xml:ns:resource-lists"/>', "root element"),
        (b"<resource-lists/>", "root element"),
        (b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><entry/></list></resource-lists>', "uri"),
        (b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list>\n<entry-ref/></list></resource-lists>', "ref"),
        (b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><external/></list></resource-lists>', "anchor"),
        (
            b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:cp="urn:ietf:params:xml:ns:copycontrol">'
            b'<list><entry uri="sip:a@x" cp:copyControl="reply"/></list></resource-lists>',
            "copyControl",
        ),
        (
            b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:cp="urn:ietf:params:xml:ns:copycontrol">'
            b'<list><entry uri="sip:a@x" cp:anonymize="yes"/></list></resource-lists>',
            "anonymize",
        ),
        (
            b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:cp="urn:ietf:params:xml:ns:copycontrol">'
            b'<list><entry uri="sip:a@x" cp:count="-1"/></list></resource-lists>',
            "count",
        ),
        (
            b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:a="urn:ietf:params:xml:ns:copycontrol"'
            b' xmlns:b="urn:ietf:params:xml:ns:copyControl">'
            b'<list><entry uri="sip:a@x" a:copyControl="to" b:copyControl="cc"/></list></resource-lists>',
            "more than one",
        ),
        (
            b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list>'
            b"<display-name>a</display-name><display-name>b</display-name></list></resource-lists>",
            "display-name",
        ),
        (
            b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list>'
            b"<display-name>a<b/></display-name></list></resource-lists>",
            "text only",
        ),
        (
            b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">'
            + b"<list>" * 40
            + b"</list>" * 40
            + b"</resource-lists>",
            "nest",
        ),
    ],
)
def test_malformed_documents(data: bytes, what: str) -> None:
    with pytest.raises(PayloadError, match=what):
        ResourceLists.from_xml(data)


def test_error_offset_is_the_offending_line() -> None:
    data = b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">\n<list>\n<entry/>\n</list>\n</resource-lists>'
    with pytest.raises(PayloadError) as caught:
        ResourceLists.from_xml(data)
    assert data[caught.value.offset :].startswith(b"<entry/>")


# --- properties ---------------------------------------------------------------------

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~", min_size=1, max_size=10)
WORD = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~()<>:\\\"/[]?{}",
    min_size=1,
    max_size=12,
)
CALL_ID = st.builds(lambda a, b: a if b is None else f"{a}@{b}", WORD, st.none() | WORD)
HOST = st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z][a-z0-9]{0,8}){0,2}", fullmatch=True)
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)


@given(CALL_ID, TOKEN, TOKEN, HOST, st.booleans())
@settings(max_examples=200, deadline=None)
def test_replaces_round_trips_exactly(call_id: str, to_tag: str, from_tag: str, host: str, early: bool) -> None:
    plain = f"sip:bob@{host}"
    uri = replaces_uri(plain, call_id, to_tag, from_tag, early_only=early)
    assert _dialog(split_replaces(uri)) == (plain, (call_id, to_tag, from_tag, early))
    doc = ResourceLists.from_xml(ResourceLists.from_uris([uri]).to_xml())
    assert doc.uris() == (uri,)


ENTRIES = st.builds(
    Entry,
    uri=st.builds(lambda u, h: f"sip:{u}@{h}", TOKEN, HOST),
    display_name=st.none() | TEXT,
    copy_control=st.none() | st.sampled_from(CopyControl),
    anonymize=st.none() | st.booleans(),
    count=st.none() | st.integers(0, 2**32 - 1),
)
ITEMS = st.one_of(
    ENTRIES,
    st.builds(EntryRef, ref=TOKEN, display_name=st.none() | TEXT),
    st.builds(External, anchor=st.builds(lambda h: f"http://{h}/l", HOST)),
)
LISTS = st.recursive(
    st.builds(ResourceList, items=st.lists(ITEMS, max_size=4).map(tuple), name=st.none() | TOKEN),
    lambda inner: st.builds(
        ResourceList,
        items=st.lists(st.one_of(ITEMS, inner), max_size=4).map(tuple),
        name=st.none() | TOKEN,
        display_name=st.none() | TEXT,
    ),
    max_leaves=12,
)


@given(st.lists(LISTS, max_size=3).map(tuple))
@settings(max_examples=80, deadline=None)
def test_documents_round_trip(lists: tuple[ResourceList, ...]) -> None:
    doc = ResourceLists(lists)
    assert ResourceLists.from_xml(doc.to_xml()) == doc


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_random_bytes_raise_only_payload_error(data: bytes) -> None:
    try:
        ResourceLists.from_xml(data)
    except PayloadError:
        pass


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_mutated_documents_raise_only_payload_error(data: st.DataObject) -> None:
    base = bytearray(_data("uri_list_rfc5366.xml") if data.draw(st.booleans()) else _data("resource_lists_rfc4826.xml"))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(base) - 1))
        base[at : at + data.draw(st.integers(0, 3))] = data.draw(st.binary(max_size=4))
    try:
        ResourceLists.from_xml(bytes(base))
    except PayloadError:
        pass


def test_html_repr_lists_entries_escaped() -> None:
    html = ResourceLists.from_xml(_data("uri_list_rfc5366.xml"))._repr_html_()
    assert html.count("<tr>") == 6 and "bcc" in html and "anonymize" in html
    hostile = ResourceLists.from_uris([Entry("sip:a@x", display_name="<script>")])._repr_html_()
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile
