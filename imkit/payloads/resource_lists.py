"""URI lists: RFC 4826 ``application/resource-lists+xml`` as RFC 5366 uses it.

An ad-hoc IM conference (OMA SIMPLE IM 7.1.1.3, 7.1.1.6) and a multiple
REFER (7.1.1.7, RFC 5368) carry the invitees in a resource-lists body with
``Content-Disposition: recipient-list``. This module holds:

- the RFC 4826 section 3 model: ``<resource-lists>`` of ``<list>``; a list
  holds, in order, ``<entry uri>``, ``<entry-ref ref>``, ``<external anchor>``
  and nested ``<list>`` elements, each with an optional ``<display-name>``.
  Elements and attributes of other namespaces are kept and written back;
- the RFC 5364 copy-control attributes of an entry (``copyControl``,
  ``anonymize``, ``count``) in ``urn:ietf:params:xml:ns:copycontrol``. That
  lower-case form is the registered one and the one written; since one figure
  of RFC 5366 spells it ``copyControl``, the namespace is matched without
  regard to letter case on input;
- the ``Replaces`` URI header of an entry (7.1.1.6 item 8, RFC 3891 inside
  an RFC 5366 list): :func:`replaces_uri` builds
  ``sip:bob@example.com?Replaces=call-id%3Bto-tag%3Dt%3Bfrom-tag%3Df`` and
  :func:`split_replaces` reads it back, both through :mod:`imkit.sip`'s URI
  and ``Replaces`` types.
"""

from __future__ import annotations

import re
from html import escape
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Union

from lxml import etree

from imkit.errors import LocalProtocolError
from imkit.payloads.xml import DEFAULT_MAX_SIZE, ContentError, Extension, PayloadError, parse_xml
from imkit.sip import ParseError as SipParseError
from imkit.sip import Replaces, SipURI, parse_uri

__all__ = [
    "CONTENT_TYPE",
    "DISPOSITION",
    "NAMESPACE",
    "COPYCONTROL_NAMESPACE",
    "CopyControl",
    "Entry",
    "EntryRef",
    "External",
    "ResourceList",
    "ResourceLists",
    "Replaces",
    "replaces_uri",
    "split_replaces",
]

CONTENT_TYPE = "application/resource-lists+xml"
DISPOSITION = "recipient-list"  # the disposition type RFC 5363 defines
NAMESPACE = "urn:ietf:params:xml:ns:resource-lists"
COPYCONTROL_NAMESPACE = "urn:ietf:params:xml:ns:copycontrol"
COPYCONTROL_PREFIX = "cp"
MAX_DEPTH = 32  # nested <list> elements; RFC 4826 sets no limit, memory does
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_UINT = re.compile(r"\+?[0-9]+")


class CopyControl(Enum):
    """RFC 5364 ``copyControl``: the role of a recipient."""

    TO = "to"
    CC = "cc"
    BCC = "bcc"


@dataclass(frozen=True)
class Entry:
    """``<entry>``: one resource by URI, with RFC 5364 copy control."""

    uri: str
    display_name: str | None = None
    copy_control: CopyControl | None = None
    anonymize: bool | None = None
    count: int | None = None
    display_name_lang: str | None = None
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()

    @property
    def replaces(self) -> Replaces | None:
        """The ``Replaces`` URI header, if the URI carries one (raises PayloadError if malformed)."""
        return split_replaces(self.uri)[1]


@dataclass(frozen=True)
class EntryRef:
    """``<entry-ref>``: a reference to an entry elsewhere (an XCAP path)."""

    ref: str
    display_name: str | None = None
    display_name_lang: str | None = None
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class External:
    """``<external>``: a whole list included by reference (its ``anchor``)."""

    anchor: str
    display_name: str | None = None
    display_name_lang: str | None = None
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


Item = Union[Entry, EntryRef, External, "ResourceList"]


@dataclass(frozen=True)
class ResourceList:
    """``<list>``: an optional name, a display name, then items in document order."""

    items: tuple[Item, ...] = ()
    name: str | None = None
    display_name: str | None = None
    display_name_lang: str | None = None
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()

    def entries(self) -> Iterator[Entry]:
        """Every ``<entry>`` of this list and its nested lists, in document order."""
        for item in self.items:
            if isinstance(item, ResourceList):
                yield from item.entries()
            elif isinstance(item, Entry):
                yield item


