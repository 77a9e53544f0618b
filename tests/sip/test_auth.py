"""imkit.sip.auth: Digest (RFC 7616 as used by SIP, RFC 3261 22, RFC 8760).

Expected digests are either the RFC 7616 3.9.1 published values or computed
here with hashlib straight from the RFC formulas, independently of the code.
"""

from __future__ import annotations

import hashlib
import random

import pytest

from imkit.errors import LocalProtocolError
from imkit.sip import Challenge, NameAddr, Request, Response, Via, parse
from imkit.sip.auth import (
    ALGORITHMS,
    AuthVerdict,
    DigestChallenge,
    DigestClient,
    DigestCredentials,
    DigestVerifier,
    answer,
    digest_response,
)
from imkit.sip.builders import make_response, new_request
from imkit.sip.ids import IdGenerator

# RFC 7616 section 3.9.1
RFC_REALM = "http-auth@example.org"
RFC_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC_MD5 = "8ca523f5e9506fed4657c9700eebdbec"
RFC_SHA256 = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _rfc_challenge(algorithm: str) -> DigestChallenge:
    header = (
        f'Digest realm="{RFC_REALM}", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC_NONCE}", opaque="{RFC_OPAQUE}"'
    )
    return DigestChallenge.from_challenge(Challenge.parse(header))


@pytest.mark.parametrize(("algorithm", "expected"), [("MD5", RFC_MD5), ("SHA-256", RFC_SHA256)])
def test_rfc7616_vectors(algorithm: str, expected: str) -> None:
    assert digest_response(
        algorithm=algorithm, username="Mufasa", realm=RFC_REALM, password="Circle of Life",
        method="GET", uri="/dir/index.html", nonce=RFC_NONCE, qop="auth", nc=1, cnonce=RFC_CNONCE,
    ) == expected
    credentials = answer(
        _rfc_challenge(algorithm), username="Mufasa", password="Circle of Life",
        method="GET", uri="/dir/index.html", nc=1, cnonce=RFC_CNONCE,
    )
    assert str(credentials) == (
        f'Digest username="Mufasa", realm="{RFC_REALM}", nonce="{RFC_NONCE}", '
        f'uri="/dir/index.html", response="{expected}", algorithm={algorithm}, '
        f'cnonce="{RFC_CNONCE}", opaque="{RFC_OPAQUE}", qop=auth, nc=00000001'
    )
    back = DigestCredentials.from_challenge(Challenge.parse(str(credentials)))
    assert back == credentials


def test_rfc2069_form_for_a_sip_challenge_without_qop() -> None:
    # RFC 3261 20.44 / 20.7 style values; no qop, so no cnonce or nc (22.4).
    challenge = DigestChallenge.from_challenge(Challenge.parse(
        'Digest realm="atlanta.com", domain="sip:boxesbybob.com", '
        'nonce="84a4cc6f3082121f32b42a2187831a9e", opaque="", stale=FALSE'
    ))
    assert (challenge.algorithm, challenge.qop, challenge.opaque, challenge.stale) == ("MD5", (), "", False)
    credentials = answer(challenge, username="Alice", password="secret", method="INVITE",
                         uri="sip:bob@biloxi.com")
    ha1 = _md5("Alice:atlanta.com:secret")
    ha2 = _md5("INVITE:sip:bob@biloxi.com")
    assert credentials.response == _md5(f"{ha1}:84a4cc6f3082121f32b42a2187831a9e:{ha2}")
    assert str(credentials) == (
        'Digest username="Alice", realm="atlanta.com", nonce="84a4cc6f3082121f32b42a2187831a9e", '
        f'uri="sip:bob@biloxi.com", response="{credentials.response}", opaque=""'
    )


