"""imkit.payloads.xml: hostile XML is refused quickly, with PayloadError only."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imkit.errors import LocalProtocolError, ParseError
from imkit.payloads import PayloadError
from imkit.payloads.conference_info import ConferenceInfo
from imkit.payloads.resource_lists import ResourceLists
from imkit.payloads.xml import DEFAULT_MAX_SIZE, Extension, line_offset, parse_xml


def _billion_laughs(levels: int = 10) -> bytes:
    decls = [b'<!ENTITY lol0 "lol">']
    for i in range(1, levels):
        decls.append(b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10))
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [' + b"".join(decls) + b"]>\n"
        b'<lolz a="&lol%d;">&lol%d;</lolz>' % (levels - 1, levels - 1)
    )


XXE = (
    b'<?xml version="1.0"?>\n'
    b'<!DOCTYPE conference-info [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:c@x">'
    b"<conference-description><subject>&xxe;</subject></conference-description></conference-info>"
)
PARAMETER_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/x.dtd"> %ext;]><r/>'
)
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "' + b"x" * 50_000 + b'">]><r>' + b"&a;" * 5_000 + b"</r>"
)
EXTERNAL_DTD = b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/r.dtd"><r>&undeclared;</r>'
BARE_DOCTYPE = b"<!DOCTYPE r><r/>"

ATTACKS = {
    "billion laughs": _billion_laughs(),
    "external entity": XXE,
    "parameter entity": PARAMETER_ENTITY,
    "quadratic blowup": QUADRATIC,
    "external DTD": EXTERNAL_DTD,
    "bare DOCTYPE": BARE_DOCTYPE,
    "UTF-16 internal subset": '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>'.encode(
        "utf-16"
    ),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
@pytest.mark.parametrize("reader", [parse_xml, ConferenceInfo.from_xml, ResourceLists.from_xml])
def test_attacks_are_refused_quickly(name: str, reader: object) -> None:
    started = time.perf_counter()
    with pytest.raises(PayloadError) as caught:
        reader(ATTACKS[name])  # type: ignore[operator]
    assert time.perf_counter() - started < 1.0
    assert isinstance(caught.value, ParseError)
    assert "root:" not in str(caught.value)  # no file content leaks into the error


def test_external_entity_is_never_read() -> None:
    with pytest.raises(PayloadError, match="document type declarations are refused"):
        parse_xml(XXE)


def test_doctype_offset_points_at_declaration() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_xml(XXE)
    assert XXE[caught.value.offset :].startswith(b"<!DOCTYPE")


def test_size_cap_default_and_configurable() -> None:
    big = b"<r>" + b"x" * DEFAULT_MAX_SIZE + b"</r>"
    with pytest.raises(PayloadError, match="exceeds"):
        parse_xml(big)
    assert parse_xml(big, max_size=len(big)).text == "x" * DEFAULT_MAX_SIZE
    with pytest.raises(PayloadError, match="exceeds the 10-byte cap"):
        parse_xml(b"<r>0123456789</r>", max_size=10)


def test_syntax_error_offset_comes_from_lxml() -> None:
    data = b"<r>\n  <a></b>\n</r>"
    with pytest.raises(PayloadError) as caught:
        parse_xml(data)
    # lxml reports line 2; the offset lands inside that line.
    assert data.index(b"<a>") <= caught.value.offset <= data.index(b"\n</r>")


def test_comments_kept_or_removed() -> None:
    data = b"<r><!-- c --><?pi x?><a/></r>"
    assert len(parse_xml(data)) == 3
    assert [child.tag for child in parse_xml(data, remove_comments=True)] == ["a"]


def test_non_bytes_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse_xml("<r/>")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "data",
    [b"", b"   ", b"\x00", b"<", b"<r>", b"<?xml version='1.0' encoding='bogus'?><r/>", b"\xff\xfe<\x00", b"<r/><s/>"],
)
def test_garbage_gives_payload_error(data: bytes) -> None:
    with pytest.raises(PayloadError):
        parse_xml(data)


def test_line_offset() -> None:
    data = b"ab\ncd\nef"
    assert line_offset(data, 1, 1) == 0
    assert line_offset(data, 2, 2) == 4
    assert line_offset(data, 3, 1) == 6
    assert line_offset(data, 9, 1) == len(data)
    assert line_offset(data, 3, 99) == len(data)


def test_extension_is_canonical_and_compares_by_value() -> None:
    one = parse_xml(b'<r xmlns:x="urn:x" xmlns:y="urn:y"><x:a   b="1" c="2"/></r>')[0]
    two = parse_xml(b'<s xmlns:z="urn:x"><z:a c="2" b="1"></z:a></s>')[0]
    ext_one, ext_two = Extension.from_element(one), Extension.from_element(two)
    assert ext_one.tag == ext_two.tag == "{urn:x}a"
    assert ext_one.xml == b'<x:a xmlns:x="urn:x" b="1" c="2"></x:a>'
    assert ext_one.to_element().get("c") == "2"


def test_extension_with_relative_namespace_is_kept_as_is() -> None:
    element = parse_xml(b'<r><a xmlns="relative/ns">t</a></r>')[0]
    extension = Extension.from_element(element)
    assert extension.xml == b'<a xmlns="relative/ns">t</a>'
    assert extension.tag == "{relative/ns}a"


def test_extension_with_bad_xml_fails_when_written() -> None:
    with pytest.raises(LocalProtocolError):
        Extension(b"<unclosed>").to_element()


@given(st.binary(max_size=400))
@settings(max_examples=300, deadline=None)
def test_any_bytes_give_an_element_or_payload_error(data: bytes) -> None:
    try:
        parse_xml(data)
    except PayloadError:
        pass


def test_extension_equality_ignores_prefixes_but_not_content() -> None:
    assert Extension(b'<v:a xmlns:v="urn:v" x="1">t</v:a>') == Extension(b'<n:a xmlns:n="urn:v" x="1">t</n:a>')
    assert Extension(b'<v:a xmlns:v="urn:v" x="1">t</v:a>') != Extension(b'<v:a xmlns:v="urn:v" x="2">t</v:a>')
    assert Extension(b'<v:a xmlns:v="urn:v"/>') != Extension(b'<v:a xmlns:v="urn:w"/>')
    assert len({Extension(b'<v:a xmlns:v="urn:v"/>'), Extension(b'<w:a xmlns:w="urn:v"></w:a>')}) == 1
