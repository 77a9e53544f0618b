"""Digest authentication for SIP (RFC 3261 section 22, RFC 7616, RFC 8760).

Client side: :class:`DigestClient` reads the challenges of a 401/407
(WWW-Authenticate / Proxy-Authenticate), remembers one per realm and adds
Authorization / Proxy-Authorization to the next requests, counting ``nc`` per
nonce.  Algorithms MD5, SHA-256 and SHA-512-256 and their ``-sess`` variants
(RFC 8760 section 2.1); ``qop=auth`` (or ``auth-int``), and the RFC 2069
form without qop when the challenge offers none (RFC 3261 22.4).

Server side: :class:`DigestVerifier` issues challenges and checks credentials,
returning an :class:`AuthVerdict`.  Its nonces carry their issue time and an
HMAC under the verifier's secret, so a nonce it never issued is recognised;
it remembers the ``nc`` values seen per nonce (bounded) to refuse replays.
Time is an argument (``now``); randomness comes from an injectable source.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import struct
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from imkit.errors import LocalProtocolError
from imkit.sip.errors import ParseError
from imkit.sip.headers import Field, Headers
from imkit.sip.ids import IdGenerator, RandomSource
from imkit.sip.message import Request, Response
from imkit.sip.params import quote
from imkit.sip.uri import SipURI, parse_uri
from imkit.sip.values import Challenge

__all__ = [
    "ALGORITHMS", "AuthResult", "AuthVerdict", "DigestChallenge", "DigestClient",
    "DigestCredentials", "DigestVerifier", "answer", "digest_response",
]


def _sha512_256() -> "hashlib._Hash":
    return hashlib.new("sha512_256")


#: RFC 8760 2.1: "MD5, SHA-512-256, SHA-256" and the "-sess" variants
#: (SHA-512-256 when the OpenSSL under hashlib has it).
ALGORITHMS: dict[str, Callable[[], "hashlib._Hash"]] = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
}
if "sha512_256" in hashlib.algorithms_available:
    ALGORITHMS["SHA-512-256"] = _sha512_256
_QOPS = ("auth", "auth-int")
#: distinct nc values remembered per nonce; past this the nonce is made stale
MAX_NC_PER_NONCE = 256


def _base_algorithm(name: str) -> tuple[str, bool] | None:
    """``("SHA-256", True)`` for "SHA-256-sess"; ``None`` if unsupported."""
    upper = name.upper()
    session = upper.endswith("-SESS")
    base = upper[:-5] if session else upper
    return (base, session) if base in ALGORITHMS else None


def _h(algorithm: str, data: str | bytes) -> str:
    hasher = ALGORITHMS[algorithm]()
    hasher.update(data.encode("utf-8") if isinstance(data, str) else data)
    return hasher.hexdigest()


def digest_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: int | None = None,
    cnonce: str | None = None,
    body: bytes = b"",
) -> str:
    """The ``response`` value (RFC 7616 3.4.1; RFC 2069 when ``qop`` is None)."""
    parsed = _base_algorithm(algorithm)
    if parsed is None:
        raise LocalProtocolError(f"unsupported digest algorithm {algorithm!r}")
    base, session = parsed
    # RFC 7616 3.4.2: A1 = unq(username) ":" unq(realm) ":" passwd
    ha1 = _h(base, f"{username}:{realm}:{password}")
    if session:
        if cnonce is None:
            raise LocalProtocolError("a -sess algorithm needs a cnonce")
        # "A1 = H( unq(username) ":" unq(realm) ":" passwd ) ":" unq(nonce-prime) ":" unq(cnonce-prime)"
        ha1 = _h(base, f"{ha1}:{nonce}:{cnonce}")
    if qop == "auth-int":
        # RFC 7616 3.4.3: A2 = Method ":" request-uri ":" H(entity-body); RFC 3261 22.4:
        # an empty body hashes as the empty string.
        ha2 = _h(base, f"{method}:{uri}:{_h(base, body)}")
    else:
        # "If the qop parameter's value is "auth" or is unspecified, then A2 is: A2 = Method ":" request-uri"
        ha2 = _h(base, f"{method}:{uri}")
    if qop is None:
        # RFC 2069 (kept by RFC 3261 22.4 for compatibility): KD(H(A1), nonce ":" H(A2))
        return _h(base, f"{ha1}:{nonce}:{ha2}")
    if qop not in _QOPS or nc is None or cnonce is None:
        raise LocalProtocolError(f"qop {qop!r} needs nc and cnonce")
    # "response = <"> < KD ( H(A1), unq(nonce) ":" nc ":" unq(cnonce) ":" unq(qop) ":" H(A2) ) <">"
    return _h(base, f"{ha1}:{nonce}:{nc:08x}:{cnonce}:{qop}:{ha2}")


@dataclass(frozen=True, slots=True)
class DigestChallenge:
    """One Digest challenge (RFC 7616 3.3)."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    userhash: bool = False
    #: whether the challenge named its algorithm (credentials echo it only then)
    algorithm_given: bool = True

    @classmethod
    def from_challenge(cls, challenge: Challenge) -> "DigestChallenge":
        if challenge.scheme.lower() != "digest":
            raise ParseError(f"not a Digest challenge: {challenge.scheme}", 0)
        realm, nonce = challenge.param("realm"), challenge.param("nonce")
        if realm is None or nonce is None:
            raise ParseError("Digest challenge without realm or nonce", 0)
        algorithm = challenge.param("algorithm")
        qop = challenge.param("qop")
        return cls(
            realm=realm,
            nonce=nonce,
            # RFC 7616 3.3: "If the algorithm parameter is not present, it is assumed to be "MD5"."
            algorithm=algorithm or "MD5",
            qop=tuple(q.strip().lower() for q in qop.split(",") if q.strip()) if qop else (),
            opaque=challenge.param("opaque"),
            stale=(challenge.param("stale") or "").lower() == "true",
            userhash=(challenge.param("userhash") or "").lower() == "true",
            algorithm_given=algorithm is not None,
        )

    @property
    def supported(self) -> bool:
        return _base_algorithm(self.algorithm) is not None and (
            not self.qop or any(q in _QOPS for q in self.qop)
        )

    def __str__(self) -> str:
        parts = [f"realm={quote(self.realm)}", f"nonce={quote(self.nonce)}"]
        if self.opaque is not None:
            parts.append(f"opaque={quote(self.opaque)}")
        if self.stale:
            parts.append("stale=true")
        if self.algorithm_given:
            parts.append(f"algorithm={self.algorithm}")
        if self.qop:
            parts.append(f"qop={quote(','.join(self.qop))}")
        if self.userhash:
            parts.append("userhash=true")
        return "Digest " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """An Authorization / Proxy-Authorization Digest value (RFC 7616 3.4)."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str | None = None
    cnonce: str | None = None
    nc: int | None = None
    qop: str | None = None
    opaque: str | None = None
    userhash: bool = False

    @classmethod
    def from_challenge(cls, value: Challenge) -> "DigestCredentials":
        if value.scheme.lower() != "digest":
            raise ParseError(f"not Digest credentials: {value.scheme}", 0)
        required = {n: value.param(n) for n in ("username", "realm", "nonce", "uri", "response")}
        missing = [n for n, v in required.items() if v is None]
        if missing:
            raise ParseError(f"Digest credentials lack {', '.join(missing)}", 0)
        nc_text = value.param("nc")
        nc: int | None = None
        if nc_text is not None:
            # RFC 7616 3.4: "nc-value = 8LHEX"
            if len(nc_text) != 8 or any(c not in "0123456789abcdefABCDEF" for c in nc_text):
                raise ParseError(f"malformed nc {nc_text[:20]!r}", 0)
            nc = int(nc_text, 16)
        return cls(
            username=required["username"] or "",
            realm=required["realm"] or "",
            nonce=required["nonce"] or "",
            uri=required["uri"] or "",
            response=required["response"] or "",
            algorithm=value.param("algorithm"),
            cnonce=value.param("cnonce"),
            nc=nc,
            qop=(value.param("qop") or "").lower() or None,
            opaque=value.param("opaque"),
            userhash=(value.param("userhash") or "").lower() == "true",
        )

    def __str__(self) -> str:
        # RFC 7616 3.4: "a sender MUST only generate the quoted string syntax" for
        # username, realm, nonce, uri, response, cnonce and opaque, and "MUST NOT
        # generate the quoted string syntax" for algorithm, qop and nc.
        parts = [
            f"username={quote(self.username)}",
            f"realm={quote(self.realm)}",
            f"nonce={quote(self.nonce)}",
            f"uri={quote(self.uri)}",
            f"response={quote(self.response)}",
        ]
        if self.algorithm is not None:
            parts.append(f"algorithm={self.algorithm}")
        if self.cnonce is not None:
            parts.append(f"cnonce={quote(self.cnonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={quote(self.opaque)}")
        if self.qop is not None:
            parts.append(f"qop={self.qop}")
        if self.nc is not None:
            parts.append(f"nc={self.nc:08x}")
        if self.userhash:
            parts.append("userhash=true")
        return "Digest " + ", ".join(parts)


def answer(
    challenge: DigestChallenge,
    *,
    username: str,
    password: str,
    method: str,
    uri: str,
    nc: int = 1,
    cnonce: str | None = None,
    body: bytes = b"",
) -> DigestCredentials:
    """Credentials answering ``challenge`` for one request."""
    parsed = _base_algorithm(challenge.algorithm)
    if parsed is None:
        raise LocalProtocolError(f"unsupported digest algorithm {challenge.algorithm!r}")
    if challenge.qop:
        # RFC 8760 / RFC 7616: prefer "auth"; "auth-int" only when it is all that is offered
        qop: str | None = "auth" if "auth" in challenge.qop else "auth-int"
        if qop not in challenge.qop:
            raise LocalProtocolError(f"no supported qop in {challenge.qop}")
    else:
        qop = None
    if (qop is not None or parsed[1]) and cnonce is None:
        raise LocalProtocolError("a cnonce is needed")
    response = digest_response(
        algorithm=challenge.algorithm, username=username, realm=challenge.realm,
        password=password, method=method, uri=uri, nonce=challenge.nonce,
        qop=qop, nc=nc if qop else None, cnonce=cnonce, body=body,
    )
    shown_user = username
    if challenge.userhash:
        # RFC 7616 3.4.4: username = H( unq(username) ":" unq(realm) )
        shown_user = _h(parsed[0], f"{username}:{challenge.realm}")
    return DigestCredentials(
        username=shown_user, realm=challenge.realm, nonce=challenge.nonce, uri=uri,
        response=response,
        # RFC 7616 3.4: "The values of the opaque and algorithm fields must be those
        # supplied in the WWW-Authenticate response header field"
        algorithm=challenge.algorithm if challenge.algorithm_given else None,
        cnonce=cnonce if (qop is not None or parsed[1]) else None,
        nc=nc if qop else None, qop=qop, opaque=challenge.opaque,
        userhash=challenge.userhash,
    )


# ------------------------------------------------------------------ client


@dataclass(slots=True)
class _RealmState:
    challenge: DigestChallenge
    proxy: bool
    nc: int = 0
    answered: bool = False
    session_cnonce: str | None = None


class DigestClient:
    """Answers challenges for one user (RFC 3261 22.2, 22.3).

    :meth:`handle_challenge` takes a 401 or 407 and says whether a retry with
    credentials makes sense; :meth:`authorize` adds credentials for every realm
    seen so far to a request (the retry, and later requests: "a UAC MAY
    pre-emptively include credentials", RFC 3261 22.3 via the nonce's reuse).
    """

    def __init__(
        self,
        username: str,
        password: str,
        *,
        ids: IdGenerator | None = None,
        realm: str | None = None,
        max_realms: int = 16,
    ) -> None:
        self.username = username
        self.password = password
        self.ids = ids or IdGenerator()
        #: answer only this realm when set
        self.realm = realm
        self.max_realms = max_realms
        self._realms: OrderedDict[str, _RealmState] = OrderedDict()

    @property
    def realms(self) -> list[str]:
        return list(self._realms)

    def handle_challenge(self, response: Response) -> bool:
        """Record the Digest challenges of a 401/407.  False when there is
        nothing to answer or the credentials were refused: a realm we already
        answered is challenged again without ``stale=true`` (RFC 7616 3.3:
        stale "If stale is false or absent, the username and/or password are
        invalid")."""
        if response.status not in (401, 407):
            return False
        offered: OrderedDict[str, tuple[DigestChallenge, bool]] = OrderedDict()
        for proxy, rows in ((True, response.proxy_authenticate), (False, response.www_authenticate)):
            for raw in rows:
                try:
                    challenge = DigestChallenge.from_challenge(raw)
                except ParseError:
                    continue
                if self.realm is not None and challenge.realm != self.realm:
                    continue
                # RFC 8760 2.4: the UAC uses "the topmost header field that it supports"
                if challenge.supported and challenge.realm not in offered:
                    offered[challenge.realm] = (challenge, proxy)
        if not offered:
            return False
        for realm, (challenge, proxy) in offered.items():
            known = self._realms.get(realm)
            if known is not None and known.answered and not challenge.stale:
                del self._realms[realm]
                return False
        for realm, (challenge, proxy) in offered.items():
            self._realms.pop(realm, None)
            self._realms[realm] = _RealmState(challenge, proxy)
            while len(self._realms) > self.max_realms:
                self._realms.popitem(last=False)
        return True

    def authorize(self, request: Request) -> Request:
        """Replace the request's Digest credentials by fresh ones for every
        known realm (next ``nc``, new ``cnonce``); returns the request."""
        if request.method in ("ACK", "CANCEL"):
            # RFC 3261 22.1: ACK and CANCEL cannot be challenged; the ACK of a 2xx
            # carries the INVITE's credentials (13.2.2.4).
            raise LocalProtocolError(f"{request.method} reuses the credentials of the request it refers to")
        rows = [r for r in request.headers if r.key not in ("authorization", "proxy-authorization")]
        added = []
        for state in self._realms.values():
            state.nc += 1
            session = (_base_algorithm(state.challenge.algorithm) or ("", False))[1]
            if session:
                # -sess: H(A1) is fixed by the first cnonce after the challenge (RFC 7616 3.4.2)
                if state.session_cnonce is None:
                    state.session_cnonce = self.ids.cnonce()
                cnonce = state.session_cnonce
            else:
                cnonce = self.ids.cnonce()
            credentials = answer(
                state.challenge, username=self.username, password=self.password,
                method=request.method, uri=str(request.uri), nc=state.nc,
                cnonce=cnonce, body=request.body,
            )
            state.answered = True
            name = "Proxy-Authorization" if state.proxy else "Authorization"
            added.append((name, str(credentials)))
        position = next(
            (i for i, r in enumerate(rows) if r.key in ("content-type", "content-length")), len(rows)
        )
        fields = [Field(n, v) for n, v in added]
        request.headers = Headers(rows[:position] + fields + rows[position:])
        return request


# ------------------------------------------------------------------ verifier


class AuthVerdict(enum.Enum):
    OK = "ok"
    #: the credentials are right but the nonce expired or is no longer known: challenge with stale=true
    STALE = "stale"
    #: wrong password, unknown user, forged or replayed: challenge again (stale=false)
    BAD = "bad"
    #: no credentials for our realm: challenge
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class AuthResult:
    verdict: AuthVerdict
    username: str | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict is AuthVerdict.OK


@dataclass(slots=True)
class _NonceState:
    issued: float
    seen_nc: set[int] = field(default_factory=set)
    session_cnonce: str | None = None


_NONCE_RANDOM_BYTES = 8
_NONCE_MAC_BYTES = 16


class DigestVerifier:
    """Challenges requests and checks their Digest credentials (RFC 3261 22.1, 22.3).

    ``lookup_password(username)`` gives the password or ``None``.  With
    ``proxy=True`` it uses 407 / Proxy-Authenticate / Proxy-Authorization.
    ``algorithms`` are offered in order of preference, one challenge each
    (RFC 8760 2.3: "the UAS ... MAY add multiple WWW-Authenticate header
    fields ... in order of preference").
    """

    def __init__(
        self,
        realm: str,
        lookup_password: Callable[[str], str | None],
        *,
        secret: bytes | None = None,
        rng: RandomSource | None = None,
        algorithms: Sequence[str] = ("SHA-256", "MD5"),
        qop: bool = True,
        nonce_lifetime: float = 300.0,
        proxy: bool = False,
        check_uri: bool = True,
        max_nonces: int = 4096,
    ) -> None:
        for name in algorithms:
            if _base_algorithm(name) is None:
                raise LocalProtocolError(f"unsupported digest algorithm {name!r}")
        self.realm = realm
        self.lookup_password = lookup_password
        self.ids = IdGenerator(rng) if rng is not None else IdGenerator()
        self.secret = secret if secret is not None else self.ids.rng.getrandbits(256).to_bytes(32, "big")
        self.algorithms = tuple(algorithms)
        self.qop = qop
        self.nonce_lifetime = nonce_lifetime
        self.proxy = proxy
        self.check_uri = check_uri
        self.max_nonces = max_nonces
        self.opaque = hmac.new(self.secret, b"opaque:" + realm.encode(), hashlib.sha256).hexdigest()[:16]
        self._nonces: OrderedDict[str, _NonceState] = OrderedDict()

    @property
    def challenge_header(self) -> str:
        return "Proxy-Authenticate" if self.proxy else "WWW-Authenticate"

    @property
    def credentials_header(self) -> str:
        return "Proxy-Authorization" if self.proxy else "Authorization"

    @property
    def status(self) -> int:
        return 407 if self.proxy else 401

    # -- nonces --------------------------------------------------------------
    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.secret, payload, hashlib.sha256).digest()[:_NONCE_MAC_BYTES]

    def new_nonce(self, now: float) -> str:
        payload = struct.pack(">q", int(now * 1000)) + self.ids.rng.getrandbits(
            8 * _NONCE_RANDOM_BYTES
        ).to_bytes(_NONCE_RANDOM_BYTES, "big")
        nonce = base64.urlsafe_b64encode(payload + self._mac(payload)).decode("ascii").rstrip("=")
        self._nonces[nonce] = _NonceState(now)
        while len(self._nonces) > self.max_nonces:
            self._nonces.popitem(last=False)
        return nonce

    def _nonce_time(self, nonce: str) -> float | None:
        """When we issued ``nonce``, or None if we did not."""
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(raw) != 8 + _NONCE_RANDOM_BYTES + _NONCE_MAC_BYTES:
            return None
        payload, mac = raw[:-_NONCE_MAC_BYTES], raw[-_NONCE_MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        return struct.unpack(">q", payload[:8])[0] / 1000

    # -- challenging -------------------------------------------------------
    def challenges(self, now: float, *, stale: bool = False) -> list[DigestChallenge]:
        nonce = self.new_nonce(now)
        return [
            DigestChallenge(
                realm=self.realm, nonce=nonce, algorithm=name,
                qop=("auth",) if self.qop else (), opaque=self.opaque, stale=stale,
            )
            for name in self.algorithms
        ]

    def challenge_headers(self, now: float, *, stale: bool = False) -> list[tuple[str, str]]:
        """Header rows for a 401/407 (``make_response(..., headers=...)``)."""
        return [(self.challenge_header, str(c)) for c in self.challenges(now, stale=stale)]

    # -- verifying ---------------------------------------------------------
    def verify(self, request: Request, now: float) -> AuthResult:
        """Check the request's credentials for our realm."""
        credentials: DigestCredentials | None = None
        for row in request.headers.fields(self.credentials_header):
            try:
                parsed = Challenge.parse(row.value)
            except ParseError:
                continue
            if parsed.scheme.lower() != "digest" or parsed.param("realm") != self.realm:
                continue
            try:
                credentials = DigestCredentials.from_challenge(parsed)
            except ParseError as exc:
                return AuthResult(AuthVerdict.BAD, parsed.param("username"), exc.what)
            break
        if credentials is None:
            return AuthResult(AuthVerdict.MISSING, reason=f"no Digest credentials for realm {self.realm!r}")
        return self._check(request, credentials, now)

    def _check(self, request: Request, c: DigestCredentials, now: float) -> AuthResult:
        def bad(reason: str) -> AuthResult:
            return AuthResult(AuthVerdict.BAD, c.username, reason)

        algorithm = c.algorithm or "MD5"
        if algorithm.upper() not in (a.upper() for a in self.algorithms):
            return bad(f"algorithm {algorithm} was not offered")
        if c.userhash:
            return bad("userhash was not offered")
        if self.qop:
            if c.qop not in _QOPS or c.nc is None or c.cnonce is None:
                return bad("qop, nc and cnonce are required")
            if c.nc == 0:
                return bad("nc must start at 1")
        elif c.qop is not None:
            return bad("qop was not offered")
        if c.opaque != self.opaque:
            # RFC 7616 3.4: opaque "MUST be returned by the client unchanged"
            return bad("opaque does not match")
        if self.check_uri and not _same_uri(c.uri, str(request.uri)):
            return bad("uri does not match the Request-URI")
        issued = self._nonce_time(c.nonce)
        if issued is None:
            return bad("nonce was not issued here")
        password = self.lookup_password(c.username)
        if password is None:
            return bad("unknown user")
        state = self._nonces.get(c.nonce)
        session = (_base_algorithm(algorithm) or ("", False))[1]
        cnonce = c.cnonce
        if session and state is not None and state.session_cnonce is not None:
            cnonce = state.session_cnonce
        try:
            expected = digest_response(
                algorithm=algorithm, username=c.username, realm=self.realm, password=password,
                method=request.method, uri=c.uri, nonce=c.nonce, qop=c.qop, nc=c.nc,
                cnonce=cnonce, body=request.body,
            )
        except LocalProtocolError as exc:
            return bad(str(exc))
        if not hmac.compare_digest(expected, c.response.lower()):
            return bad("wrong response (password)")
        # RFC 7616 3.3 stale: "the nonce is invalid but with a valid digest for that nonce"
        if state is None or now - issued > self.nonce_lifetime:
            return AuthResult(AuthVerdict.STALE, c.username, "nonce expired")
        if c.nc is not None:
            if c.nc in state.seen_nc:
                return bad(f"nc {c.nc:08x} replayed")
            if len(state.seen_nc) >= MAX_NC_PER_NONCE:
                return AuthResult(AuthVerdict.STALE, c.username, "nonce used up")
            state.seen_nc.add(c.nc)
        if session and state.session_cnonce is None:
            state.session_cnonce = c.cnonce
        return AuthResult(AuthVerdict.OK, c.username)


def _same_uri(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        ua, ub = parse_uri(a), parse_uri(b)
    except ParseError:
        return False
    return isinstance(ua, SipURI) and ua.equivalent(ub)
