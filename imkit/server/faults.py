"""Fault injection: make the next matching requests fail (issue 5 item 8).

A :class:`Fault` names the requests it applies to (method, and a pattern on
the Request-URI or To URI) and what happens to them:

* ``respond``: answer with ``status`` (and ``reason``), after ``delay``;
* ``drop``: never answer; retransmissions of the dropped request are
  dropped too, so the client sees its transaction time out (RFC 3261
  17.1.1.2 Timer B, 17.1.2.2 Timer F);
* ``delay``: hold the request ``delay`` seconds, then handle it normally.

``count`` requests are hit (``None``: every one), then the fault is gone.
Faults apply before everything else the server does, services included;
ACKs are never hit (they are not answered), and a CANCEL can only be
dropped (the transaction layer answers it, RFC 3261 9.2).

From the command line a fault is written ``METHOD:ACTION[:COUNT][@TO]``:
``INVITE:503``, ``INVITE:486:2``, ``REGISTER:drop``,
``INVITE:delay=2.5@conference-factory``, ``*:500:*``.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass

from imkit.errors import LocalProtocolError
from imkit.sip import Request, SipURI
from imkit.sip.errors import ParseError
from imkit.sip.headers import is_token

__all__ = ["Fault", "FaultAction", "Faults", "parse_fault"]

#: Faults one server holds at once.
MAX_FAULTS = 64


class FaultAction(enum.Enum):
    RESPOND = "respond"
    DROP = "drop"
    DELAY = "delay"


@dataclass(eq=False)
class Fault:
    """One fault; ``hits`` counts the requests it hit so far."""

    method: str | None = None
    to: str | None = None
    action: FaultAction = FaultAction.RESPOND
    status: int = 503
    reason: str | None = None
    delay: float = 0.0
    count: int | None = 1
    hits: int = 0

    def __post_init__(self) -> None:
        if self.method is not None and (not is_token(self.method) or self.method != self.method.upper()):
            raise LocalProtocolError(f"method {self.method!r} is not an upper-case token")
        if self.method in ("ACK",):
            raise LocalProtocolError("an ACK is never answered: it cannot be faulted")
        if self.action is FaultAction.RESPOND and not 300 <= self.status <= 699:
            raise LocalProtocolError(f"a fault answers with 300-699, not {self.status}")
        if self.method == "CANCEL" and self.action is not FaultAction.DROP:
            raise LocalProtocolError("a CANCEL can only be dropped (the transaction layer answers it)")
        if self.delay < 0 or (self.action is FaultAction.DELAY and self.delay <= 0):
            raise LocalProtocolError("a delay is a positive number of seconds")
        if self.count is not None and self.count < 1:
            raise LocalProtocolError("count is at least 1 (None: every matching request)")
        if self.reason is not None and any(c in self.reason for c in "\r\n"):
            raise LocalProtocolError("a reason phrase is one line")

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.hits >= self.count

    def matches(self, request: Request) -> bool:
        if request.method == "ACK" or self.exhausted:
            return False
        if self.method is not None and request.method != self.method:
            return False
        if self.to is None:
            return True
        return any(_pattern_matches(self.to, candidate) for candidate in _targets(request))

    def __str__(self) -> str:
        action = {
            FaultAction.RESPOND: str(self.status),
            FaultAction.DROP: "drop",
            FaultAction.DELAY: f"delay={self.delay:g}",
        }[self.action]
        count = "*" if self.count is None else str(self.count)
        to = "" if self.to is None else f"@{self.to}"
        return f"{self.method or '*'}:{action}:{count}{to}"


def _targets(request: Request) -> list[str]:
    """What a ``to`` pattern is matched against: the Request-URI and the To
    URI, each as written and as ``sip:user@host``."""
    out = [str(request.uri)]
    if isinstance(request.uri, SipURI):
        out.append(str(request.uri.address_of_record))
    try:
        to = request.to
    except ParseError:
        to = None
    if to is not None:
        out.append(str(to.uri))
        if isinstance(to.uri, SipURI):
            out.append(str(to.uri.address_of_record))
    return out


def _pattern_matches(pattern: str, text: str) -> bool:
    """A glob (``*``, ``?``, ``[...]``) must match the whole text; a plain
    string matches anywhere in it.  Case-insensitive."""
    pattern, text = pattern.lower(), text.lower()
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(text, pattern)
    return pattern in text


class Faults:
    """The faults of one server, tried in the order they were added."""

    def __init__(self, max_faults: int = MAX_FAULTS) -> None:
        self.max_faults = max_faults
        self._faults: list[Fault] = []

    def add(
        self,
        method: str | None = None,
        to: str | None = None,
        status: int = 503,
        reason: str | None = None,
        action: FaultAction | str = FaultAction.RESPOND,
        delay: float = 0.0,
        count: int | None = 1,
    ) -> Fault:
        """Add a fault; returns it (``remove`` takes it back)."""
        fault = Fault(
            method=None if method in (None, "*") else method.upper(),  # type: ignore[union-attr]
            to=to, action=FaultAction(action), status=status, reason=reason, delay=delay, count=count,
        )
        return self.add_fault(fault)

    def add_fault(self, fault: Fault) -> Fault:
        if len(self._faults) >= self.max_faults:
            raise LocalProtocolError(f"at most {self.max_faults} faults at once")
        self._faults.append(fault)
        return fault

    def add_spec(self, spec: str) -> Fault:
        """Add a fault written ``METHOD:ACTION[:COUNT][@TO]`` (see the module docstring)."""
        return self.add_fault(parse_fault(spec))

    def remove(self, fault: Fault) -> None:
        if fault in self._faults:
            self._faults.remove(fault)

    def clear(self) -> None:
        self._faults.clear()

    def take(self, request: Request) -> Fault | None:
        """The first fault that hits ``request``, counted as a hit (and
        forgotten once it has hit ``count`` requests)."""
        for fault in self._faults:
            if fault.matches(request):
                fault.hits += 1
                if fault.exhausted:
                    self._faults.remove(fault)
                return fault
        return None

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._faults))

    def __len__(self) -> int:
        return len(self._faults)

    def __repr__(self) -> str:
        return f"Faults([{', '.join(str(f) for f in self._faults)}])"


def parse_fault(spec: str) -> Fault:
    """``METHOD:ACTION[:COUNT][@TO]`` -> :class:`Fault`.

    ACTION is a status code (300-699), ``drop`` or ``delay=SECONDS``; COUNT
    is a number or ``*`` (every matching request); METHOD ``*`` is any method.
    """
    head, at, to = spec.partition("@")
    parts = head.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise LocalProtocolError(f"fault {spec!r} is not METHOD:ACTION[:COUNT][@TO]")
    method, action_text = parts[0].strip(), parts[1].strip().lower()
    count: int | None = 1
    if len(parts) == 3:
        count_text = parts[2].strip()
        if count_text == "*":
            count = None
        elif count_text.isdigit():
            count = int(count_text)
        else:
            raise LocalProtocolError(f"fault count {count_text!r} is not a number or *")
    options: dict[str, object] = {}
    if action_text == "drop":
        options["action"] = FaultAction.DROP
    elif action_text.startswith("delay="):
        try:
            options["delay"] = float(action_text[len("delay="):])
        except ValueError:
            raise LocalProtocolError(f"fault delay {action_text!r} is not a number") from None
        options["action"] = FaultAction.DELAY
    elif action_text.isdigit() and len(action_text) == 3:
        options["status"] = int(action_text)
    else:
        raise LocalProtocolError(f"fault action {action_text!r} is a status, drop or delay=SECONDS")
    return Fault(
        method=None if method == "*" else method.upper(), to=to if at else None,
        count=count, **options,  # type: ignore[arg-type]
    )
