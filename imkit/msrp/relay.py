"""The client side of MSRP relays, sans-IO (RFC 4976 sections 5.1 and 6).

Before a client can use a relay it authenticates to it over the connection
it will keep using: it sends AUTH (To-Path: the relay, From-Path: itself, no
body), the relay challenges it with a 401 carrying a Digest
``WWW-Authenticate``, the client sends AUTH again with ``Authorization``,
and the relay answers 200 with ``Use-Path`` (the relay URIs the client puts
in its SDP ``a=path`` before its own URI) and ``Expires`` (how long that
stays valid).

:class:`RelayAuth` runs that exchange: :meth:`RelayAuth.start` gives the
first AUTH, :meth:`RelayAuth.receive` takes each response and gives the next
AUTH or, at the end, a :class:`RelayGrant`; failures raise a
:class:`RelayAuthError` subclass.  Time is an argument: the AUTH transaction
times out after ``timeout`` seconds (``next_deadline`` / ``handle_timer``).
The digest itself is :func:`imkit.sip.auth.answer`, with ``AUTH`` as the
method and the relay's URI as the digest URI.
"""

from __future__ import annotations

import enum
import random
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from imkit.errors import LocalProtocolError, ParseError, RemoteProtocolError
from imkit.msrp.message import REASONS, Method, MSRPRequest, MSRPResponse
from imkit.msrp.uri import MSRPURI
from imkit.sip.auth import DigestChallenge, answer
from imkit.sip.values import Challenge

__all__ = [
    "MAX_CREDENTIAL_ATTEMPTS",
    "RelayAuth",
    "RelayAuthError",
    "RelayAuthRejected",
    "RelayAuthState",
    "RelayAuthTimeout",
    "RelayGrant",
    "RelayIntervalRejected",
]

#: AUTH requests with credentials sent before giving up (a stale nonce
#: gives one more try; a second refusal of fresh credentials is final).
MAX_CREDENTIAL_ATTEMPTS = 2
_SECONDS_RE = re.compile(r"[0-9]{1,10}")


class RelayAuthState(enum.Enum):
    IDLE = "idle"                     # nothing sent yet
    WAITING = "waiting"               # an AUTH is out, no final answer yet
    AUTHENTICATED = "authenticated"   # a 200 with Use-Path came
    FAILED = "failed"                 # refused, timed out or malformed


class RelayAuthError(RemoteProtocolError):
    """The relay did not grant a path: ``code`` is its status (``None`` when
    no response came or the response was unusable)."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"relay AUTH failed: {code or ''} {reason}".replace("  ", " "))
        self.code = code
        self.reason = reason


class RelayAuthRejected(RelayAuthError):
    """The relay refused the credentials (a 401 to an AUTH that carried
    them, or 403)."""


class RelayIntervalRejected(RelayAuthError):
    """423: the ``Expires`` asked for is outside what the relay allows; its
    ``Min-Expires`` / ``Max-Expires`` say what it would take."""

    def __init__(self, reason: str, min_expires: int | None, max_expires: int | None) -> None:
        super().__init__(423, reason)
        self.min_expires = min_expires
        self.max_expires = max_expires


class RelayAuthTimeout(RelayAuthError):
    """No response to an AUTH within the transaction timeout."""


@dataclass(frozen=True)
class RelayGrant:
    """What a 200 to AUTH gave: the ``Use-Path`` and its lifetime."""

    relay: MSRPURI
    use_path: tuple[MSRPURI, ...]
    expires: int | None
    granted_at: float

    @property
    def expires_at(self) -> float | None:
        """When the relay forgets the client (``None``: it did not say)."""
        return None if self.expires is None else self.granted_at + self.expires

    def local_path(self, local_uri: MSRPURI) -> tuple[MSRPURI, ...]:
        """The client's ``a=path`` for a session through this relay: the
        Use-Path, then the client's own URI last."""
        return (*self.use_path, local_uri)


