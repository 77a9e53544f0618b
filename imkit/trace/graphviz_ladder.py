"""A trace as a graphviz ladder diagram (SVG in Jupyter, PNG or SVG files).

A ladder is a grid, so nothing is left to a layout algorithm: every node is
pinned (``pos="x,y!"``, in points) and the graph uses the ``neato`` engine,
which draws pinned nodes where they are and edges as straight lines (it ships
with ``dot`` in every graphviz package).  One lane per endpoint name: a head
box on top and a dashed grey line down.  One row per record: the sequence
number and time on the left, an arrow between two invisible points of its
lanes, and the arrow's text in a label node centred above it.

Style: SIP arrows blue, MSRP arrows green, thicker and with open heads;
responses dashed; failed records red, with the reason under the title.
Each arrow and its label carry a tooltip (start line and header fields,
and why it failed or does not parse) and the SVG ids ``record-<seq>`` and
``record-<seq>-label`` so a widget can find the record behind a click.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import graphviz

from imkit.trace.ladder import Arrow, arrows
from imkit.trace.record import Address, Protocol, TraceRecord

SIP_COLOR = "#1f4e9e"
MSRP_COLOR = "#2e7d32"
FAILED_COLOR = "#d32f2f"
LANE_COLOR = "#9e9e9e"
FONT = "Helvetica"
FONT_SIZE = 10
#: Layout, in points.
ROW_HEIGHT = 42
MIN_LANE_GAP = 170
CHAR_WIDTH = 6.2  # a generous average for FONT at FONT_SIZE
TIME_X = 0
FIRST_LANE_X = 110
HEAD_Y = 30


def _dot_text(text: str) -> str:
    """Text shown as is: not an HTML-like label even if it looks like
    ``<...>``, and with DOT's backslash escapes (``\\N``, ``\\l``) disabled."""
    return graphviz.escape(text)


def _pos(x: float, y: float) -> str:
    return f"{x:.1f},{y:.1f}!"


def _color(arrow: Arrow) -> str:
    if arrow.failed is not None:
        return FAILED_COLOR
    return MSRP_COLOR if arrow.record.protocol is Protocol.MSRP else SIP_COLOR


def _tooltip(arrow: Arrow) -> str:
    record = arrow.record
    tooltip = record.head
    if arrow.failed is not None:
        tooltip = f"FAILED: {arrow.failed}\n\n{tooltip}"
    if record.parse_error is not None:
        tooltip = f"{tooltip}\n\n(does not parse: {record.parse_error})"
    return _dot_text(tooltip)


def to_graphviz(records: Iterable[TraceRecord], names: Mapping[Address, str],
                failed: Mapping[int, str]) -> graphviz.Digraph:
    """The ladder as a :class:`graphviz.Digraph` (engine ``neato``)."""
    lanes, placed = arrows(records, names, failed)
    widest = max([len(a.text) for a in placed] + [len(f"✗ {a.failed}") for a in placed if a.failed]
                 + [len(name) for name in lanes] + [0])
    gap = max(MIN_LANE_GAP, widest * CHAR_WIDTH + 30)
    lane_x = [FIRST_LANE_X + index * gap for index in range(len(lanes))]
    bottom = -(len(placed) + 1) * ROW_HEIGHT
    graph = graphviz.Digraph(
        "ladder", engine="neato",
        graph_attr={"inputscale": "72", "splines": "line", "outputorder": "edgesfirst",
                    "fontname": FONT, "tooltip": "imkit trace", "pad": "0.2"},
        node_attr={"fontname": FONT, "fontsize": str(FONT_SIZE)},
        edge_attr={"fontname": FONT, "fontsize": str(FONT_SIZE)},
    )
    for index, (name, x) in enumerate(zip(lanes, lane_x, strict=True)):
        graph.node(f"lane{index}", _dot_text(name), pos=_pos(x, HEAD_Y), shape="box",
                   style="rounded,filled", fillcolor="#eeeeee", tooltip=_dot_text(name))
        graph.node(f"end{index}", "", pos=_pos(x, bottom), shape="point", width="0.01",
                   color=LANE_COLOR)
        graph.edge(f"lane{index}", f"end{index}", style="dashed", color=LANE_COLOR,
                   arrowhead="none")
    for row, arrow in enumerate(placed):
        record = arrow.record
        y = -(row + 1) * ROW_HEIGHT
        graph.node(f"t{row}", f"{record.seq}  {record.now:.3f}", pos=_pos(TIME_X, y),
                   shape="plaintext", fontsize="9", fontcolor="#616161", tooltip=f"{record.now!r}")
        start, end = lane_x[arrow.source], lane_x[arrow.destination]
        tail, head = f"r{row}s", f"r{row}d"
        graph.node(tail, "", pos=_pos(start, y), shape="point", width="0.04", color=LANE_COLOR)
        if start != end:
            graph.node(head, "", pos=_pos(end, y), shape="point", width="0.04", color=LANE_COLOR)
        color, tooltip = _color(arrow), _tooltip(arrow)
        msrp = record.protocol is Protocol.MSRP
        kind = f"{record.protocol.value.lower()}{' failed' if arrow.failed is not None else ''}"
        graph.edge(tail, head if start != end else tail, color=color,
                   style="dashed" if record.is_response else "solid",
                   penwidth="2" if msrp else "1.2", arrowhead="vee" if msrp else "normal",
                   tooltip=tooltip, id=f"record-{record.seq}", **{"class": kind})
        text = arrow.text if arrow.failed is None else f"{arrow.text}\n✗ {arrow.failed}"
        lines = text.count("\n") + 1
        middle = (start + end) / 2 if start != end else start + 40
        graph.node(f"r{row}label", _dot_text(text), pos=_pos(middle, y + 4 + lines * 6.5), shape="plaintext",
                   fontcolor=color, tooltip=tooltip, id=f"record-{record.seq}-label",
                   height="0.1", margin="0.02", **{"class": kind})
    return graph
