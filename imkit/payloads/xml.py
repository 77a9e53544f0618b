"""Safe parsing of untrusted XML bodies, shared by every payload module.

Every XML document imkit reads arrives in a SIP body from a peer, so it is
parsed as hostile input (entity expansion, external references, oversized
documents):

- the size is capped before the parser sees a byte (default 256 KiB);
- lxml runs with ``resolve_entities=False``, ``no_network=True``,
  ``load_dtd=False``, ``dtd_validation=False`` and ``huge_tree=False``, so
  libxml2 keeps its depth and amplification limits;
- any document type declaration is refused. None of the formats imkit reads
  (RFC 4575, RFC 4826, RFC 5364) defines a DTD, and a DOCTYPE is the only
  place an entity can be declared, so no document declaring one (a
  ``SYSTEM "file:///etc/passwd"`` external entity, say) reaches a model.
  While the document is parsed, external entities are neither fetched nor
  read and libxml2's amplification limit stops a "billion laughs" bomb.

Every failure becomes :class:`PayloadError`, an :class:`imkit.errors.ParseError`
carrying the byte offset lxml reported (or the start of the offending
element's line when a model rejects a well-formed document).

:class:`Extension` keeps an element the models do not know (another namespace,
RFC 4575's ``<xs:any namespace="##other">``) as exclusive canonical XML, so it
compares by value and survives a round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from lxml import etree

from imkit.errors import LocalProtocolError, ParseError

__all__ = [
    "DEFAULT_MAX_SIZE",
    "PayloadError",
    "ContentError",
    "Extension",
    "parse_xml",
    "line_offset",
]

DEFAULT_MAX_SIZE = 256 * 1024


class PayloadError(ParseError):
    """A body (XML document or message/sipfrag) could not be read."""


class ContentError(Exception):
    """A well-formed document holds something its model refuses.

    Raised inside the payload readers, next to the offending element, and
    turned into a located :class:`PayloadError` by :meth:`located` at the
    ``from_xml`` boundary (only there are the document's bytes at hand).
    """

    def __init__(self, what: str, element: etree._Element | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.line: int | None = element.sourceline if element is not None else None

    def located(self, data: bytes) -> PayloadError:
        offset = line_offset(data, self.line, 1) if self.line else 0
        return PayloadError(self.what, offset)


def line_offset(data: bytes, line: int, column: int) -> int:
    """Byte offset of 1-based (line, column) in ``data``, clamped to its length."""
    offset = 0
    for _ in range(max(line, 1) - 1):
        newline = data.find(b"\n", offset)
        if newline < 0:
            return len(data)
        offset = newline + 1
    return min(offset + max(column, 1) - 1, len(data))


def _parser(remove_comments: bool) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=remove_comments,
        remove_pis=remove_comments,
        collect_ids=False,
    )


def parse_xml(
    data: bytes,
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    remove_comments: bool = False,
) -> etree._Element:
    """Parse untrusted ``data`` and return its root element.

    Raises :class:`PayloadError` for anything that is not a small, well-formed
    XML document without a DOCTYPE; nothing else escapes for any bytes.
    ``remove_comments`` also drops processing instructions.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"XML payloads are bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_size:
        raise PayloadError(f"XML document of {len(data)} bytes exceeds the {max_size}-byte cap", max_size)
    try:
        root = etree.fromstring(data, _parser(remove_comments))
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (0, 0)
        raise PayloadError(f"malformed XML: {exc.msg}", line_offset(data, line, column)) from None
    except (etree.LxmlError, ValueError, LookupError, UnicodeError) as exc:
        raise PayloadError(f"unreadable XML: {exc}", 0) from None
    if root is None:
        raise PayloadError("empty XML document", 0)
    doctype = root.getroottree().docinfo.doctype
    if doctype:
        # RFC 4575, RFC 4826 and RFC 5364 define their formats by XML
        # Schema only; no document of theirs needs a DTD, so none is accepted.
        raise PayloadError(f"document type declarations are refused ({doctype})", max(data.find(b"<!"), 0))
    return root


@dataclass(frozen=True, eq=False)
class Extension:
    """An element kept as XML text, compared by its canonical form.

    ``xml`` is the element's exclusive canonical XML (RFC 3741) when read from
    a document, so it stands alone with the namespaces it uses. Two extensions
    are equal when their C14N 2.0 forms with rewritten prefixes are: the
    prefixes a writer picks (lxml may rename them when the element is put back
    into a document) do not matter.
    """

    xml: bytes

    @classmethod
    def from_element(cls, element: etree._Element) -> Extension:
        try:
            return cls(etree.tostring(element, method="c14n", exclusive=True, with_comments=False))
        except etree.C14NError:
            # C14N 1.0 refuses relative namespace URIs; such an element is
            # still kept, serialised as is.
            return cls(etree.tostring(element, with_tail=False))

    @cached_property
    def tag(self) -> str:
        """The element's name in Clark notation, ``{namespace}local``."""
        return str(self.to_element().tag)

    def to_element(self) -> etree._Element:
        """A fresh element ready to append to a document being built."""
        try:
            return parse_xml(self.xml)
        except PayloadError as exc:
            raise LocalProtocolError(f"Extension holds invalid XML: {exc}") from None

    @cached_property
    def _canonical(self) -> bytes:
        try:
            return etree.canonicalize(parse_xml(self.xml), rewrite_prefixes=True).encode("utf-8")
        except (PayloadError, etree.LxmlError, ValueError):
            return self.xml

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Extension):
            return NotImplemented
        return self.xml == other.xml or self._canonical == other._canonical

    def __hash__(self) -> int:
        return hash(self._canonical)