@dataclass(frozen=True)
class ResourceLists:
    """``<resource-lists>``: the document."""

    lists: tuple[ResourceList, ...] = ()
    extensions: tuple[Extension, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_uris(
        cls,
        uris: Iterable[str | Entry],
        *,
        copy_control: CopyControl | str | None = None,
        anonymize: bool | None = None,
        name: str | None = None,
    ) -> ResourceLists:
        """One list of the given URIs (the RFC 5366 URI list), each marked alike.

        An :class:`Entry` among ``uris`` is taken as it is.
        """
        control = CopyControl(copy_control) if copy_control is not None else None
        items: list[Item] = []
        for uri in uris:
            if isinstance(uri, Entry):
                items.append(uri)
                continue
            if not isinstance(uri, str) or not uri.strip():
                raise LocalProtocolError(f"a URI list entry needs a URI, not {uri!r}")
            items.append(Entry(uri, copy_control=control, anonymize=anonymize))
        return cls((ResourceList(tuple(items), name=name),))

    @classmethod
    def from_xml(cls, data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> ResourceLists:
        """Read a document; any failure raises :class:`PayloadError`, nothing else."""
        root = parse_xml(data, max_size=max_size, remove_comments=True)
        if root.tag != _q("resource-lists"):
            raise PayloadError(f"root element is {root.tag}, not {_q('resource-lists')}", 0)
        try:
            return _read_document(root)
        except ContentError as exc:
            raise exc.located(bytes(data)) from None

    def to_xml(self, *, pretty: bool = False) -> bytes:
        """Serialise as UTF-8; raises :class:`LocalProtocolError` for unwritable values."""
        root = etree.Element(_q("resource-lists"), nsmap={None: NAMESPACE})
        try:
            for resource_list in self.lists:
                _write_list(resource_list, etree.SubElement(root, _q("list")))
            _finish(root, self)
        except (ValueError, TypeError) as exc:
            raise LocalProtocolError(f"cannot write resource-lists: {exc}") from None
        etree.cleanup_namespaces(root, top_nsmap={COPYCONTROL_PREFIX: COPYCONTROL_NAMESPACE})
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=pretty)

    def entries(self) -> Iterator[Entry]:
        """Every ``<entry>`` of the document, in document order."""
        for resource_list in self.lists:
            yield from resource_list.entries()

    def uris(self) -> tuple[str, ...]:
        return tuple(entry.uri for entry in self.entries())

    def _repr_html_(self) -> str:
        """The entries as a table, for Jupyter."""
        rows = "".join(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                escape(entry.uri),
                escape(entry.display_name or ""),
                entry.copy_control.value if entry.copy_control is not None else "",
                "anonymize" if entry.anonymize else "",
            )
            for entry in self.entries()
        )
        return f"<table><tr><th>URI</th><th>name</th><th>copy</th><th></th></tr>{rows}</table>"


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


# --- reading -------------------------------------------------------------------


@dataclass
class _Parts:
    """What every element holds besides its items: display name and extensions."""

    display_name: str | None = None
    display_name_lang: str | None = None
    extensions: list[Extension] = field(default_factory=list)

    def common(self, attributes: Iterable[tuple[str, str]]) -> dict[str, Any]:
        return {
            "display_name": self.display_name,
            "display_name_lang": self.display_name_lang,
            "extensions": tuple(self.extensions),
            "attributes": tuple(attributes),
        }


def _read_document(root: etree._Element) -> ResourceLists:
    lists: list[ResourceList] = []
    extensions: list[Extension] = []
    for child in _elements(root):
        if child.tag == _q("list"):
            lists.append(_read_list(child, 1))
        else:
            extensions.append(_extension(child))
    return ResourceLists(tuple(lists), tuple(extensions), tuple(root.attrib.items()))


def _elements(element: etree._Element) -> Iterator[etree._Element]:
    return (child for child in element if isinstance(child.tag, str))


def _extension(element: etree._Element) -> Extension:
    try:
        return Extension.from_element(element)
    except etree.LxmlError as exc:
        raise ContentError(f"unreadable extension element {element.tag}: {exc}", element) from None


def _others(element: etree._Element, known: str) -> list[tuple[str, str]]:
    return [(name, value) for name, value in element.attrib.items() if name != known]


def _required(element: etree._Element, name: str) -> str:
    value = element.get(name)
    if value is None:
        raise ContentError(f"<{etree.QName(element).localname}> lacks its {name!r} attribute", element)
    return value