def _seconds(response: MSRPResponse, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None:
        return None
    if _SECONDS_RE.fullmatch(value) is None:
        raise RelayAuthError(response.code, f"{name} is not a number of seconds: {value[:40]!r}")
    return int(value)


class RelayAuth:
    """One client authenticating to one relay (see the module docstring)."""

    def __init__(
        self,
        relay: MSRPURI | str,
        local_uri: MSRPURI | str,
        username: str,
        password: str,
        *,
        expires: int | None = None,
        timeout: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        self.relay = MSRPURI.parse(relay) if isinstance(relay, str) else relay
        self.local_uri = MSRPURI.parse(local_uri) if isinstance(local_uri, str) else local_uri
        if expires is not None and expires < 0:
            raise LocalProtocolError("Expires is a number of seconds, not negative")
        if timeout <= 0:
            raise LocalProtocolError("the AUTH timeout is positive")
        self.username = username
        self.password = password
        self.expires = expires
        self.timeout = timeout
        self.state = RelayAuthState.IDLE
        self.grant: RelayGrant | None = None
        self._rng = rng
        self._pending: str | None = None      # transaction id of the AUTH out
        self._deadline: float | None = None
        self._attempts = 0                     # AUTHs sent with credentials

    # -- requests -----------------------------------------------------------

    def start(self, now: float) -> MSRPRequest:
        """The first AUTH, without credentials.  Also starts a refresh once
        authenticated: RFC 4976 has the client AUTH again before its
        Use-Path expires."""
        if self.state not in (RelayAuthState.IDLE, RelayAuthState.AUTHENTICATED):
            raise LocalProtocolError(f"cannot start an AUTH in state {self.state.value}")
        self._attempts = 0
        return self._auth(now, ())

    def _auth(self, now: float, fields: Sequence[tuple[str, str]]) -> MSRPRequest:
        headers = list(fields)
        if self.expires is not None:
            headers.append(("Expires", str(self.expires)))
        # RFC 4976 section 5.1 (paraphrased): the AUTH is addressed to the
        # relay alone (To-Path) from the client's own URI (From-Path), and
        # carries no body.
        request = MSRPRequest.create(Method.AUTH, to_path=[self.relay], from_path=[self.local_uri],
                                     headers=headers, rng=self._rng)
        self.state = RelayAuthState.WAITING
        self._pending = request.transaction_id
        self._deadline = now + self.timeout
        return request

    def _cnonce(self) -> str:
        if self._rng is None:
            return secrets.token_hex(8)
        return f"{self._rng.getrandbits(64):016x}"

    # -- responses ----------------------------------------------------------

    def receive(self, response: MSRPResponse, now: float) -> MSRPRequest | RelayGrant | None:
        """Take a response from the relay: the next AUTH to send, the grant
        once a 200 came, or ``None`` for a response to no AUTH of ours.
        Raises a :class:`RelayAuthError` when the relay will not grant a path."""
        if self.state is not RelayAuthState.WAITING or response.transaction_id != self._pending:
            return None
        self._pending = self._deadline = None
        try:
            return self._outcome(response, now)
        except RelayAuthError:
            self.state = RelayAuthState.FAILED
            raise

    def _outcome(self, response: MSRPResponse, now: float) -> MSRPRequest | RelayGrant:
        code = response.code
        comment = response.comment or REASONS.get(code, "")
        if code == 200:
            return self._granted(response, now)
        if code == 401:
            return self._challenged(response, now)
        if code == 403:
            raise RelayAuthRejected(code, comment)
        if code == 423:
            raise RelayIntervalRejected(comment, _seconds(response, "Min-Expires"),
                                        _seconds(response, "Max-Expires"))
        raise RelayAuthError(code, comment)

    def _challenged(self, response: MSRPResponse, now: float) -> MSRPRequest:
        challenge = self._digest_challenge(response)
        if self._attempts and not challenge.stale:
            # fresh credentials refused: a wrong user name or password
            raise RelayAuthRejected(401, response.comment or "credentials refused")
        if self._attempts >= MAX_CREDENTIAL_ATTEMPTS:
            raise RelayAuthRejected(401, "the relay keeps answering stale")
        # RFC 4976 section 5.1 (paraphrased): the digest is computed as in
        # RFC 2617 with "AUTH" as the method and the relay's URI, the one in
        # the To-Path, as the digest URI.
        credentials = answer(challenge, username=self.username, password=self.password,
                             method=Method.AUTH.value, uri=str(self.relay), cnonce=self._cnonce())
        self._attempts += 1
        return self._auth(now, [("Authorization", str(credentials))])

    @staticmethod
    def _digest_challenge(response: MSRPResponse) -> DigestChallenge:
        unusable = []
        for value in response.headers.get_all("WWW-Authenticate"):
            try:
                challenge = DigestChallenge.from_challenge(Challenge.parse(value))
            except ParseError as exc:
                unusable.append(exc.what)
                continue
            if challenge.supported:
                return challenge
            unusable.append(f"unsupported {challenge.algorithm} / qop {','.join(challenge.qop)}")
        what = "; ".join(unusable) if unusable else "no WWW-Authenticate"
        raise RelayAuthError(401, f"no usable Digest challenge ({what})")

    def _granted(self, response: MSRPResponse, now: float) -> RelayGrant:
        use_path = response.use_path
        # RFC 4976 section 5.1 (paraphrased): the 200 to AUTH carries the
        # Use-Path the client is to advertise; without it there is no path.
        if not use_path:
            raise RelayAuthError(200, "the 200 to AUTH has no Use-Path")
        grant = RelayGrant(self.relay, use_path, _seconds(response, "Expires"), now)
        self.grant = grant
        self.state = RelayAuthState.AUTHENTICATED
        return grant

    # -- time ---------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When the AUTH out times out, or ``None``."""
        return self._deadline

    def handle_timer(self, now: float) -> None:
        """Raise :class:`RelayAuthTimeout` once the AUTH out is overdue."""
        if self._deadline is not None and now >= self._deadline:
            self._pending = self._deadline = None
            self.state = RelayAuthState.FAILED
            # RFC 4975 section 7.1.1: no response in time counts as a 408.
            raise RelayAuthTimeout(408, "no response to AUTH")
