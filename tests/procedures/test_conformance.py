"""imkit.conformance: running the rules over traces, and the Report."""

from __future__ import annotations

from functools import partial

import pytest

from imkit.conformance import Report, check, rules_for
from imkit.procedures.checks import challenged_attempt
from imkit.procedures.rules import Level, Rule, Verdict, failed, passed
from imkit.trace import Direction, Protocol, Trace, Transport
from tests.procedures import flows
from tests.procedures.flows import trace_of
from tests.procedures.rule_cases import CONFORMING
from tests.procedures.scene import CLIENT, SERVER, drop, mutation, put, replace_body

RULE_IDS = [rule.id for rule in rules_for()]


@pytest.mark.parametrize("name", list(CONFORMING))
def test_a_conforming_exchange_fails_no_rule(name: str) -> None:
    report = check(CONFORMING[name]())
    assert report.failures() == [], report.to_text()
    assert report.ok
    assert {r.rule_id for r in report} == set(RULE_IDS)
    assert any(r.verdict is Verdict.PASS for r in report)


# -- odd input: a rule says fail or not applicable, it never crashes --------------------------------
MAIN_REQUEST = {
    "one_to_one_flow": "7.1.1.2", "adhoc_flow": "7.1.1.3", "predefined_flow": "7.1.1.4", "modify_flow": "7.1.1.5",
    "extend_flow": "7.1.1.6", "add_flow": "7.1.1.7", "add_one_flow": "7.1.1.7", "refresh_flow": "7.1.1.8",
    "rejoin_flow": "7.1.1.9", "public_flow": "7.1.1.10", "subscribe_flow": "7.1.1.11", "leave_flow": "7.1.1.12",
    "cancel_flow": "7.1.1.13", "remove_flow": "7.1.1.14",
}
HEADERS = ("To", "From", "CSeq", "Call-ID", "Via", "Contact", "Refer-To", "Content-Type", "Event", "Session-Expires",
           "Require", "Refer-Sub", "Supported", "Accept-Contact", "Privacy", "Content-ID", "Allow", "Max-Forwards")
ODD = {
    **{f"no {name}": drop(name) for name in HEADERS},
    **{f"bad {name}": put(name, "<<<;;=") for name in HEADERS},
    "garbage body": replace_body(b"\xff\xfe<not xml", None),
    "garbage multipart": replace_body(b"--x\r\n\xff<", "multipart/mixed;boundary=x"),
}


@pytest.mark.parametrize("flow", list(MAIN_REQUEST))
def test_odd_requests_never_crash_a_rule(flow: str) -> None:
    for spoil in ODD.values():
        report = check(trace_of(getattr(flows, flow), mutation(edit={MAIN_REQUEST[flow]: spoil})))
        assert {r.rule_id for r in report} == set(RULE_IDS)


def test_a_malformed_header_a_rule_reads_fails_it() -> None:
    trace = trace_of(flows.one_to_one_flow, mutation(edit={"7.1.1.2": put("Session-Expires", "soon")}))
    result = check(trace, ["7.1.1.1"]).for_rule("7.1.1.1/7")[0]
    assert result.verdict is Verdict.FAIL and result.note.startswith("malformed message:")


def test_unparsable_records_are_kept_out_of_every_rule() -> None:
    trace = Trace()
    trace.record(1.0, Direction.SENT, Protocol.SIP, Transport.UDP, CLIENT, SERVER, b"INVITE nonsense\r\n\r\n", label="7.1.1.2")
    assert trace[0].message is None
    report = check(trace, ["7.1.1.2"])
    assert {r.verdict for r in report} == {Verdict.NOT_APPLICABLE}
    assert {r.note for r in report} == {"no message in the trace it applies to"}


# -- check() ----------------------------------------------------------------------------------------
def test_rules_for_the_clauses_asked() -> None:
    assert len(RULE_IDS) == len(set(RULE_IDS)) == 133
    assert [r.id for r in rules_for(["7.1.1.13"])] == ["7.1.1.13/1", "7.1.1.13/ims"]
    report = check(trace_of(flows.one_to_one_flow), ["7.1.1.2"])
    assert [r.rule_id for r in report] == [r.id for r in rules_for(["7.1.1.2"])]


def test_own_rules_are_checked_the_same_way() -> None:
    def has_user_agent(record, trace):
        return passed("User-Agent") if "User-Agent" in record.message.headers else failed("User-Agent", "none")

    mine = [
        Rule("X.1", "1", Level.SHALL, "every request I send has a User-Agent",
             lambda record, trace: record.direction is Direction.SENT and record.protocol is Protocol.SIP
             and not record.is_response, has_user_agent),
        Rule("X.1", "2", Level.MAY, "the trace may be empty", None, lambda record, trace: failed(None, "it is not")),
    ]
    report = check(trace_of(flows.one_to_one_flow), rules=mine)
    invite, ack = report.for_rule("X.1/1")
    assert (invite.verdict, ack.verdict) == (Verdict.PASS, Verdict.FAIL)
    assert (invite.seq, invite.message) == (0, "INVITE [7.1.1.2]")
    trace_level, = report.for_rule("X.1/2")
    assert (trace_level.verdict, trace_level.seq, trace_level.note) == (Verdict.NOT_APPLICABLE, None, "it is not")


