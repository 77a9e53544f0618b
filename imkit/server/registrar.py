"""The registrar and its location service (RFC 3261 section 10.3).

:class:`Location` holds the bindings of addresses-of-record to contact
addresses, each with its expiry; :class:`Registrar` processes REGISTER
requests against it, with optional digest authentication
(:class:`imkit.sip.auth.DigestVerifier`).  Both take the time as an
argument (the server passes its loop time), so bindings expire by the same
clock the transactions run on.

Bounded: at most ``max_users`` addresses-of-record, ``max_bindings`` contacts
each; a REGISTER that would go past a bound fails with 503.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from imkit.sip import NameAddr, Request, Response, SipURI
from imkit.sip.auth import AuthVerdict, DigestVerifier
from imkit.sip.builders import make_response
from imkit.sip.errors import ParseError
from imkit.sip.ids import IdGenerator
from imkit.sip.transaction import Destination
from imkit.sip.uri import URI

__all__ = ["Binding", "Location", "Registrar", "aor_key"]


def aor_key(uri: URI, domain: str | None = None) -> str | None:
    """The key of an address-of-record: ``sip:user@host`` (host in lower
    case; ``domain`` when given replaces the host).  ``None`` for a URI that
    is not a SIP URI with a user part."""
    if not isinstance(uri, SipURI) or not uri.user:
        return None
    host = (domain or uri.host).lower()
    return f"sip:{uri.user}@{host}"


@dataclass(eq=False)
class Binding:
    """One contact bound to an address-of-record."""

    aor: str
    contact: NameAddr
    expires_at: float
    call_id: str
    cseq: int
    q: float = 1.0
    registered_at: float = 0.0
    #: where the REGISTER came from (transport, address, connection)
    source: Destination | None = None

    @property
    def uri(self) -> URI:
        return self.contact.uri

    def expires_in(self, now: float) -> int:
        # never more than was granted, whatever clock noise between the two readings
        granted = math.floor(self.expires_at - self.registered_at + 1e-6) if self.registered_at else None
        remaining = max(0, math.ceil(self.expires_at - now - 1e-6))
        return remaining if granted is None else min(granted, remaining)

    def __repr__(self) -> str:
        return f"<Binding {self.aor} -> {self.contact.uri}>"


@dataclass
class Location:
    """The location service: address-of-record -> live bindings."""

    max_users: int = 1024
    max_bindings: int = 8
    _bindings: dict[str, list[Binding]] = field(default_factory=dict)

    def bindings(self, aor: str, now: float) -> list[Binding]:
        """The live bindings of ``aor``, best first (highest q, then newest)."""
        self._prune(aor, now)
        found = list(self._bindings.get(aor, ()))
        found.sort(key=lambda b: (-b.q, -b.registered_at))
        return found

    def lookup(self, aor: str, now: float) -> Binding | None:
        """The best live binding of ``aor``, if any."""
        found = self.bindings(aor, now)
        return found[0] if found else None

    def aors(self, now: float) -> list[str]:
        """Every address-of-record with a live binding."""
        for aor in list(self._bindings):
            self._prune(aor, now)
        return sorted(self._bindings)

    def replace(self, aor: str, bindings: list[Binding]) -> None:
        """Commit the bindings of ``aor`` (an empty list removes it)."""
        if bindings:
            self._bindings[aor] = bindings
        else:
            self._bindings.pop(aor, None)

    def clear(self) -> None:
        self._bindings.clear()

    def __len__(self) -> int:
        return len(self._bindings)

    def __iter__(self) -> Iterator[Binding]:
        for bindings in list(self._bindings.values()):
            yield from bindings

    def _prune(self, aor: str, now: float) -> None:
        bindings = self._bindings.get(aor)
        if bindings is None:
            return
        live = [b for b in bindings if b.expires_at > now]
        self.replace(aor, live)


class _Failure(Exception):
    """A REGISTER that fails: status, reason, extra rows."""

    def __init__(self, status: int, reason: str, rows: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.rows = rows


class Registrar:
    """Answers REGISTER (RFC 3261 10.3) for the domain.

    ``is_local(uri)`` says whether a URI's host is served here; address-of-
    record keys use ``domain`` for every local host.
    """

    def __init__(
        self,
        domain: str,
        location: Location,
        is_local: Callable[[URI], bool],
        *,
        verifier: DigestVerifier | None = None,
        min_expires: int = 60,
        max_expires: int = 3600,
        default_expires: int = 3600,
        ids: IdGenerator | None = None,
        server: str | None = None,
    ) -> None:
        self.domain = domain
        self.location = location
        self.is_local = is_local
        self.verifier = verifier
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.default_expires = default_expires
        self.ids = ids or IdGenerator()
        self.server = server

    def handle(self, request: Request, now: float, source: Destination | None = None) -> Response:
        """The response to a REGISTER (bindings updated when it is a 200)."""
        try:
            return self._process(request, now, source)
        except _Failure as failure:
            return self._response(request, failure.status, failure.reason, list(failure.rows))

    def _response(self, request: Request, status: int, reason: str | None,
                  rows: list[tuple[str, str]]) -> Response:
        if self.server:
            rows = rows + [("Server", self.server)]
        return make_response(request, status, reason, to_tag=self.ids.tag(), headers=rows)

    def _process(self, request: Request, now: float, source: Destination | None) -> Response:
        # 10.3 step 1: "The registrar inspects the Request-URI to determine
        # whether it has access to bindings for the domain identified in the
        # Request-URI."
        if not self.is_local(request.uri):
            raise _Failure(403, "Domain Not Served Here")
        username = self._authenticate(request, now)
        to = request.to
        assert to is not None  # the transaction layer and validation checked it
        # 10.3 step 5: "The registrar extracts the address-of-record from the
        # To header field of the request.  If the address-of-record is not
        # valid for the domain in the Request-URI, the registrar MUST send a
        # 404 (Not Found) response"
        aor = aor_key(to.uri, self.domain) if self.is_local(to.uri) else None
        if aor is None:
            raise _Failure(404, "Not Found")
        if username is not None and aor != aor_key(SipURI(host=self.domain, user=username)):
            # 10.3 step 4: "The registrar SHOULD determine if the authenticated
            # user is authorized to modify registrations for this address-of-record."
            raise _Failure(403, "Authenticated User Is Not The Address-of-Record")
        call_id = request.call_id or ""
        cseq = request.cseq
        assert cseq is not None
        current = self.location.bindings(aor, now)
        if request.contact_is_star:
            updated = self._remove_all(request, current, call_id, cseq.seq)
        else:
            updated = self._update(request, aor, current, now, call_id, cseq.seq, source)
        if updated and aor not in self.location.aors(now) and len(self.location) >= self.location.max_users:
            raise _Failure(503, "Too Many Registered Users")
        # 10.3 step 7: "The binding updates MUST be committed ... if and only if
        # all binding updates and additions succeed."
        self.location.replace(aor, updated)
        # 10.3 step 8: "The response MUST contain Contact header field values
        # enumerating all current bindings.  Each Contact value MUST feature an
        # "expires" parameter indicating its expiration interval chosen by the
        # registrar.  The response SHOULD contain a Date header field."
        rows = [("Contact", str(b.contact.with_param("expires", str(b.expires_in(now))))) for b in updated]
        rows.append(("Date", email.utils.formatdate(usegmt=True)))
        return self._response(request, 200, None, rows)

    def _authenticate(self, request: Request, now: float) -> str | None:
        if self.verifier is None:
            return None
        result = self.verifier.verify(request, now)
        if result.ok:
            return result.username
        stale = result.verdict is AuthVerdict.STALE
        # RFC 3261 22.3 / 10.3 step 3: a registrar that authenticates answers 401 with a challenge.
        raise _Failure(401, "Unauthorized", tuple(self.verifier.challenge_headers(now, stale=stale)))

    def _remove_all(self, request: Request, current: list[Binding], call_id: str, seq: int) -> list[Binding]:
        # 10.3 step 6: "If the request has additional Contact fields or an
        # expiration time other than zero, the request is invalid, and the
        # server MUST return a 400 (Invalid Request)".
        if len(request.headers.get_all("Contact")) != 1 or request.expires != 0:
            raise _Failure(400, "Contact * Needs Expires 0 And No Other Contact")
        for binding in current:
            # "If it does agree, it MUST remove the binding only if the CSeq in
            # the request is higher than the value stored for that binding.
            # Otherwise, the update MUST be aborted and the request fails."
            if binding.call_id == call_id and seq <= binding.cseq:
                raise _Failure(500, "Out Of Order CSeq")
        return []

    def _expires(self, request: Request, contact: NameAddr) -> int:
        # 10.3 step 7: the "expires" parameter, else the Expires header field,
        # else "a locally-configured default value".
        text = contact.param("expires")
        if text is not None:
            if not text.isdigit():
                raise _Failure(400, "Bad Contact expires")
            return int(text)
        header = request.expires
        return self.default_expires if header is None else header

    def _update(self, request: Request, aor: str, current: list[Binding], now: float,
                call_id: str, seq: int, source: Destination | None) -> list[Binding]:
        updated = list(current)
        try:
            contacts = request.contact
        except ParseError:
            raise _Failure(400, "Bad Contact") from None
        for contact in contacts:
            expires = self._expires(request, contact)
            if 0 < expires < self.min_expires:
                # "the registrar MAY reject the registration with a response of
                # 423 (Interval Too Brief).  This response MUST contain a
                # Min-Expires header field that states the minimum expiration
                # interval the registrar is willing to honor."
                raise _Failure(423, "Interval Too Brief", (("Min-Expires", str(self.min_expires)),))
            expires = min(expires, self.max_expires)
            existing = next((b for b in updated if _same_contact(b.contact, contact)), None)
            if existing is not None:
                # "If the Call-ID value in the existing binding differs from the
                # Call-ID value in the request, the binding MUST be removed if the
                # expiration time is zero and updated otherwise.  If they are the
                # same, the registrar compares the CSeq value.  If the value is
                # higher than that of the existing binding, it MUST update or
                # remove the binding as above.  If not, the update MUST be aborted
                # and the request fails."
                if existing.call_id == call_id and seq <= existing.cseq:
                    raise _Failure(500, "Out Of Order CSeq")
                updated.remove(existing)
            if expires == 0:
                continue
            if len(updated) >= self.location.max_bindings:
                raise _Failure(503, "Too Many Bindings")
            updated.append(Binding(
                aor=aor, contact=contact.replace(params=contact.params.without("expires")),
                expires_at=now + expires, call_id=call_id, cseq=seq, q=_q(contact),
                registered_at=now, source=source,
            ))
        return updated


def _same_contact(a: NameAddr, b: NameAddr) -> bool:
    # 10.3 step 7: "the URIs are compared using the URI comparison rules"
    if isinstance(a.uri, SipURI):
        return a.uri.equivalent(b.uri)
    return str(a.uri) == str(b.uri)


def _q(contact: NameAddr) -> float:
    text = contact.param("q")
    try:
        value = float(text) if text else 1.0
    except ValueError:
        raise _Failure(400, "Bad Contact q") from None
    if not 0.0 <= value <= 1.0:
        raise _Failure(400, "Bad Contact q")
    return value