def _children(element: etree._Element, items: list[Item] | None, depth: int) -> _Parts:
    """Read ``element``'s display name and extensions; its list items into ``items``."""
    parts = _Parts()
    for child in _elements(element):
        tag = child.tag
        if tag == _q("display-name"):
            if parts.display_name is not None:
                raise ContentError("more than one <display-name>", child)
            if any(isinstance(grandchild.tag, str) for grandchild in child):
                raise ContentError("<display-name> must hold text only", child)
            parts.display_name = child.text or ""
            parts.display_name_lang = child.get(_XML_LANG)
        elif items is None:
            parts.extensions.append(_extension(child))
        elif tag == _q("entry"):
            items.append(_read_entry(child))
        elif tag == _q("entry-ref"):
            ref = _required(child, "ref")
            items.append(EntryRef(ref, **_children(child, None, depth).common(_others(child, "ref"))))
        elif tag == _q("external"):
            anchor = _required(child, "anchor")
            items.append(External(anchor, **_children(child, None, depth).common(_others(child, "anchor"))))
        elif tag == _q("list"):
            items.append(_read_list(child, depth + 1))
        else:
            parts.extensions.append(_extension(child))
    return parts


def _read_list(element: etree._Element, depth: int) -> ResourceList:
    if depth > MAX_DEPTH:
        raise ContentError(f"lists nest deeper than {MAX_DEPTH}", element)
    items: list[Item] = []
    common = _children(element, items, depth).common(_others(element, "name"))
    return ResourceList(tuple(items), name=element.get("name"), **common)


def _read_entry(element: etree._Element) -> Entry:
    uri = _required(element, "uri")
    control: dict[str, Any] = {}
    attributes: list[tuple[str, str]] = []
    for name, value in element.attrib.items():
        qname = etree.QName(name)
        namespace = (qname.namespace or "").lower()
        key = _COPYCONTROL.get(qname.localname.lower()) if namespace == COPYCONTROL_NAMESPACE else None
        if key is None:
            if name != "uri":
                attributes.append((name, value))
            continue
        if key in control:
            raise ContentError(f"<entry> has more than one copy-control {qname.localname!r}", element)
        control[key] = _copy_control_value(key, value, element)
    return Entry(uri, **control, **_children(element, None, 0).common(attributes))


_COPYCONTROL = {"copycontrol": "copy_control", "anonymize": "anonymize", "count": "count"}


def _copy_control_value(key: str, text: str, element: etree._Element) -> object:
    value = text.strip()
    if key == "copy_control":
        try:
            return CopyControl(value.lower())
        except ValueError:
            raise ContentError(f"copyControl is {text!r}, not to, cc or bcc", element) from None
    if key == "anonymize":
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        raise ContentError(f"anonymize is not a boolean: {text!r}", element)
    if not _UINT.fullmatch(value) or int(value) > 2**32 - 1:
        raise ContentError(f"count is not an unsignedInt: {text!r}", element)
    return int(value)


# --- writing -------------------------------------------------------------------


def _finish(element: etree._Element, item: Entry | EntryRef | External | ResourceList | ResourceLists) -> None:
    """Write what every element shares: other attributes, then extensions."""
    for name, value in item.attributes:
        element.set(name, value)
    for extension in item.extensions:
        element.append(extension.to_element())


def _write_display_name(element: etree._Element, item: Entry | EntryRef | External | ResourceList) -> None:
    if item.display_name is not None:
        display = etree.SubElement(element, _q("display-name"))
        display.text = item.display_name
        if item.display_name_lang is not None:
            display.set(_XML_LANG, item.display_name_lang)


def _write_list(resource_list: ResourceList, element: etree._Element) -> None:
    if resource_list.name is not None:
        element.set("name", resource_list.name)
    _write_display_name(element, resource_list)
    for item in resource_list.items:
        if isinstance(item, ResourceList):
            _write_list(item, etree.SubElement(element, _q("list")))
        elif isinstance(item, Entry):
            _write_entry(item, etree.SubElement(element, _q("entry")))
        elif isinstance(item, EntryRef):
            child = etree.SubElement(element, _q("entry-ref"), ref=item.ref)
            _write_display_name(child, item)
            _finish(child, item)
        elif isinstance(item, External):
            child = etree.SubElement(element, _q("external"), anchor=item.anchor)
            _write_display_name(child, item)
            _finish(child, item)
        else:
            raise TypeError(f"a <list> holds entries and lists, not {type(item).__name__}")
    _finish(element, resource_list)


