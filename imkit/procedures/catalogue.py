"""The rules of a clause as a table a person can read (Jupyter and text)."""

from __future__ import annotations

import html
from dataclasses import dataclass

from imkit.procedures import get
from imkit.procedures.rules import Rule


@dataclass(frozen=True)
class ClauseRules:
    """``imkit.procedures.catalogue.rules_of("7.1.1.7")``: the clause's title and rules."""

    clause: str
    title: str
    rules: tuple[Rule, ...]

    def to_text(self) -> str:
        lines = [f"{self.clause} {self.title}"]
        lines += [f"  {r.id:<16} {r.level.value:<6} {r.text}" for r in self.rules]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{html.escape(r.id)}</code></td><td>{r.level.value}</td>"
            f"<td>{html.escape(r.text)}{'<br><i>' + html.escape(r.note) + '</i>' if r.note else ''}</td></tr>"
            for r in self.rules
        )
        return (f"<div><b>{html.escape(self.clause)} {html.escape(self.title)}</b>"
                f"<table><tr><th>rule</th><th>level</th><th>the spec's words</th></tr>{rows}</table></div>")


def rules_of(clause: str) -> ClauseRules:
    module = get(clause)
    return ClauseRules(clause, module.TITLE, tuple(module.RULES))
