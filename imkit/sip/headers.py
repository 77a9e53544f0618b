"""SIP header fields as an ordered, multi-valued list (RFC 3261 sections 7.3, 20).

A :class:`Headers` keeps every field in wire order with the name and the text
exactly as received, so an unmodified message serialises to the same bytes.
Names compare case-insensitively and compact forms (RFC 3261 section 7.3.3 and
the IANA registry) map to their full names.  Header fields whose grammar is a
comma-separated list (``#element``) are split on commas outside quotes and
angle brackets by :meth:`Headers.get_all`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from imkit.errors import LocalProtocolError
from imkit.sip.errors import ParseError
from imkit.sip.params import MEMO_LIMIT

T = TypeVar("T")

#: Compact form -> full name (RFC 3261 7.3.3; RFC 3265/6665 o, u; RFC 3515 r;
#: RFC 3892 b; RFC 4028 x; RFC 3841 a, j; RFC 4474 y, n; RFC 3841 d).
COMPACT_FORMS: dict[str, str] = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "u": "Allow-Events",
    "r": "Refer-To",
    "b": "Referred-By",
    "x": "Session-Expires",
    "a": "Accept-Contact",
    "j": "Reject-Contact",
    "d": "Request-Disposition",
    "y": "Identity",
    "n": "Identity-Info",
}

_CANONICAL_NAMES = [
    "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info",
    "Allow", "Allow-Events", "Authentication-Info", "Authorization", "Call-ID",
    "Call-Info", "Contact", "Content-Disposition", "Content-Encoding",
    "Content-ID", "Content-Language", "Content-Length", "Content-Type", "CSeq",
    "Date", "Error-Info", "Event", "Expires", "From", "In-Reply-To",
    "Max-Forwards", "Min-Expires", "Min-SE", "MIME-Version", "Organization",
    "P-Asserted-Identity", "P-Preferred-Identity", "Path", "Priority", "Privacy",
    "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "Reason",
    "Record-Route", "Refer-Sub", "Refer-To", "Referred-By", "Reject-Contact",
    "Replaces", "Reply-To", "Request-Disposition", "Require", "Retry-After",
    "Route", "Server", "Service-Route", "Session-Expires", "SIP-ETag",
    "SIP-If-Match", "Subject", "Subscription-State", "Supported", "Timestamp",
    "To", "Unsupported", "User-Agent", "Via", "Warning", "WWW-Authenticate",
    "Identity", "Identity-Info",
]

#: lower-case name -> canonical spelling, compact forms included.
_CANONICAL: dict[str, str] = {n.lower(): n for n in _CANONICAL_NAMES}
_CANONICAL.update(COMPACT_FORMS)

#: Header fields whose value is a comma-separated list (``1#element`` in the
#: ABNF).  The authentication headers are not here: their commas separate
#: parameters of one challenge.
LIST_HEADERS: frozenset[str] = frozenset(
    n.lower()
    for n in [
        "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language",
        "Alert-Info", "Allow", "Allow-Events", "Call-Info", "Contact",
        "Content-Encoding", "Content-Language", "Error-Info", "In-Reply-To",
        "Path", "Proxy-Require", "Reason", "Record-Route", "Reject-Contact",
        "Require", "Route", "Service-Route", "Supported", "Unsupported", "Via",
        "Warning", "P-Asserted-Identity", "P-Preferred-Identity",
        "Request-Disposition",
    ]
)

#: RFC 3261 25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
_TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")


#: header_key's answers, memoised: a message repeats a dozen names over and
#: over.  Bounded so hostile input cannot grow it without limit.
_KEY_MEMO: dict[str, str] = {}
_KEY_MEMO_LIMIT = 1024

#: Header names already found to be tokens (bounded like _KEY_MEMO).
_TOKEN_NAMES: set[str] = set()


def canonical_name(name: str) -> str:
    """The full, conventionally spelled name of a header (``"v"`` -> ``"Via"``)."""
    return _CANONICAL.get(name.lower(), name)


def header_key(name: str) -> str:
    """The comparison key of a header name: lower case, compact form expanded."""
    key = _KEY_MEMO.get(name)
    if key is None:
        lowered = name.lower()
        full = COMPACT_FORMS.get(lowered)
        key = full.lower() if full else lowered
        if len(_KEY_MEMO) < _KEY_MEMO_LIMIT:
            _KEY_MEMO[name] = key
    return key


def is_token(text: str) -> bool:
    """Whether ``text`` is an RFC 3261 ``token``."""
    return _TOKEN_RE.fullmatch(text) is not None


def split_list(value: str) -> list[str]:
    """Split a list-valued header on commas outside quotes and ``<>``.

    RFC 3261 7.3.1: "Multiple header field values ... MUST be expressible as a
    single header field row by appending each subsequent field-value to the
    first, each separated by a comma."
    """
    if "," not in value:
        # Nothing to split on.
        value = value.strip()
        return [value] if value else []
    if '"' not in value and "<" not in value:
        # Nothing can hide a comma: a plain split gives the same items.
        return [item for item in map(str.strip, value.split(",")) if item]
    items: list[str] = []
    depth = 0
    quoted = False
    start = 0
    i = 0
    length = len(value)
    while i < length:
        ch = value[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            item = value[start:i].strip()
            if item:
                items.append(item)
            start = i + 1
        i += 1
    last = value[start:].strip()
    if last:
        items.append(last)
    return items


#: How many times a :class:`Field` has been renamed; a :class:`Headers`
#: rebuilds its index of rows by key when this has moved since it built it.
_renames = 0


class Field:
    """One header field row: the name and value as written.

    ``value`` is the field value with folded lines joined by one space and
    surrounding white space removed.  ``raw`` is the row exactly as received
    (without the final CRLF) or ``None`` for a field built locally.  ``offset``
    is where the row started in the parsed message (for error positions).

    A row also keeps its comparison key (``key``, recomputed when ``name`` is
    reassigned) and the typed value last parsed from it (see :meth:`typed`).

    A plain class with slots rather than a dataclass: every received message
    builds a dozen rows, and the parser fills them in without ``__init__``.
    """

    __slots__ = ("_key", "_name", "_typed", "offset", "raw", "value")

    def __init__(self, name: str, value: str, raw: bytes | None = None, offset: int = 0) -> None:
        self._name = name
        self.value = value
        self.raw = raw
        self.offset = offset
        self._key = header_key(name)
        self._typed: tuple[str, object, bool, object] | None = None

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, name: str) -> None:
        global _renames
        self._name = name
        self._key = header_key(name)
        _renames += 1

    @property
    def key(self) -> str:
        """The comparison key of the name (:func:`header_key`)."""
        return self._key

    def typed(self, parser: Callable[[str, int], T], many: bool = False) -> T | tuple[T, ...]:
        """``parser(self.value, offset_of_the_value)`` (with ``many``: a tuple
        of the parsed comma-separated items), parsed once per value.

        Every parser passed here returns an immutable value (frozen
        dataclasses, ints, strings), so handing out the same object again is
        safe.  Reassigning ``value``, or asking with another parser, parses
        afresh.
        """
        value = self.value
        cached = self._typed
        if (
            cached is not None
            and cached[0] is value
            and cached[2] is many
            and (cached[1] is parser or cached[1] == parser)
        ):
            return cached[3]  # type: ignore[return-value]
        offset = self.offset + len(self._name) + 1
        result: T | tuple[T, ...]
        if not many:
            result = parser(value, offset)
        elif "," not in value:
            # One item at most (split_list's answer, without the call).
            item = value.strip()
            result = (parser(item, offset),) if item else ()
        else:
            result = tuple([parser(item, offset) for item in split_list(value)])
        self._typed = (value, parser, many, result)
        return result

    def to_bytes(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return f"{self._name}: {self.value}".encode("utf-8")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Field):
            return NotImplemented
        return self._key == other._key and self.value == other.value

    def __repr__(self) -> str:
        return f"Field({self._name!r}, {self.value!r})"


_new = object.__new__


def _clone(row: Field) -> Field:
    """A copy of ``row``, typed value included (it is immutable)."""
    copy = _new(Field)
    copy._name = row._name
    copy.value = row.value
    copy.raw = row.raw
    copy.offset = row.offset
    copy._key = row._key
    copy._typed = row._typed
    return copy


def copy_as(row: Field, name: str) -> Field:
    """A locally built copy of ``row`` (no raw bytes, so written as
    ``name: value``) under ``name``, another spelling of the same header
    (:func:`canonical_name`).  The typed value already parsed from the value
    comes along: it is immutable and the value is the same."""
    copy = _new(Field)
    copy._name = name
    copy.value = row.value
    copy.raw = None
    copy.offset = 0
    copy._key = row._key
    copy._typed = row._typed
    return copy


def _index_of(fields: list[Field]) -> dict[str, list[Field]]:
    index: dict[str, list[Field]] = {}
    for row in fields:
        rows = index.get(row._key)
        if rows is None:
            index[row._key] = [row]
        else:
            rows.append(row)
    return index


class Headers:
    """The ordered header fields of a SIP message or MIME body part.

    Besides the rows in order, a :class:`Headers` keeps an index of them by
    comparison key (built by the parser or when first needed, kept up to date
    by its methods, rebuilt after a row is renamed), so looking a header up
    does not scan every row.
    """

    __slots__ = ("_epoch", "_fields", "_index")

    def __init__(self, fields: Iterable[Field | tuple[str, str]] = ()) -> None:
        self._fields: list[Field] = [
            f if isinstance(f, Field) else Field(f[0], f[1]) for f in fields
        ]
        self._index: dict[str, list[Field]] | None = None
        self._epoch = 0

    def _keyed(self) -> dict[str, list[Field]]:
        """The rows by comparison key, each list in wire order (never empty)."""
        index = self._index
        if index is None or self._epoch != _renames:
            index = self._index = _index_of(self._fields)
            self._epoch = _renames
        return index

    # -- reading -----------------------------------------------------------
    def __iter__(self) -> Iterator[Field]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return header_key(name) in self._keyed()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._fields == other._fields

    def __repr__(self) -> str:
        return f"Headers({[(f.name, f.value) for f in self._fields]!r})"

    def fields(self, name: str) -> list[Field]:
        """Every row of header ``name`` (any spelling, compact form included)."""
        rows = self._keyed().get(header_key(name))
        return rows[:] if rows is not None else []

    def first(self, name: str) -> Field | None:
        """The first row of ``name``, or ``None``."""
        rows = self._keyed().get(header_key(name))
        return None if rows is None else rows[0]

    def first_by_key(self, key: str) -> Field | None:
        """:meth:`first` for a comparison key made by :func:`header_key`."""
        rows = self._keyed().get(key)
        return None if rows is None else rows[0]

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of the first row of ``name``, or ``default``."""
        rows = self._keyed().get(header_key(name))
        return default if rows is None else rows[0].value

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` in wire order, list-valued rows split."""
        key = header_key(name)
        rows = self._keyed().get(key)
        if rows is None:
            return []
        if key in LIST_HEADERS:
            return [item for row in rows for item in split_list(row.value)]
        return [row.value for row in rows]

    # -- changing ----------------------------------------------------------
    def add(self, name: str, value: str, *, first: bool = False) -> Field:
        """Append (or, with ``first``, prepend) a row; return it."""
        _check_field(name, value)
        row = Field(name, value)
        if first:
            self._fields.insert(0, row)
        else:
            self._fields.append(row)
        index = self._index
        if index is not None:
            # Kept up to date (a stale one is rebuilt by _keyed anyway).
            rows = index.get(row._key)
            if rows is None:
                index[row._key] = [row]
            elif first:
                rows.insert(0, row)
            else:
                rows.append(row)
        return row

    def set(self, name: str, value: str) -> Field:
        """Replace every row of ``name`` by one row, kept where the first was."""
        _check_field(name, value)
        row = Field(name, value)
        key = row._key
        if self._index is not None:
            self._index[key] = [row]
        for i, f in enumerate(self._fields):
            if f._key == key:
                self._fields[i] = row
                self._fields = [g for g in self._fields if g is row or g._key != key]
                return row
        self._fields.append(row)
        return row

    def add_before(self, anchors: tuple[str, ...], name: str, value: str) -> Field:
        """Add a row just before the first row of any of ``anchors`` (for
        example before Content-Type and Content-Length, which conventionally
        close a header block), or at the end when none is present."""
        _check_field(name, value)
        row = Field(name, value)
        self._index = None
        keys = {header_key(a) for a in anchors}
        for i, f in enumerate(self._fields):
            if f._key in keys:
                self._fields.insert(i, row)
                return row
        self._fields.append(row)
        return row

    def remove(self, name: str) -> int:
        """Remove every row of ``name``; return how many were removed."""
        key = header_key(name)
        before = len(self._fields)
        self._fields = [f for f in self._fields if f._key != key]
        if self._index is not None:
            self._index.pop(key, None)
        return before - len(self._fields)

    def remove_first(self, name: str) -> Field | None:
        """Remove and return the first row of ``name`` (a proxy pops its Via)."""
        key = header_key(name)
        for i, f in enumerate(self._fields):
            if f._key == key:
                index = self._index
                if index is not None:
                    # The first row of the key in wire order is first in its list.
                    rows = index.get(key)
                    if rows is not None and rows[0] is f:
                        if len(rows) == 1:
                            del index[key]
                        else:
                            del rows[0]
                    else:
                        self._index = None
                return self._fields.pop(i)
        return None

    def copy(self) -> "Headers":
        copy = Headers()
        copy._fields = [_clone(f) for f in self._fields]
        return copy

    def to_bytes(self) -> bytes:
        return b"".join([(f.raw if f.raw is not None else f.to_bytes()) + b"\r\n" for f in self._fields])


def _check_field(name: str, value: str) -> None:
    if name not in _TOKEN_NAMES:
        if not is_token(name):
            raise LocalProtocolError(f"header name {name!r} is not a token")
        if len(_TOKEN_NAMES) < _KEY_MEMO_LIMIT:
            _TOKEN_NAMES.add(name)
    if "\r" in value or "\n" in value:
        raise LocalProtocolError(f"header {name} value contains CR or LF")


def parse_header_block(
    data: bytes, *, base_offset: int = 0, max_fields: int = 256
) -> Headers:
    """Parse header rows (no start line, no empty line) into :class:`Headers`.

    Lines are separated by CRLF (a bare LF is tolerated); a line starting with
    SP or HTAB continues the previous row (RFC 3261 7.3.1 folding).
    """
    headers = Headers()
    if not data:
        return headers
    index: dict[str, list[Field]] = {}
    fields = _plain_rows(data, base_offset, max_fields, index)
    if fields is None:
        fields = _rows(data, base_offset, max_fields)
    else:
        headers._index = index
        headers._epoch = _renames
    headers._fields = fields
    return headers


#: The name, value and key of each row by its bytes (a bounded memo, see
#: imkit.sip.params.remember): a message repeats most rows of the messages
#: before it.
_ROW_MEMO: dict[bytes, tuple[str, str, str]] = {}
#: The rows of larger blocks are not remembered (bounds the memo's memory).
_MEMO_MAX_BLOCK = 2048


def _plain_rows(
    data: bytes, base_offset: int, max_fields: int, index: dict[str, list[Field]]
) -> list[Field] | None:
    """The fast path of :func:`parse_header_block`: a UTF-8 block of well-formed
    one-line rows, also entered in ``index`` by key (see Headers._keyed).
    ``None`` for anything else (folding, an empty line, a bad name, too many
    rows, bytes that are not UTF-8), which :func:`_rows` then parses or
    reports with the exact error and offset."""
    # In UTF-8 the bytes CR and LF are only ever those characters, so the
    # block splits into the rows its text would, and it is UTF-8 when each
    # row is.
    raws = data.split(b"\r\n")
    if data.count(b"\n") != len(raws) - 1 or data[-1:] == b"\r":
        # Some line ends in a bare LF, or the last line in a CR.
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return _plain_lf_rows(data, text, base_offset, max_fields, index)
    if len(raws) > max_fields:
        return None
    fields: list[Field] = []
    append = fields.append
    position = base_offset
    memo = _ROW_MEMO
    # Room for every row of the block (see imkit.sip.params.remember); rows
    # are remembered when the block is small, so none is long.
    if len(memo) > MEMO_LIMIT - len(raws):
        memo.clear()
    keep = len(data) <= _MEMO_MAX_BLOCK
    token_names = _TOKEN_NAMES
    for raw in raws:
        parts = memo.get(raw)
        if parts is None:
            # The name, value and key of a row not seen lately.
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                return None
            name, colon, value = line.partition(":")
            if not colon:
                return None
            if name not in token_names:
                name = name.rstrip(" \t")
                if name not in token_names:
                    if not (name.isascii() and is_token(name)):
                        return None
                    if len(token_names) < _KEY_MEMO_LIMIT:
                        token_names.add(name)
            parts = (name, value.strip(), _KEY_MEMO.get(name) or header_key(name))
            if keep:
                memo[raw] = parts
        # A Field built without its __init__, its key filled in at once.
        row = _new(Field)
        row._name, row.value, key = parts
        row._key = key
        row.raw = raw
        row.offset = position
        row._typed = None
        append(row)
        rows = index.get(key)
        if rows is None:
            index[key] = [row]
        else:
            rows.append(row)
        position += len(raw) + 2
    return fields


def _plain_lf_rows(
    data: bytes, text: str, base_offset: int, max_fields: int, index: dict[str, list[Field]]
) -> list[Field] | None:
    """:func:`_plain_rows` for a block whose lines may end in a bare LF."""
    fields: list[Field] = []
    append = fields.append
    position = base_offset
    for raw, line in zip(data.split(b"\n"), text.split("\n")):
        size = len(raw) + 1
        if line[-1:] == "\r":
            line = line[:-1]
            raw = raw[:-1]
        name, colon, value = line.partition(":")
        if not colon:
            return None
        name = name.rstrip(" \t")
        if name not in _TOKEN_NAMES:
            if not (name.isascii() and is_token(name)):
                return None
            if len(_TOKEN_NAMES) < _KEY_MEMO_LIMIT:
                _TOKEN_NAMES.add(name)
        append(Field(name, value.strip(), raw, position))
        position += size
    if len(fields) > max_fields:
        return None
    index.update(_index_of(fields))
    return fields


def _rows(data: bytes, base_offset: int, max_fields: int) -> list[Field]:
    """Every row of a header block, folded rows joined; raises the first error."""
    fields: list[Field] = []
    position = base_offset
    current: list[bytes] = []
    current_offset = position
    for line in data.split(b"\n"):
        line_length = len(line) + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        if line[:1] in (b" ", b"\t"):
            if not current:
                raise ParseError("continuation line before any header", position)
            current.append(line)
        elif line:
            if current:
                fields.append(_make_field(current, current_offset))
                if len(fields) >= max_fields:
                    raise ParseError(f"more than {max_fields} header fields", position)
            current = [line]
            current_offset = position
        elif current:
            # An empty line inside a header block (only possible in fragments).
            raise ParseError("empty line inside header block", position)
        position += line_length
    if current:
        fields.append(_make_field(current, current_offset))
        if len(fields) > max_fields:
            raise ParseError(f"more than {max_fields} header fields", position)
    return fields


def _make_field(lines: list[bytes], offset: int) -> Field:
    first = lines[0]
    colon = first.find(b":")
    if colon <= 0:
        raise ParseError("header line without a name and colon", offset)
    try:
        name = first[:colon].rstrip(b" \t").decode("ascii")
    except UnicodeDecodeError:
        raise ParseError("header name is not ASCII", offset) from None
    if not is_token(name):
        raise ParseError(f"header name {name!r} is not a token", offset)
    parts = [first[colon + 1 :]]
    parts.extend(lines[1:])
    try:
        value = " ".join(p.strip(b" \t").decode("utf-8") for p in parts).strip()
    except UnicodeDecodeError as exc:
        raise ParseError(f"header {name} is not UTF-8", offset + exc.start) from None
    raw = b"\r\n".join(lines) if len(lines) > 1 else first
    return Field(name, value, raw, offset)