def test_sess_auth_int_and_sha512_256_follow_the_formulas() -> None:
    body = b"v=0\r\n"
    got = digest_response(algorithm="MD5-sess", username="u", realm="r", password="p", method="INVITE",
                          uri="sip:b@h", nonce="N", qop="auth", nc=3, cnonce="C")
    ha1 = _md5(f"{_md5('u:r:p')}:N:C")
    assert got == _md5(f"{ha1}:N:00000003:C:auth:{_md5('INVITE:sip:b@h')}")
    got = digest_response(algorithm="SHA-256", username="u", realm="r", password="p", method="MESSAGE",
                          uri="sip:b@h", nonce="N", qop="auth-int", nc=1, cnonce="C", body=body)
    ha2 = _sha256(f"MESSAGE:sip:b@h:{hashlib.sha256(body).hexdigest()}")
    assert got == _sha256(f"{_sha256('u:r:p')}:N:00000001:C:auth-int:{ha2}")

    if "SHA-512-256" not in ALGORITHMS:
        pytest.skip("this OpenSSL has no SHA-512/256")

    def h512(text: str) -> str:
        return hashlib.new("sha512_256", text.encode()).hexdigest()

    got = digest_response(algorithm="sha-512-256", username="u", realm="r", password="p", method="BYE",
                          uri="sip:b@h", nonce="N", qop="auth", nc=1, cnonce="C")
    assert got == h512(f"{h512('u:r:p')}:N:00000001:C:auth:{h512('BYE:sip:b@h')}")
    with pytest.raises(LocalProtocolError):
        digest_response(algorithm="AKAv1-MD5", username="u", realm="r", password="p", method="BYE",
                        uri="sip:b@h", nonce="N")


def test_userhash_replaces_the_username() -> None:
    challenge = DigestChallenge.from_challenge(Challenge.parse(
        'Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth", userhash=true'))
    credentials = answer(challenge, username="Mufasa", password="p", method="REGISTER",
                         uri="sip:r", cnonce="c")
    assert credentials.username == _sha256("Mufasa:r") and credentials.userhash
    assert credentials.response == digest_response(
        algorithm="SHA-256", username="Mufasa", realm="r", password="p", method="REGISTER",
        uri="sip:r", nonce="n", qop="auth", nc=1, cnonce="c")


def test_only_auth_int_offered() -> None:
    challenge = DigestChallenge.from_challenge(Challenge.parse('Digest realm="r", nonce="n", qop="auth-int"'))
    assert answer(challenge, username="u", password="p", method="M", uri="sip:x", cnonce="c").qop == "auth-int"
    unknown = DigestChallenge.from_challenge(Challenge.parse('Digest realm="r", nonce="n", qop="other"'))
    assert not unknown.supported


# ---------------------------------------------------------------- client and verifier


USERS = {"alice": "wonderland", "bob": "builder"}


def _request(method: str = "INVITE", cseq: int = 1, uri: str = "sip:bob@example.com",
             body: bytes = b"") -> Request:
    return new_request(
        method, uri,
        from_addr=NameAddr.parse("<sip:alice@example.com>;tag=a1"),
        to_addr=NameAddr.parse("<sip:bob@example.com>"),
        call_id="auth-test", cseq=cseq,
        via=Via.parse(f"SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa{cseq}"),
        body=body, content_type="text/plain" if body else None,
    )


def _verifier(**kw: object) -> DigestVerifier:
    options: dict[str, object] = dict(secret=b"test-secret", rng=random.Random(5))
    options.update(kw)
    return DigestVerifier("example.com", USERS.get, **options)  # type: ignore[arg-type]


def _challenge(verifier: DigestVerifier, request: Request, now: float, *, stale: bool = False) -> Response:
    response = make_response(request, verifier.status, to_tag="srv",
                             headers=verifier.challenge_headers(now, stale=stale))
    parsed = parse(bytes(response))
    assert isinstance(parsed, Response)
    return parsed


def _client(password: str = "wonderland", seed: int = 9) -> DigestClient:
    return DigestClient("alice", password, ids=IdGenerator(random.Random(seed)))


def _over_the_wire(request: Request) -> Request:
    parsed = parse(bytes(request))
    assert isinstance(parsed, Request)
    return parsed


