"""imkit.widgets.ladder: the trace as SVG, redrawn as it grows, failures red."""

from __future__ import annotations

import sys

import graphviz  # type: ignore[import-untyped]
import pytest
from lxml import etree

from imkit import conformance
from imkit.trace import Direction, Protocol, Trace, Transport
from imkit.trace.graphviz_ladder import FAILED_COLOR
from imkit.widgets.ladder import LadderModel
from imkit.widgets.live import LiveTrace
from tests.widgets.support import (
    ALICE,
    SERVER,
    refer_trace,
    response_to,
    row_with,
    table_rows,
    visible_text,
)

SVG = "{http://www.w3.org/2000/svg}"


def arrow_colours(svg: str) -> dict[str, set[str]]:
    """Each record's arrow (SVG id ``record-<seq>``): the stroke colours it is drawn in."""
    root = etree.fromstring(svg.encode())
    return {group.get("id"): {e.get("stroke") for e in group.iter() if e.get("stroke")}
            for group in root.iter(f"{SVG}g") if (group.get("id") or "").startswith("record-")
            and not group.get("id").endswith("-label")}


def ladder(refer_sub: bool = False, **kwargs: object) -> tuple[Trace, LadderModel]:
    trace, _ = refer_trace(refer_sub=refer_sub)
    live = LiveTrace(trace, check=lambda t: conformance.check(t, ["7.1.1.7"]))
    return trace, LadderModel(live, **kwargs)  # type: ignore[arg-type]


def test_failed_records_are_drawn_red_and_the_others_not() -> None:
    _, model = ladder()
    assert model.svg is not None and model.svg.startswith("<svg")
    colours = arrow_colours(model.svg)
    assert set(colours) == {"record-0", "record-1", "record-2"}
    assert colours["record-0"] == {FAILED_COLOR}
    assert FAILED_COLOR not in colours["record-1"] | colours["record-2"]
    failures = [r for r in model.live.report.failures() if r.seq == 0]
    assert [row[1:] for row in table_rows(model.failures_html())] == [[r.rule_id, r.note] for r in failures]
    assert row_with(model.failures_html(), "7.1.1.7/4c")[2] == "Refer-Sub is None, expected true"
    label = "✗ " + ", ".join(r.rule_id for r in failures)
    assert label in visible_text(model.svg)  # written under the red arrow
    assert "1 failed" in visible_text(model.summary_html()) and "some fail" in visible_text(model.summary_html())


def test_a_conforming_trace_has_no_red() -> None:
    trace, _ = refer_trace(refer_sub=True)
    live = LiveTrace(trace, check=lambda t: conformance.check(t, ["7.1.1.7"], rules=[
        r for r in conformance.rules_for(["7.1.1.7"]) if r.item in ("1", "4c", "4d")]))
    model = LadderModel(live)
    assert all(FAILED_COLOR not in c for c in arrow_colours(model.svg).values())
    assert model.failures_html() == "" and "none failed" in visible_text(model.summary_html())


def test_the_picture_grows_with_the_trace() -> None:
    trace, model = ladder()
    told: list[bool] = []
    model.changed.subscribe(lambda: told.append(True))
    trace.record(3.0, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE, SERVER,
                 response_to(trace[0].raw, 200, "OK"))
    assert told == [True] and "record-3" in arrow_colours(model.svg)
    assert "4 records" in visible_text(model.html())


def test_only_the_last_rows_are_drawn() -> None:
    _, model = ladder(max_rows=2)
    assert set(arrow_colours(model.svg)) == {"record-1", "record-2"}
    assert "3 records (drawing the last 2)" in visible_text(model.summary_html())
    with pytest.raises(ValueError):
        LadderModel(model.live, max_rows=0)


def test_without_graphviz_the_text_ladder_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)
    _, model = ladder()
    assert model.svg is None and model.text is not None
    assert "REFER [7.1.1.7]" in model.text and "202 Accepted" in model.text
    assert "REFER [7.1.1.7]" in visible_text(model.html())


def test_without_dot_the_text_ladder_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dot(*args: object, **kwargs: object) -> str:
        raise graphviz.ExecutableNotFound(("dot",))

    monkeypatch.setattr(graphviz.Digraph, "pipe", no_dot)
    _, model = ladder()
    assert model.svg is None and "SEND" in (model.text or "")


def test_an_empty_trace_and_a_broken_check_are_said_so() -> None:
    def broken(trace: Trace) -> conformance.Report:
        raise RuntimeError("rule crashed")

    model = LadderModel(LiveTrace(Trace(), check=broken))
    text = visible_text(model.html())
    assert "no messages yet" in text and "RuntimeError: rule crashed" in text
