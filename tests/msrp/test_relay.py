"""The sans-IO client side of RFC 4976 AUTH: bytes out, responses in, a fake clock."""

from __future__ import annotations

import hashlib
import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imkit.errors import LocalProtocolError
from imkit.msrp import MSRPURI, MSRPRequest, MSRPResponse, parse
from imkit.msrp.relay import (
    RelayAuth,
    RelayAuthError,
    RelayAuthRejected,
    RelayAuthState,
    RelayAuthTimeout,
    RelayGrant,
    RelayIntervalRejected,
)

RELAY = "msrp://relay.example.com:2855;tcp"
ME = "msrp://127.0.0.1:40000/me1234;tcp"
USE_PATH = "msrp://relay.example.com:2855/msrp-1a2b-1;tcp"


def client(**options: object) -> RelayAuth:
    return RelayAuth(RELAY, ME, "alice", "alice-secret", rng=random.Random(7), **options)  # type: ignore[arg-type]


def respond(request: MSRPRequest, status: str, *fields: str) -> MSRPResponse:
    """The relay's answer, as bytes parsed back (Kamailio's layout)."""
    raw = (f"MSRP {request.transaction_id} {status}\r\nTo-Path: {ME}\r\nFrom-Path: {RELAY}\r\n"
           + "".join(f"{field}\r\n" for field in fields)
           + f"-------{request.transaction_id}$\r\n").encode()
    message = parse(raw)
    assert isinstance(message, MSRPResponse)
    return message


