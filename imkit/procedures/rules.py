"""Rules: each SHALL / SHOULD / MAY item of OMA IM 7.1.1 as data.

A :class:`Rule` names its clause and item (``7.1.1.7/4c``), its level, the
spec's own words, which trace records it applies to and a check.  The check
looks at one record (and, when it must, at the rest of the trace: the
responses, the client's notes of what it stored) and returns a
:class:`Finding`.  :mod:`imkit.conformance` runs the rules over a trace.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

if TYPE_CHECKING:
    from imkit.trace import Trace, TraceRecord


class Level(enum.Enum):
    """RFC 2119 keyword of a rule."""

    SHALL = "SHALL"
    SHOULD = "SHOULD"
    MAY = "MAY"


class Verdict(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class Finding:
    """What a check found: the verdict, the header that decided it, why."""

    verdict: Verdict
    header: str | None = None
    note: str = ""


def passed(header: str | None = None, note: str = "") -> Finding:
    return Finding(Verdict.PASS, header, note)


def failed(header: str | None = None, note: str = "") -> Finding:
    return Finding(Verdict.FAIL, header, note)


def not_applicable(note: str = "") -> Finding:
    return Finding(Verdict.NOT_APPLICABLE, None, note)


Check = Callable[["TraceRecord | None", "Trace"], Finding]
Selector = Callable[["TraceRecord", "Trace"], bool]


@dataclass(frozen=True)
class Rule:
    """One SHALL/SHOULD/MAY item of a clause.

    ``applies`` picks the trace records the rule is about (usually requests
    the procedure sent, tagged with its clause); ``check`` decides.  A rule
    whose ``applies`` matches nothing in a trace is *not applicable* there.
    A rule about the whole trace (something the client must do when nothing
    is sent, such as telling the user the group is too big) has ``applies``
    ``None`` and is checked once with no record.
    """

    clause: str
    item: str
    level: Level
    text: str
    applies: Selector | None
    check: Check
    note: str = field(default="", compare=False)

    @property
    def id(self) -> str:
        return f"{self.clause}/{self.item}"

    def evaluate(self, record: "TraceRecord | None", trace: "Trace") -> Finding:
        finding = self.check(record, trace)
        # A MAY item is an option: not taking it is never a failure.
        if self.level is Level.MAY and finding.verdict is Verdict.FAIL:
            return not_applicable(finding.note or "option not taken")
        return finding


def rule_ids(rules: Sequence[Rule]) -> list[str]:
    return [r.id for r in rules]