def test_challenge_authorize_verify_and_nonce_count() -> None:
    verifier, client = _verifier(), _client()
    first = _request()
    result = verifier.verify(first, now=100.0)
    assert result.verdict is AuthVerdict.MISSING and not result.ok
    challenge = _challenge(verifier, first, 100.0)
    assert challenge.status == 401
    algorithms = [c.param("algorithm") for c in challenge.www_authenticate]
    assert algorithms == ["SHA-256", "MD5"]
    assert client.handle_challenge(challenge) is True
    retry = _over_the_wire(client.authorize(_request(cseq=2)))
    credentials = DigestCredentials.from_challenge(retry.authorization[0])
    assert (credentials.algorithm, credentials.nc, credentials.qop) == ("SHA-256", 1, "auth")
    assert credentials.uri == "sip:bob@example.com"
    assert verifier.verify(retry, now=101.0).verdict is AuthVerdict.OK
    assert verifier.verify(retry, now=101.0).ok is False  # the same nc again
    later = _over_the_wire(client.authorize(_request("BYE", cseq=3)))
    assert DigestCredentials.from_challenge(later.authorization[0]).nc == 2
    result = verifier.verify(later, now=150.0)
    assert result.ok and result.username == "alice"


def test_replayed_nc_is_refused() -> None:
    verifier, client = _verifier(), _client()
    client.handle_challenge(_challenge(verifier, _request(), 0.0))
    signed = _over_the_wire(client.authorize(_request(cseq=2)))
    assert verifier.verify(signed, now=1.0).ok
    replay = verifier.verify(_over_the_wire(signed), now=2.0)
    assert replay.verdict is AuthVerdict.BAD and "replayed" in replay.reason


def test_wrong_password_is_bad_and_the_client_gives_up() -> None:
    verifier, client = _verifier(), _client(password="guess")
    client.handle_challenge(_challenge(verifier, _request(), 0.0))
    signed = _over_the_wire(client.authorize(_request(cseq=2)))
    result = verifier.verify(signed, now=1.0)
    assert result.verdict is AuthVerdict.BAD and result.username == "alice"
    assert client.handle_challenge(_challenge(verifier, signed, 1.0)) is False


def test_unknown_user_is_bad() -> None:
    verifier = _verifier()
    client = DigestClient("mallory", "x", ids=IdGenerator(random.Random(1)))
    client.handle_challenge(_challenge(verifier, _request(), 0.0))
    assert verifier.verify(_over_the_wire(client.authorize(_request(cseq=2))), now=1.0).verdict is AuthVerdict.BAD


def test_expired_nonce_is_stale_and_the_client_retries() -> None:
    verifier, client = _verifier(nonce_lifetime=30.0), _client()
    client.handle_challenge(_challenge(verifier, _request(), 0.0))
    assert verifier.verify(_over_the_wire(client.authorize(_request(cseq=2))), now=10.0).ok
    late = _over_the_wire(client.authorize(_request(cseq=3)))
    result = verifier.verify(late, now=31.0)
    assert result.verdict is AuthVerdict.STALE
    stale = _challenge(verifier, late, 31.0, stale=True)
    assert all(c.param("stale") == "true" for c in stale.www_authenticate)
    assert client.handle_challenge(stale) is True
    again = _over_the_wire(client.authorize(_request(cseq=4)))
    assert DigestCredentials.from_challenge(again.authorization[0]).nc == 1
    assert verifier.verify(again, now=32.0).ok


def test_stale_needs_the_right_password() -> None:
    verifier, client = _verifier(nonce_lifetime=30.0), _client(password="guess")
    client.handle_challenge(_challenge(verifier, _request(), 0.0))
    assert verifier.verify(_over_the_wire(client.authorize(_request(cseq=2))), now=60.0).verdict is AuthVerdict.BAD


