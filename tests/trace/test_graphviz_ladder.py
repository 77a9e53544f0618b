"""The graphviz ladder (imkit/trace/graphviz_ladder.py), rendered by graphviz."""

from __future__ import annotations

from pathlib import Path

import graphviz
import pytest
from lxml import etree

from imkit.trace import Direction, Protocol, Trace, Transport
from imkit.trace.graphviz_ladder import FAILED_COLOR, MSRP_COLOR, SIP_COLOR
from tests.support.tools import require_binary
from tests.trace.trace_messages import (
    ALICE_MSRP,
    ALICE_SIP,
    BOB_MSRP,
    MSRP_OK,
    MSRP_SEND,
    SERVER_SIP,
    sip_request,
    sip_response,
)

SVG = "{http://www.w3.org/2000/svg}"
XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"


def _session() -> Trace:
    trace = Trace(names={ALICE_SIP: "alice", ALICE_MSRP: "alice", SERVER_SIP: "server", BOB_MSRP: "bob"})
    trace.record(1.0, Direction.SENT, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP,
                 sip_request("INVITE"))
    trace.record(1.25, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP,
                 sip_response(200, "OK"))
    trace.record(2.0, Direction.SENT, Protocol.MSRP, Transport.TCP, ALICE_MSRP, BOB_MSRP, MSRP_SEND)
    trace.record(2.5, Direction.RECEIVED, Protocol.MSRP, Transport.TCP, ALICE_MSRP, BOB_MSRP, MSRP_OK)
    return trace


def _render(graph: graphviz.Digraph) -> etree._Element:
    require_binary(graph.engine)
    svg = graph.pipe(format="svg")
    return etree.fromstring(svg, etree.XMLParser(resolve_entities=False, no_network=True,
                                                 load_dtd=False))


def _edge_attrs(graph: graphviz.Digraph, seq: int) -> str:
    (line,) = [line for line in graph.body if f'id="record-{seq}"' in line]
    return line


def test_source_has_lanes_styles_and_a_red_failed_edge() -> None:
    trace = _session()
    graph = trace.to_graphviz(failed={1: "7.1.1.2 item 1: no Contact"})
    source = graph.source
    for lane in ("alice", "server", "bob"):
        assert f"label={lane} " in source
    assert source.count("shape=box") == 3
    assert f'color="{SIP_COLOR}"' in _edge_attrs(graph, 0)
    failed = _edge_attrs(graph, 1)
    assert f'color="{FAILED_COLOR}"' in failed and "style=dashed" in failed
    assert "FAILED: 7.1.1.2 item 1: no Contact" in failed
    assert f'color="{MSRP_COLOR}"' in _edge_attrs(graph, 2) and "arrowhead=vee" in _edge_attrs(graph, 2)
    assert "✗ 7.1.1.2 item 1: no Contact" in source
    # marked on the trace itself, the same
    trace.mark_failed(3, "late")
    assert f'color="{FAILED_COLOR}"' in _edge_attrs(trace.to_graphviz(), 3)
    assert f'color="{FAILED_COLOR}"' not in _edge_attrs(trace.to_graphviz(), 1)


def test_svg_has_a_tooltip_and_an_id_per_arrow() -> None:
    trace = _session()
    trace.mark_failed(1, "no Contact")
    svg = _render(trace.to_graphviz())
    groups = {g.get("id"): g for g in svg.iter(f"{SVG}g")}
    for seq in range(4):
        assert f"record-{seq}" in groups and f"record-{seq}-label" in groups
    tooltip = next(a.get(XLINK_TITLE) for a in groups["record-0"].iter(f"{SVG}a"))
    assert tooltip.splitlines()[0] == "INVITE sip:bob@example.com SIP/2.0"
    assert "Accept-Contact: *;+g.oma.sip-im" in tooltip.splitlines()
    failed = groups["record-1"]
    assert "failed" in failed.get("class")
    assert {p.get("stroke") for p in failed.iter(f"{SVG}path")} == {FAILED_COLOR}
    texts = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]
    assert {"alice", "server", "bob", "INVITE", "200 OK", "SEND", "✗ no Contact"} <= set(texts)


def test_arrows_are_straight_and_lanes_in_order() -> None:
    svg = _render(_session().to_graphviz())
    heads = {"".join(t.itertext()): float(t.get("x")) for t in svg.iter(f"{SVG}text")
             if "".join(t.itertext()) in ("alice", "server", "bob")}
    assert heads["alice"] < heads["server"] < heads["bob"]
    groups = {g.get("id"): g for g in svg.iter(f"{SVG}g")}
    for seq in range(4):
        path = next(groups[f"record-{seq}"].iter(f"{SVG}path")).get("d")
        ys = {point.split(",")[1] for point in path.replace("M", " ").replace("C", " ").split()}
        assert len(ys) == 1  # horizontal


def test_text_that_looks_like_dot_syntax_is_shown_as_is() -> None:
    trace = Trace()
    trace.record(1.0, Direction.RECEIVED, Protocol.SIP, Transport.UDP, ALICE_SIP, SERVER_SIP,
                 b"<html>\\N\\l \"quoted\"</html>")
    svg = _render(trace.to_graphviz(names={SERVER_SIP: "<b>\\N</b>"}))
    texts = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]
    assert "<b>\\N</b>" in texts
    tooltips = [a.get(XLINK_TITLE) for a in svg.iter(f"{SVG}a")]
    assert any(t and t.startswith('<html>\\N\\l "quoted"</html>') for t in tooltips)


def test_repr_svg_for_jupyter() -> None:
    require_binary("neato")
    svg = _session()._repr_svg_()
    assert svg is not None and svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert Trace()._repr_svg_() is None


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_render_to_a_file(tmp_path: Path, fmt: str) -> None:
    require_binary("neato")
    out = _session().to_graphviz().render(tmp_path / "ladder", format=fmt)
    data = Path(out).read_bytes()
    assert data.startswith(b"\x89PNG") if fmt == "png" else b"<svg" in data
