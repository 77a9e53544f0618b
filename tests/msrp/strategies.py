"""Hypothesis strategies for MSRP messages (valid by construction)."""

from __future__ import annotations

from hypothesis import strategies as st

from imkit.msrp import (
    MSRPURI,
    ByteRange,
    Flag,
    Headers,
    MSRPRequest,
    MSRPResponse,
    Status,
)

_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]{1,8}"

tids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.\-+%=]{3,31}", fullmatch=True)
idents = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.\-+%=]{0,20}", fullmatch=True)
hosts = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9\-]{0,8}[a-z0-9])?(\.[a-z]{2,5}){0,2}", fullmatch=True),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
)
# utf8text without control characters, no blanks at either end
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x7f"),
    max_size=30,
).map(str.strip).filter(lambda t: t == t.strip(" \t"))


@st.composite
def msrp_uris(draw: st.DrawFn) -> MSRPURI:
    return MSRPURI(
        scheme=draw(st.sampled_from(["msrp", "msrps", "MSRP"])),
        host=draw(hosts),
        port=draw(st.none() | st.integers(0, 65535)),
        session_id=draw(st.none() | st.from_regex(r"[A-Za-z0-9\-._~+=/]{1,20}", fullmatch=True)),
        transport=draw(st.sampled_from(["tcp", "TCP", "sctp", "ws2"])),
        user=draw(st.none() | st.from_regex(r"[a-z0-9.]{1,8}", fullmatch=True)),
        params=tuple(draw(st.lists(st.tuples(st.from_regex(_TOKEN, fullmatch=True),
                                             st.none() | st.from_regex(_TOKEN, fullmatch=True)),
                                   max_size=2))),
    )


paths = st.lists(msrp_uris(), min_size=1, max_size=3).map(lambda us: " ".join(map(str, us)))


@st.composite
def byte_ranges(draw: st.DrawFn) -> ByteRange:
    start = draw(st.integers(1, 10**6))
    end = draw(st.none() | st.integers(start - 1, start + 10**6))
    floor = end if end is not None else start - 1
    total = draw(st.none() | st.integers(floor, floor + 10**6))
    return ByteRange(start, end, total)


@st.composite
def header_fields(draw: st.DrawFn, body: bool) -> Headers:
    fields = [("To-Path", draw(paths)), ("From-Path", draw(paths))]
    optional = [
        ("Message-ID", idents),
        ("Byte-Range", byte_ranges().map(str)),
        ("Success-Report", st.sampled_from(["yes", "no"])),
        ("Failure-Report", st.sampled_from(["yes", "no", "partial"])),
        ("Status", st.builds(Status, st.integers(100, 999), st.none() | texts.filter(bool),
                             st.integers(0, 999)).map(str)),
        ("X-Extra", texts),
        ("Content-Disposition", st.just("inline")),
    ]
    for name, values in optional:
        if draw(st.booleans()):
            fields.append((name, draw(values)))
    if body or draw(st.booleans()):
        fields.append(("Content-Type", draw(st.sampled_from(["text/plain", "message/cpim",
                                                              "application/octet-stream"]))))
    return Headers(tuple(fields))


def _bodies(tid: str) -> st.SearchStrategy[bytes]:
    # random bytes, and bodies made of pieces of this request's own end-line
    pieces = st.sampled_from([b"\r\n", b"-------", tid.encode(), b"$", b"+", b"#", b"x", b"\r"])
    near_misses = st.lists(pieces, max_size=12).map(b"".join)
    return st.one_of(st.binary(max_size=300), near_misses)


@st.composite
def requests(draw: st.DrawFn) -> MSRPRequest:
    tid = draw(tids)
    body = draw(st.none() | _bodies(tid))
    headers = draw(header_fields(body is not None))
    method = draw(st.sampled_from(["SEND", "REPORT", "AUTH", "NICKNAME"]) | st.from_regex(r"[A-Z]{1,10}", fullmatch=True))
    flag = draw(st.sampled_from(list(Flag)))
    marker = b"\r\n-------" + tid.encode()
    # a body may not hold its own end-line (RFC 4975 section 7.1)
    while body is not None and any(marker + f in body for f in (b"$", b"+", b"#")):
        body = body.replace(marker, b"")
    return MSRPRequest(tid, method, headers, body, flag)


@st.composite
def responses(draw: st.DrawFn) -> MSRPResponse:
    return MSRPResponse(draw(tids), draw(st.integers(100, 999)), draw(st.none() | texts),
                        draw(header_fields(False)), draw(st.sampled_from(list(Flag))))


messages = st.one_of(requests(), responses())