# -- the Report -----------------------------------------------------------------------------------
def spoilt_report() -> Report:
    """Accept-Contact dropped from the SUBSCRIBE (SHALL), Allow from the INVITE
    (SHOULD), no subscription refresh (nothing), in an ad-hoc conference."""
    trace = trace_of(flows.adhoc_flow, mutation(edit={"7.1.1.11": drop("Accept-Contact"), "7.1.1.3": drop("Allow")}))
    return check(trace, ["7.1.1.1", "7.1.1.3", "7.1.1.11"])


def test_verdict_of_a_rule_over_all_its_messages() -> None:
    report = spoilt_report()
    assert [r.verdict for r in report.for_rule("7.1.1.1/1")] == [Verdict.PASS, Verdict.FAIL]
    assert report.verdict("7.1.1.1/1") is Verdict.FAIL  # one failing message fails the rule
    assert report.verdict("7.1.1.1/0") is Verdict.PASS
    assert report.verdict("7.1.1.1/5") is Verdict.NOT_APPLICABLE
    with pytest.raises(KeyError):
        report.verdict("7.1.1.2/1")


def test_ok_means_no_shall_failed() -> None:
    report = spoilt_report()
    assert [r.rule_id for r in report.failures(Level.SHALL)] == ["7.1.1.1/1", "7.1.1.11/1"]
    assert [r.rule_id for r in report.failures(Level.SHOULD)] == ["7.1.1.1/3"]
    assert not report.ok
    only_should = check(trace_of(flows.adhoc_flow, mutation(edit={"7.1.1.3": drop("Allow")})))
    assert only_should.failures() and only_should.ok


def test_failed_seqs_are_the_failing_messages() -> None:
    report = spoilt_report()
    subscribe = next(r.seq for r in report.for_rule("7.1.1.11/1"))
    invite = report.for_rule("7.1.1.1/3")[0].seq
    assert report.failed_seqs() == {  # every rule a message failed
        subscribe: "7.1.1.1/1: no Accept-Contact with +g.oma.sip-im; 7.1.1.11/1: no Accept-Contact with +g.oma.sip-im",
        invite: "7.1.1.1/3: no Allow header",
    }
    # a whole-trace rule fails with no message to point at
    unsubscribed = check(trace_of(flows.adhoc_flow, mutation(skip={"7.1.1.11"})), ["7.1.1.11"])
    assert unsubscribed.verdict("7.1.1.11/0") is Verdict.FAIL and unsubscribed.failed_seqs() == {}


def test_text() -> None:
    report = spoilt_report()
    lines = report.to_text().splitlines()
    assert lines[0].split() == ["rule", "level", "verdict", "msg", "header", "note"]
    shown = [line.split()[0] for line in lines[1:-1]]
    assert shown == [r.rule_id for r in report if r.verdict is not Verdict.NOT_APPLICABLE]
    subscribe = report.for_rule("7.1.1.11/1")[0].seq
    assert f"7.1.1.11/1         SHALL   fail            {subscribe:>4}  Accept-Contact     no Accept-Contact with +g.oma.sip-im" in lines
    counts = report.counts()
    assert lines[-1] == (f"SHALL: {counts['SHALL pass']} pass, 2 fail; SHOULD: {counts['SHOULD pass']} pass, 1 fail; "
                         f"MAY: {counts['MAY pass']} taken")
    everything = report.to_text(show_not_applicable=True).splitlines()
    assert len(everything) == len(report) + 2
    assert str(report) == report.to_text()


def test_html() -> None:
    rule = Rule("X.1", "1", Level.SHALL, "say 'no' <loudly> & twice", None, lambda record, trace: failed("<H>", "n<o>"),
                note="a tension & more")
    html = check(Trace(), rules=[rule])._repr_html_()
    assert "<b>Conformance</b>: 1 SHALL failure(s)" in html
    assert "title='say &#x27;no&#x27; &lt;loudly&gt; &amp; twice'" in html
    assert "<td style='color:#cf222e;font-weight:bold'>fail</td>" in html
    assert "<td>&lt;H&gt;</td>" in html and "n&lt;o&gt;<br><i>a tension &amp; more</i>" in html
    good = check(trace_of(flows.one_to_one_flow), ["7.1.1.2"])._repr_html_()
    assert "no SHALL rule failed" in good
    assert good.count("<tr>") == 1 + len(rules_for(["7.1.1.2"]))
    assert "color:#1a7f37" in good and "color:#6e7781" in good and "<td>INVITE [7.1.1.2]</td>" in good


def test_a_retry_with_credentials_is_the_request_it_repeats() -> None:
    trace = trace_of(partial(flows.cancel_flow, challenged=True))
    first, retry = [r for r in trace if r.title == "INVITE"]
    assert challenged_attempt(retry, trace) is first
    assert challenged_attempt(first, trace) is None
    unchallenged = trace_of(partial(flows.cancel_flow, challenged=True), mutation(skip={"7.1.1.3/407"}))
    assert challenged_attempt([r for r in unchallenged if r.title == "INVITE"][1], unchallenged) is None
