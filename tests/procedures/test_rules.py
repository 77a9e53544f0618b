"""Every rule of 7.1.1 (``imkit.conformance.rules_for()``), on a trace that
passes it and one that fails it (:mod:`tests.procedures.rule_cases`)."""

from __future__ import annotations

import pytest

from imkit.conformance import check, rules_for
from imkit.procedures.rules import Level, Rule, Verdict
from tests.procedures.rule_cases import (
    CASES,
    IMS_REASON,
    MORE_FAILURES,
    MORE_PASSES,
    NOT_APPLICABLE,
)

RULES = {rule.id: rule for rule in rules_for()}


def expected(rule: Rule) -> tuple[Verdict, Verdict]:
    """The verdicts of the passing and the failing trace."""
    if rule.item == "ims":
        return Verdict.NOT_APPLICABLE, Verdict.NOT_APPLICABLE
    if rule.level is Level.MAY:
        return Verdict.PASS, Verdict.NOT_APPLICABLE
    return Verdict.PASS, Verdict.FAIL


def test_every_rule_has_a_case() -> None:
    assert len(RULES) == len(rules_for()), "rule ids are unique"
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule_id", list(RULES))
def test_rule_passes_and_fails(rule_id: str) -> None:
    rule, (make_passing, make_failing, why) = RULES[rule_id], CASES[rule_id]
    passing, failing = expected(rule)
    good = check(make_passing(), rules=[rule])
    assert good.verdict(rule_id) is passing, good.to_text(show_not_applicable=True)
    bad = check(make_failing(), rules=[rule])
    assert bad.verdict(rule_id) is failing, bad.to_text(show_not_applicable=True)
    decided = [r for r in bad.for_rule(rule_id) if r.verdict is failing]
    assert any(why in r.note for r in decided), bad.to_text(show_not_applicable=True)
    if rule.item == "ims":
        # not applicable because of what the rule says, not for want of a message
        assert all(r.seq is not None and r.note == IMS_REASON for r in good.for_rule(rule_id))


@pytest.mark.parametrize(("rule_id", "make_trace", "why"), MORE_FAILURES,
                         ids=[f"{rule_id}:{why}" for rule_id, _, why in MORE_FAILURES])
def test_rule_fails_for_another_reason(rule_id: str, make_trace, why: str) -> None:
    report = check(make_trace(), rules=[RULES[rule_id]])
    assert report.verdict(rule_id) is Verdict.FAIL
    assert any(why in r.note for r in report.for_rule(rule_id) if r.verdict is Verdict.FAIL), report.to_text()


@pytest.mark.parametrize(("rule_id", "make_trace", "why"), MORE_PASSES,
                         ids=[f"{rule_id}:{why}" for rule_id, _, why in MORE_PASSES])
def test_rule_passes_in_another_trace(rule_id: str, make_trace, why: str) -> None:
    results = check(make_trace(), rules=[RULES[rule_id]]).for_rule(rule_id)
    assert len(results) >= 1 and all(r.verdict is Verdict.PASS for r in results), results
    assert any(why in r.note for r in results)


@pytest.mark.parametrize(("rule_id", "make_trace", "why"), NOT_APPLICABLE,
                         ids=[f"{rule_id}:{why}" for rule_id, _, why in NOT_APPLICABLE])
def test_rule_not_applicable_by_nature(rule_id: str, make_trace, why: str) -> None:
    report = check(make_trace(), rules=[RULES[rule_id]])
    results = report.for_rule(rule_id)
    assert not [r for r in results if r.verdict is Verdict.FAIL], report.to_text()
    assert any(r.verdict is Verdict.NOT_APPLICABLE and why in r.note for r in results), \
        report.to_text(show_not_applicable=True)