def params(value: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', value)}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def challenged(auth: RelayAuth, challenge: str, now: float = 1.0) -> MSRPRequest:
    first = auth.start(0.0)
    second = auth.receive(respond(first, "401 Unauthorized", f"WWW-Authenticate: {challenge}"), now)
    assert isinstance(second, MSRPRequest)
    return second


def test_first_auth_bytes() -> None:
    request = client().start(0.0)
    tid = request.transaction_id
    assert bytes(request) == (f"MSRP {tid} AUTH\r\nTo-Path: {RELAY}\r\nFrom-Path: {ME}\r\n"
                              f"-------{tid}$\r\n").encode()
    assert parse(bytes(request)) == request


def test_expires_is_asked_for() -> None:
    raw = bytes(client(expires=600).start(0.0))
    assert b"\r\nExpires: 600\r\n" in raw and b"Authorization" not in raw


def test_digest_without_qop_is_rfc_2069_over_auth_and_the_relay_uri() -> None:
    auth = client()
    second = challenged(auth, 'Digest realm="example.com", nonce="n0nce/+="')
    assert second.method == "AUTH" and second.body is None
    assert [str(u) for u in second.to_path] == [RELAY] and [str(u) for u in second.from_path] == [ME]
    value = second.headers.get("Authorization")
    assert value is not None and value.startswith("Digest ")
    got = params(value)
    ha1 = md5("alice:example.com:alice-secret")
    ha2 = md5(f"AUTH:{RELAY}")
    assert got["username"] == "alice" and got["realm"] == "example.com"
    assert got["uri"] == RELAY and got["nonce"] == "n0nce/+="
    assert got["response"] == md5(f"{ha1}:n0nce/+=:{ha2}")
    assert "qop" not in got and "cnonce" not in got
    assert auth.state is RelayAuthState.WAITING


def test_digest_with_qop_auth() -> None:
    second = challenged(client(), 'Digest realm="r", nonce="abc", qop="auth,auth-int", opaque="op"')
    got = params(second.headers.get("Authorization") or "")
    assert got["qop"] == "auth" and got["nc"] == "00000001" and got["opaque"] == "op"
    ha1 = md5("alice:r:alice-secret")
    ha2 = md5(f"AUTH:{RELAY}")
    assert got["response"] == md5(f"{ha1}:abc:00000001:{got['cnonce']}:auth:{ha2}")


def test_200_gives_use_path_and_expires() -> None:
    auth = client()
    second = challenged(auth, 'Digest realm="r", nonce="abc"')
    grant = auth.receive(respond(second, "200 OK", f"Use-Path: {USE_PATH}", "Expires: 3600"), 5.0)
    assert isinstance(grant, RelayGrant)
    assert grant.use_path == (MSRPURI.parse(USE_PATH),)
    assert grant.expires == 3600 and grant.expires_at == 3605.0
    assert grant.local_path(MSRPURI.parse(ME)) == (MSRPURI.parse(USE_PATH), MSRPURI.parse(ME))
    assert auth.state is RelayAuthState.AUTHENTICATED and auth.grant == grant
    assert auth.next_deadline() is None


def test_200_at_once_and_without_expires() -> None:
    auth = client()
    first = auth.start(0.0)
    grant = auth.receive(respond(first, "200 OK", f"Use-Path: {USE_PATH} {USE_PATH.replace('1a2b', 'ffff')}"), 1.0)
    assert isinstance(grant, RelayGrant) and len(grant.use_path) == 2
    assert grant.expires is None and grant.expires_at is None


def test_refresh_after_the_grant() -> None:
    auth = client()
    first = auth.start(0.0)
    auth.receive(respond(first, "200 OK", f"Use-Path: {USE_PATH}"), 1.0)
    again = auth.start(100.0)
    assert again.method == "AUTH" and again.transaction_id != first.transaction_id
    assert auth.state is RelayAuthState.WAITING and auth.next_deadline() == 130.0
    with pytest.raises(LocalProtocolError):
        auth.start(101.0)


def test_credentials_refused() -> None:
    auth = client()
    second = challenged(auth, 'Digest realm="r", nonce="abc"')
    with pytest.raises(RelayAuthRejected) as caught:
        auth.receive(respond(second, "401 Unauthorized", 'WWW-Authenticate: Digest realm="r", nonce="new"'), 2.0)
    assert caught.value.code == 401
    assert auth.state is RelayAuthState.FAILED


def test_stale_nonce_gets_one_more_try() -> None:
    auth = client()
    second = challenged(auth, 'Digest realm="r", nonce="old"')
    third = auth.receive(respond(second, "401 Unauthorized",
                                 'WWW-Authenticate: Digest realm="r", nonce="fresh", stale=true'), 2.0)
    assert isinstance(third, MSRPRequest)
    assert params(third.headers.get("Authorization") or "")["nonce"] == "fresh"
    with pytest.raises(RelayAuthRejected):
        auth.receive(respond(third, "401 Unauthorized",
                             'WWW-Authenticate: Digest realm="r", nonce="fresher", stale=true'), 3.0)


def test_403_is_a_refusal() -> None:
    auth = client()
    with pytest.raises(RelayAuthRejected) as caught:
        auth.receive(respond(auth.start(0.0), "403 Forbidden"), 1.0)
    assert caught.value.code == 403 and caught.value.reason == "Forbidden"


def test_423_says_the_bounds() -> None:
    auth = client(expires=5)
    with pytest.raises(RelayIntervalRejected) as caught:
        auth.receive(respond(auth.start(0.0), "423 Interval Out Of Bounds", "Min-Expires: 60"), 1.0)
    assert caught.value.code == 423
    assert caught.value.min_expires == 60 and caught.value.max_expires is None


@pytest.mark.parametrize("fields", [
    (),                                            # no challenge at all
    ('WWW-Authenticate: Basic realm="r"',),        # not Digest
    ('WWW-Authenticate: Digest realm="r"',),       # no nonce
    ('WWW-Authenticate: Digest realm="r", nonce="n", algorithm=SHA-1',),  # unknown algorithm
])
def test_unusable_challenges(fields: tuple[str, ...]) -> None:
    auth = client()
    with pytest.raises(RelayAuthError) as caught:
        auth.receive(respond(auth.start(0.0), "401 Unauthorized", *fields), 1.0)
    assert caught.value.code == 401 and "no usable Digest challenge" in caught.value.reason


def test_usable_challenge_after_an_unusable_one() -> None:
    auth = client()
    second = auth.receive(respond(auth.start(0.0), "401 Unauthorized", 'WWW-Authenticate: Basic realm="r"',
                                  'WWW-Authenticate: Digest realm="r", nonce="n"'), 1.0)
    assert isinstance(second, MSRPRequest) and "Authorization" in second.headers


@pytest.mark.parametrize(("fields", "what"), [
    (("Expires: 3600",), "no Use-Path"),
    ((f"Use-Path: {USE_PATH}", "Expires: soon"), "Expires is not a number"),
])
def test_malformed_200(fields: tuple[str, ...], what: str) -> None:
    auth = client()
    with pytest.raises(RelayAuthError) as caught:
        auth.receive(respond(auth.start(0.0), "200 OK", *fields), 1.0)
    assert what in caught.value.reason
    assert auth.state is RelayAuthState.FAILED


def test_other_errors_keep_their_code() -> None:
    auth = client()
    with pytest.raises(RelayAuthError) as caught:
        auth.receive(respond(auth.start(0.0), "500 Server Error"), 1.0)
    assert caught.value.code == 500 and caught.value.reason == "Server Error"


def test_responses_to_other_transactions_are_ignored() -> None:
    auth = client()
    first = auth.start(0.0)
    other = MSRPRequest.create("AUTH", to_path=[RELAY], from_path=[ME], transaction_id="other1")
    assert auth.receive(respond(other, "200 OK", f"Use-Path: {USE_PATH}"), 1.0) is None
    assert auth.state is RelayAuthState.WAITING
    assert isinstance(auth.receive(respond(first, "200 OK", f"Use-Path: {USE_PATH}"), 1.0), RelayGrant)
    # and nothing is taken once authenticated
    assert auth.receive(respond(first, "200 OK", f"Use-Path: {USE_PATH}"), 2.0) is None


def test_timeout() -> None:
    auth = client(timeout=5.0)
    auth.start(10.0)
    assert auth.next_deadline() == 15.0
    auth.handle_timer(14.9)
    assert auth.state is RelayAuthState.WAITING
    with pytest.raises(RelayAuthTimeout) as caught:
        auth.handle_timer(15.0)
    assert caught.value.code == 408
    assert auth.state is RelayAuthState.FAILED and auth.next_deadline() is None
    auth.handle_timer(99.0)  # nothing left to time out


def test_bad_arguments() -> None:
    with pytest.raises(LocalProtocolError):
        RelayAuth(RELAY, ME, "a", "b", expires=-1)
    with pytest.raises(LocalProtocolError):
        RelayAuth(RELAY, ME, "a", "b", timeout=0)


@given(code=st.integers(100, 999), reason=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e),
                                                   min_size=1, max_size=20).map(str.strip).filter(bool))
def test_any_status_grants_asks_again_or_raises_a_relay_error(code: int, reason: str) -> None:
    auth = client()
    first = auth.start(0.0)
    response = MSRPResponse.answering(first, code, reason, local_uri=RELAY,
                                      headers=[("WWW-Authenticate", 'Digest realm="r", nonce="n"'),
                                               ("Use-Path", USE_PATH)])
    try:
        step = auth.receive(response, 1.0)
    except RelayAuthError as exc:
        assert exc.code == code and auth.state is RelayAuthState.FAILED
    else:
        assert (code, type(step)) in ((200, RelayGrant), (401, MSRPRequest))