def test_forgotten_nonce_is_stale_forged_nonce_is_bad() -> None:
    verifier, client = _verifier(max_nonces=1), _client()
    client.handle_challenge(_challenge(verifier, _request(), 0.0))
    verifier.challenge_headers(1.0)  # a second nonce pushes the first out
    assert verifier.verify(_over_the_wire(client.authorize(_request(cseq=2))), now=2.0).verdict is AuthVerdict.STALE
    other = _verifier(secret=b"another secret")
    forged_client = _client()
    forged_client.handle_challenge(_challenge(other, _request(), 0.0))
    forged = _over_the_wire(forged_client.authorize(_request(cseq=2)))
    result = verifier.verify(forged, now=1.0)
    assert result.verdict is AuthVerdict.BAD


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("uri", '"sip:carol@example.com"', "uri"),
        ("opaque", '"nope"', "opaque"),
        ("algorithm", "SHA-512-256", "algorithm"),
        ("qop", "nonsense", "qop"),
        ("nc", "00000000", "nc"),
        ("nc", "12", "nc"),
    ],
)
def test_tampered_credentials_are_bad(field: str, value: str, reason: str) -> None:
    verifier, client = _verifier(), _client()
    client.handle_challenge(_challenge(verifier, _request(), 0.0))
    signed = client.authorize(_request(cseq=2))
    parsed = Challenge.parse(signed.headers.get("Authorization") or "")
    items = tuple((n, value if n == field else v) for n, v in parsed.items)
    if field not in [n for n, _ in parsed.items]:
        items += ((field, value),)
    signed.headers.set("Authorization", str(Challenge(parsed.scheme, items)))
    result = verifier.verify(_over_the_wire(signed), now=1.0)
    assert result.verdict is AuthVerdict.BAD and reason in result.reason


def test_uri_check_can_be_relaxed_for_a_proxy_path() -> None:
    # RFC 3261 22.4: the Request-URI may be changed by proxies on the way.
    verifier, client = _verifier(check_uri=False), _client()
    client.handle_challenge(_challenge(verifier, _request(), 0.0))
    signed = _over_the_wire(client.authorize(_request(cseq=2)))
    signed.uri = parse(b"X sip:bob@192.0.2.4 SIP/2.0\r\n\r\n").uri  # type: ignore[union-attr]
    assert verifier.verify(signed, now=1.0).ok
    assert not _verifier().verify(signed, now=1.0).ok


def test_equivalent_uri_is_accepted() -> None:
    verifier, client = _verifier(), _client()
    client.handle_challenge(_challenge(verifier, _request(), 0.0))
    signed = _over_the_wire(client.authorize(_request(cseq=2)))
    signed.uri = parse(b"X sip:bob@EXAMPLE.com SIP/2.0\r\n\r\n").uri  # type: ignore[union-attr]
    assert verifier.verify(signed, now=1.0).ok


def test_proxy_authentication_uses_407_headers() -> None:
    verifier, client = _verifier(proxy=True, algorithms=("MD5",)), _client()
    challenge = _challenge(verifier, _request(), 0.0)
    assert challenge.status == 407 and challenge.proxy_authenticate and not challenge.www_authenticate
    assert client.handle_challenge(challenge)
    signed = _over_the_wire(client.authorize(_request(cseq=2)))
    assert "Authorization" not in signed.headers and signed.proxy_authorization
    assert verifier.verify(signed, now=1.0).ok
    assert _verifier().verify(signed, now=1.0).verdict is AuthVerdict.MISSING


def test_client_takes_the_topmost_supported_challenge() -> None:
    request = _request()
    response = make_response(request, 401, to_tag="s", headers=[
        ("WWW-Authenticate", 'Digest realm="example.com", nonce="n1", algorithm=SHA3-256, qop="auth"'),
        ("WWW-Authenticate", 'Digest realm="example.com", nonce="n2", algorithm=MD5, qop="auth"'),
        ("WWW-Authenticate", 'Digest realm="example.com", nonce="n3", algorithm=SHA-256, qop="auth"'),
        ("WWW-Authenticate", 'Basic realm="example.com"'),
    ])
    client = _client()
    assert client.handle_challenge(response)
    signed = client.authorize(_request(cseq=2))
    credentials = DigestCredentials.from_challenge(Challenge.parse(signed.headers.get("Authorization") or ""))
    assert (credentials.nonce, credentials.algorithm) == ("n2", "MD5")


def test_client_answers_every_realm_and_ignores_the_rest() -> None:
    request = _request()
    response = make_response(request, 407, to_tag="s", headers=[
        ("Proxy-Authenticate", 'Digest realm="proxy.example.com", nonce="p1", qop="auth"'),
        ("WWW-Authenticate", 'Digest realm="example.com", nonce="w1", qop="auth"'),
        ("WWW-Authenticate", 'Digest nonce="no-realm"'),
    ])
    client = _client()
    assert client.handle_challenge(response)
    assert client.realms == ["proxy.example.com", "example.com"]
    signed = client.authorize(_request(cseq=2, body=b"hi"))
    names = [r.name for r in signed.headers]
    assert names[-4:] == ["Proxy-Authorization", "Authorization", "Content-Type", "Content-Length"]
    only = DigestClient("alice", "x", realm="example.com", ids=IdGenerator(random.Random(1)))
    assert only.handle_challenge(response) and only.realms == ["example.com"]
    assert not _client().handle_challenge(make_response(request, 403, to_tag="s"))
    assert not _client().handle_challenge(make_response(request, 401, to_tag="s"))


