"""Generic ``;name=value`` parameters and quoted strings (RFC 3261 section 25.1).

Used by header values (Via, Contact, Content-Type, ...) and by SIP URIs.
Parameters keep their order and their names' spelling; names compare
case-insensitively.  A parameter may have no value (``;lr``, ``;rport``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator, TypeVar

from imkit.sip.errors import ParseError

K = TypeVar("K")
V = TypeVar("V")


def unquote(text: str) -> str:
    """Remove the quotes and backslash escapes of a ``quoted-string``."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        body = text[1:-1]
        out: list[str] = []
        i = 0
        while i < len(body):
            ch = body[i]
            if ch == "\\" and i + 1 < len(body):
                i += 1
                ch = body[i]
            out.append(ch)
            i += 1
        return "".join(out)
    return text


def quote(text: str) -> str:
    """Make a ``quoted-string`` of ``text``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split on ``separator`` where it is outside double quotes and ``<>``."""
    if '"' not in text and "<" not in text:
        # Nothing can hide a separator: a plain split gives the same items.
        return text.split(separator)
    items: list[str] = []
    quoted = False
    depth = 0
    start = 0
    i = 0
    while i < len(text):
        ch = text[i]
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
        elif ch == separator and depth == 0:
            items.append(text[start:i])
            start = i + 1
        i += 1
    if quoted:
        raise ParseError("unterminated quoted string", len(text))
    items.append(text[start:])
    return items


@dataclass(frozen=True, slots=True)
class Params:
    """An ordered list of ``(name, value)`` pairs; ``value`` is ``None`` for a flag."""

    items: tuple[tuple[str, str | None], ...] = ()

    @classmethod
    def parse(cls, text: str) -> "Params":
        """Parse ``a=1;b;c="x y"`` (no leading semicolon)."""
        if _FAST_PARAMS_RE.fullmatch(text) is not None:
            return make_params(text)
        if not text.strip():
            return cls()
        items: list[tuple[str, str | None]] = []
        for part in split_outside_quotes(text, ";"):
            part = part.strip()
            if not part:
                raise ParseError("empty parameter", 0)
            name, eq, value = part.partition("=")
            name = name.strip()
            if not name:
                raise ParseError("parameter without a name", 0)
            items.append((name, value.strip() if eq else None))
        return cls(tuple(items))

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str | None]] = (), **kw: str | None) -> "Params":
        return cls(tuple(pairs) + tuple((k.replace("_", "-"), v) for k, v in kw.items()))

    def __iter__(self) -> Iterator[tuple[str, str | None]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    # Names compare case-insensitively; ``n == name`` first spares the
    # lower-casing in the usual case of the same spelling.
    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        lowered = name.lower()
        for n, _ in self.items:
            if n == name or n.lower() == lowered:
                return True
        return False

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of ``name`` (unquoted), ``default`` when absent; a flag gives ``""``."""
        lowered = name.lower()
        for n, v in self.items:
            if n == name or n.lower() == lowered:
                return "" if v is None else unquote(v)
        return default

    def raw(self, name: str) -> str | None:
        """The value of ``name`` as written (quotes kept)."""
        lowered = name.lower()
        for n, v in self.items:
            if n == name or n.lower() == lowered:
                return v
        return None

    def with_param(self, name: str, value: str | None = None) -> "Params":
        """A copy with ``name`` set (replaced in place, or appended)."""
        lowered = name.lower()
        replaced = False
        items: list[tuple[str, str | None]] = []
        for n, v in self.items:
            if n.lower() == lowered:
                if not replaced:
                    items.append((name, value))
                    replaced = True
            else:
                items.append((n, v))
        if not replaced:
            items.append((name, value))
        return _params(tuple(items))

    def without(self, name: str) -> "Params":
        lowered = name.lower()
        return _params(tuple([(n, v) for n, v in self.items if n.lower() != lowered]))

    def __str__(self) -> str:
        return "".join(f";{n}" if v is None else f";{n}={v}" for n, v in self.items)


# -- fast path -------------------------------------------------------------
# ``name`` and ``name=value`` items with no white space, no empty item and
# no ";" inside a quoted value: Params.parse reads such a text to the items
# its plain ";" and "=" splits give.  Anything else takes the exact path.
# The fast patterns of this module, uri.py, address.py and values.py use
# possessive quantifiers ("++", "*+"): they never backtrack into a run, so
# a match is found in one pass or not at all (the exact path then decides).

#: RFC 3261 25.1 token, for patterns that embed one.
FAST_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]++"
#: A parameter value on the fast path: token characters and the others that
#: hosts, IPv4 addresses and URIs in values use, or a quoted string without
#: escapes or ";".
_FAST_VALUE = r"""(?:[A-Za-z0-9\-.!%*_+`'~:\[\]/@&$?]++|"[^"\\;\r\n]*+")"""
#: ``;name[=value]`` repeated; for patterns that embed a parameter list.
FAST_PARAMS = rf"(?:;{FAST_TOKEN}(?:={_FAST_VALUE})?+)*+"
_FAST_PARAMS_RE = re.compile(rf"{FAST_TOKEN}(?:={_FAST_VALUE})?+{FAST_PARAMS}")

# -- memos -----------------------------------------------------------------
# The same header values come back message after message (the From, To,
# Call-ID and Via of a dialog or transaction, CSeq, Max-Forwards ...).  The
# parsers of the hot header values remember what they read, by text: their
# values are immutable, so handing the same one out again is safe, and a
# text that failed is never remembered (it is parsed, and fails, again).

#: Entries per memo; a full memo is emptied, so hostile input cannot grow it.
MEMO_LIMIT = 2048
#: Longer texts are not remembered (bounds the memory a memo holds).
MEMO_MAX_TEXT = 512


def remember(memo: dict[K, V], key: K, value: V) -> V:
    """Store ``value`` under ``key`` in a bounded memo; return ``value``."""
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = value
    return value


def builder_for(cls: type) -> type:
    """A plain class with the slots of the frozen dataclass ``cls``.

    An instance filled in with plain attribute sets and then given ``cls`` as
    its class (the layouts are the same, so Python allows the assignment) is
    the object ``cls(...)`` would build, without the frozen ``__init__``'s
    ``object.__setattr__`` per field.  The parsers' fast paths build their
    values this way; a value stays immutable once it has its class.
    """
    return type(f"_{cls.__name__}Builder", (), {"__slots__": vars(cls)["__slots__"]})


_ParamsBuilder = builder_for(Params)
_EMPTY = Params()


def _params(items: tuple[tuple[str, str | None], ...]) -> Params:
    """``Params(items)``, built without the dataclass ``__init__``."""
    params = _ParamsBuilder()
    params.items = items
    params.__class__ = Params
    return params


def make_params(text: str) -> Params:
    """The :class:`Params` of a text matched by the fast path (no leading
    ";"), built without the dataclass ``__init__``."""
    if not text:
        return _EMPTY
    params = _ParamsBuilder()
    if ";" in text:
        params.items = tuple([
            (name, value if eq else None)
            for piece in text.split(";")
            for name, eq, value in (piece.partition("="),)
        ])
    else:
        name, eq, value = text.partition("=")
        params.items = ((name, value if eq else None),)
    params.__class__ = Params
    return params
