"""MSRP header fields: the ordered list and the typed values (RFC 4975 section 9).

``Byte-Range = "Byte-Range:" SP range-start "-" range-end "/" total`` (the
end and total may be ``*``), ``Status = "Status:" SP namespace SP status-code
[SP text-reason]``, ``Success-Report: yes / no``, ``Failure-Report: yes / no
/ partial``.  :class:`Headers` keeps every field in order and as written
(names case-insensitive for lookup), so a parsed message writes back the same
bytes.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from imkit.msrp.errors import HeaderValueError

__all__ = [
    "MAX_DIGITS",
    "MAX_HEADERS",
    "ByteRange",
    "FailureReport",
    "Headers",
    "Status",
    "parse_report_flag",
]

#: Most header fields in one MSRP message (a bound, not the RFC's).
MAX_HEADERS = 64
#: Longest number accepted in Byte-Range (19 digits fit in 63 bits).
MAX_DIGITS = 19

# hname = ALPHA *token-char (RFC 4975 section 9; token as in RFC 3261)
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9\-.!%*_+`'~]*")
# utf8text = *(HTAB / %x20-7E / UTF8-NONASCII); no leading or trailing blanks,
# which the parser strips and the writer would add back as ": ".
_VALUE_RE = re.compile(r"(?:[^\x00-\x1f\x7f \t](?:[^\x00-\x08\x0a-\x1f\x7f]*[^\x00-\x1f\x7f \t])?)?")
_RANGE_RE = re.compile(r"([0-9]{1,19})-([0-9]{1,19}|\*)/([0-9]{1,19}|\*)")
_STATUS_RE = re.compile(r"([0-9]{3}) ([0-9]{3})(?: (.*))?", re.DOTALL)


class FailureReport(enum.Enum):
    """``Failure-Report`` values (RFC 4975 section 7.1.1); absent means ``yes``."""

    YES = "yes"
    NO = "no"
    PARTIAL = "partial"


def parse_report_flag(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """The lower-cased value of a Success-/Failure-Report header, checked."""
    lowered = value.lower()
    if lowered not in allowed:
        raise HeaderValueError(name, f"expected one of {', '.join(allowed)}, got {value!r}")
    return lowered


@dataclass(frozen=True)
class ByteRange:
    """``Byte-Range: start-end/total``; ``None`` stands for ``*``.  Positions
    count from 1 and the end is inclusive, so an empty body is ``1-0/0``."""

    start: int
    end: int | None
    total: int | None

    def __post_init__(self) -> None:
        for number in (self.start, self.end, self.total):
            if number is not None and not 0 <= number < 10**MAX_DIGITS:
                raise HeaderValueError("Byte-Range", f"number out of range: {number}")
        if self.start < 1:
            raise HeaderValueError("Byte-Range", "range-start counts from 1")
        if self.end is not None and self.end < self.start - 1:
            raise HeaderValueError("Byte-Range", "range-end before range-start")
        limit = self.end if self.end is not None else self.start - 1
        if self.total is not None and limit > self.total:
            raise HeaderValueError("Byte-Range", "range beyond the total")

    @classmethod
    def parse(cls, value: str) -> ByteRange:
        m = _RANGE_RE.fullmatch(value)
        if m is None:
            raise HeaderValueError("Byte-Range", f"expected start-end/total, got {value[:60]!r}")
        start, end, total = m.groups()
        return cls(int(start), None if end == "*" else int(end), None if total == "*" else int(total))

    def __str__(self) -> str:
        end = "*" if self.end is None else str(self.end)
        total = "*" if self.total is None else str(self.total)
        return f"{self.start}-{end}/{total}"


@dataclass(frozen=True)
class Status:
    """``Status: namespace code [reason]``; namespace 000 is RFC 4975's."""

    code: int
    reason: str | None = None
    namespace: int = 0

    def __post_init__(self) -> None:
        if not (0 <= self.namespace <= 999 and 100 <= self.code <= 999):
            raise HeaderValueError("Status", "namespace and code are three digits")
        if self.reason is not None and (not self.reason or _VALUE_RE.fullmatch(self.reason) is None):
            raise HeaderValueError("Status", "bad text-reason")

    @classmethod
    def parse(cls, value: str) -> Status:
        m = _STATUS_RE.fullmatch(value)
        if m is None:
            raise HeaderValueError("Status", f"expected namespace code [reason], got {value[:60]!r}")
        namespace, code, reason = m.groups()
        return cls(int(code), reason, int(namespace))

    def __str__(self) -> str:
        text = f"{self.namespace:03d} {self.code:03d}"
        return text if self.reason is None else f"{text} {self.reason}"


@dataclass(frozen=True)
class Headers:
    """Header fields in order, each ``(name, value)`` as written."""

    fields: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if len(self.fields) > MAX_HEADERS:
            raise HeaderValueError("headers", f"more than {MAX_HEADERS} header fields")
        for name, value in self.fields:
            if _NAME_RE.fullmatch(name) is None:
                raise HeaderValueError(name, "bad header name")
            if _VALUE_RE.fullmatch(value) is None:
                raise HeaderValueError(name, "control characters or surrounding blanks in the value")

    @classmethod
    def of(cls, fields: Iterable[tuple[str, str]]) -> Headers:
        return cls(tuple(fields))

    @classmethod
    def trusted(cls, fields: tuple[tuple[str, str], ...]) -> Headers:
        """Fields already checked (by the parser, against the same rules)."""
        headers = object.__new__(cls)
        object.__setattr__(headers, "fields", fields)
        return headers

    def get(self, name: str) -> str | None:
        """The first value of ``name`` (case-insensitive), or ``None``."""
        key = name.lower()
        for field_name, value in self.fields:
            if field_name.lower() == key:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        key = name.lower()
        return [value for field_name, value in self.fields if field_name.lower() == key]

    def index(self, name: str) -> int | None:
        """Position of the first ``name`` field, or ``None``."""
        key = name.lower()
        for position, (field_name, _) in enumerate(self.fields):
            if field_name.lower() == key:
                return position
        return None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.index(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def with_field(self, name: str, value: str) -> Headers:
        """A copy with ``name: value`` appended."""
        return Headers(self.fields + ((name, value),))

    def without(self, name: str) -> Headers:
        key = name.lower()
        return Headers(tuple(f for f in self.fields if f[0].lower() != key))