def test_authorize_replaces_old_credentials_and_refuses_ack() -> None:
    verifier, client = _verifier(), _client()
    client.handle_challenge(_challenge(verifier, _request(), 0.0))
    request = client.authorize(_request(cseq=2))
    client.authorize(request)
    assert len(request.headers.fields("Authorization")) == 1
    with pytest.raises(LocalProtocolError):
        client.authorize(_request("ACK", cseq=2))


def test_sess_algorithm_end_to_end_keeps_the_session_key() -> None:
    verifier, client = _verifier(algorithms=("SHA-256-sess",)), _client()
    client.handle_challenge(_challenge(verifier, _request(), 0.0))
    first = _over_the_wire(client.authorize(_request(cseq=2)))
    second = _over_the_wire(client.authorize(_request(cseq=3)))
    cnonces = {DigestCredentials.from_challenge(m.authorization[0]).cnonce for m in (first, second)}
    assert len(cnonces) == 1
    assert verifier.verify(first, now=1.0).ok and verifier.verify(second, now=2.0).ok


def test_auth_int_covers_the_body() -> None:
    # The verifier offers qop=auth; an auth-int answer to its nonce is checked too.
    verifier = _verifier(algorithms=("MD5",))
    nonce = DigestChallenge.from_challenge(
        Challenge.parse(verifier.challenge_headers(0.0)[0][1])).nonce
    offer = DigestChallenge(realm="example.com", nonce=nonce, algorithm="MD5", qop=("auth-int",),
                            opaque=verifier.opaque)
    signed = _request(cseq=2, body=b"hello")
    credentials = answer(offer, username="alice", password="wonderland", method="INVITE",
                         uri=str(signed.uri), nc=1, cnonce="c1", body=b"hello")
    signed.headers.add("Authorization", str(credentials))
    assert verifier.verify(_over_the_wire(signed), now=1.0).ok
    signed.body = b"HELLO"
    assert verifier.verify(signed, now=1.0).verdict is AuthVerdict.BAD


def test_legacy_verifier_without_qop() -> None:
    verifier, client = _verifier(qop=False, algorithms=("MD5",)), _client()
    challenge = _challenge(verifier, _request(), 0.0)
    assert challenge.www_authenticate[0].param("qop") is None
    client.handle_challenge(challenge)
    signed = _over_the_wire(client.authorize(_request(cseq=2)))
    credentials = DigestCredentials.from_challenge(signed.authorization[0])
    assert (credentials.qop, credentials.nc, credentials.cnonce) == (None, None, None)
    assert verifier.verify(signed, now=1.0).ok
    with_qop = _client()
    with_qop.handle_challenge(_challenge(_verifier(), _request(), 0.0))
    assert verifier.verify(_over_the_wire(with_qop.authorize(_request(cseq=2))), now=1.0).verdict is AuthVerdict.BAD


def test_verifier_is_deterministic_with_injected_secret_and_rng() -> None:
    a = _verifier().challenge_headers(12.5)
    b = _verifier().challenge_headers(12.5)
    assert a == b
    assert _verifier().challenge_headers(13.0) != a
    with pytest.raises(LocalProtocolError):
        _verifier(algorithms=("SHA-1",))


def test_malformed_credentials_are_bad_not_errors() -> None:
    verifier = _verifier()
    request = _request()
    request.headers.add("Authorization", 'Digest realm="example.com", username="alice"')
    assert verifier.verify(request, now=0.0).verdict is AuthVerdict.BAD
    other = _request()
    other.headers.add("Authorization", 'Digest realm="elsewhere", username="alice"')
    other.headers.add("Authorization", "Digest ,,,=")
    assert verifier.verify(other, now=0.0).verdict is AuthVerdict.MISSING