def _write_entry(entry: Entry, element: etree._Element) -> None:
    element.set("uri", entry.uri)
    cp = f"{{{COPYCONTROL_NAMESPACE}}}"
    if entry.copy_control is not None:
        element.set(cp + "copyControl", CopyControl(entry.copy_control).value)
    if entry.anonymize is not None:
        element.set(cp + "anonymize", "true" if entry.anonymize else "false")
    if entry.count is not None:
        if isinstance(entry.count, bool) or not 0 <= entry.count <= 2**32 - 1:
            raise ValueError(f"count must be an unsignedInt, not {entry.count!r}")
        element.set(cp + "count", str(entry.count))
    _write_display_name(element, entry)
    _finish(element, entry)


# --- Replaces inside an entry URI (RFC 3891, RFC 5366) -----------------------------

# RFC 3261 section 25.1: token and Call-ID's word.
_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_WORD = r"[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+"
_CALL_ID = re.compile(_WORD + r"(?:@" + _WORD + r")?")


def replaces_uri(uri: str, call_id: str, to_tag: str, from_tag: str, *, early_only: bool = False) -> str:
    """``uri`` with a ``Replaces`` URI header naming the given dialog.

    7.1.1.6 item 8: the client "SHALL for the originally invited user
    identity, include a Replace header with the original session identity";
    in a URI-list entry it travels as a URI header, escaped by
    :class:`imkit.sip.SipURI` (RFC 3261 section 19.1.1:
    ``hvalue = *( hnv-unreserved / unreserved / escaped )``).
    """
    try:
        parsed = parse_uri(uri)
    except SipParseError as exc:
        raise LocalProtocolError(f"not a URI: {uri!r} ({exc.what})") from None
    if not isinstance(parsed, SipURI):
        raise LocalProtocolError(f"Replaces goes in a SIP or SIPS URI, not {uri!r}")
    if parsed.header("Replaces") is not None:
        raise LocalProtocolError(f"{uri!r} already carries a Replaces header")
    if not _CALL_ID.fullmatch(call_id):
        raise LocalProtocolError(f"not a Call-ID: {call_id!r}")
    for name, tag in (("to-tag", to_tag), ("from-tag", from_tag)):
        if not _TOKEN.fullmatch(tag):
            raise LocalProtocolError(f"{name} is not a token: {tag!r}")
    return str(parsed.with_header("Replaces", str(Replaces(call_id, to_tag, from_tag, early_only))))


def split_replaces(uri: str) -> tuple[str, Replaces | None]:
    """Read back what :func:`replaces_uri` built: ``(uri without Replaces, Replaces)``.

    A URI without the header comes back unchanged with ``None``. Raises
    :class:`PayloadError` (offset: position in ``uri``) when the URI or the
    header is malformed: bad escapes, no Call-ID, a missing or repeated tag,
    two ``Replaces`` headers. RFC 3891 section 6.1: "A Replaces header field
    MUST contain exactly one <to-tag> and exactly one <from-tag>".
    """
    try:
        parsed = parse_uri(uri)
    except SipParseError as exc:
        raise PayloadError(f"entry URI: {exc.what}", exc.offset) from None
    if not isinstance(parsed, SipURI):
        return uri, None
    values = [value for name, value in parsed.headers if name.lower() == "replaces"]
    if not values:
        return uri, None
    offset = max(uri.lower().find("replaces="), 0)
    if len(values) > 1:
        raise PayloadError("more than one Replaces header in the URI", offset)
    try:
        replaces = Replaces.parse(values[0])
    except SipParseError as exc:
        raise PayloadError(f"Replaces header: {exc.what}", offset) from None
    tags = [name.lower() for name, _ in replaces.params if name.lower() in ("to-tag", "from-tag")]
    if sorted(tags) != ["from-tag", "to-tag"]:
        raise PayloadError("Replaces header must hold exactly one to-tag and one from-tag", offset)
    if not _CALL_ID.fullmatch(replaces.call_id):
        raise PayloadError(f"Replaces header has no valid Call-ID: {replaces.call_id!r}", offset)
    if not (_TOKEN.fullmatch(replaces.to_tag) and _TOKEN.fullmatch(replaces.from_tag)):
        raise PayloadError("Replaces header tags must be tokens", offset)
    kept = tuple((name, value) for name, value in parsed.headers if name.lower() != "replaces")
    return str(parsed.replace(headers=kept)), replaces
