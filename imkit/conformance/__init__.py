"""Runs the rules of 7.1.1 over a trace and reports (see :mod:`.report`).

``check(trace)`` applies the RULES of every procedure (or of the clauses
named) to the records each rule applies to.  User-defined procedures bring
their own rules the same way: pass ``rules=my_module.RULES``.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from imkit.conformance.report import Report, Result
from imkit.errors import ProtocolError
from imkit.procedures import CLAUSES, get
from imkit.procedures.rules import Rule, Verdict
from imkit.trace import Trace

__all__ = ["check", "rules_for", "Report", "Result"]


def rules_for(clauses: Iterable[str] | None = None) -> list[Rule]:
    """The RULES of the given clauses (all 14 when ``None``)."""
    return [rule for clause in (clauses or CLAUSES) for rule in get(clause).RULES]


def check(trace: Trace, clauses: Sequence[str] | None = None, *, rules: Sequence[Rule] | None = None) -> Report:
    """Evaluate ``rules`` (default: those of ``clauses``) on ``trace``."""
    results: list[Result] = []
    for rule in rules if rules is not None else rules_for(clauses):
        if rule.applies is None:
            finding = _safely(rule, None, trace)
            results.append(Result(rule, finding.verdict, None, "", finding.header, finding.note))
            continue
        matched = [record for record in trace if _applies(rule, record, trace)]
        if not matched:
            results.append(Result(rule, Verdict.NOT_APPLICABLE, note="no message in the trace it applies to"))
            continue
        for record in matched:
            finding = _safely(rule, record, trace)
            results.append(Result(rule, finding.verdict, record.seq, record.summary, finding.header, finding.note))
    return Report(tuple(results))


def _applies(rule: Rule, record, trace: Trace) -> bool:
    if record.message is None:
        return False
    try:
        return bool(rule.applies(record, trace))
    except ProtocolError:
        return False


def _safely(rule: Rule, record, trace: Trace):
    from imkit.procedures.rules import failed

    try:
        return rule.evaluate(record, trace)
    except ProtocolError as exc:
        # A header the rule reads is malformed: that is the rule's failure.
        return failed(None, f"malformed message: {exc}")
