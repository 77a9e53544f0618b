"""The conformance report: each rule's verdict on a trace, and its renderings.

A :class:`Result` says which rule, the verdict, the message that decided it
(its trace ``seq`` and one-line summary) and the header.  :class:`Report`
renders as a text table (the CLI) and as HTML (Jupyter), and says whether
the run is acceptable: no SHALL rule failed.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass

from imkit.procedures.rules import Level, Rule, Verdict

_COLOURS = {Verdict.PASS: "#1a7f37", Verdict.FAIL: "#cf222e", Verdict.NOT_APPLICABLE: "#6e7781"}


@dataclass(frozen=True)
class Result:
    rule: Rule
    verdict: Verdict
    seq: int | None = None
    message: str = ""
    header: str | None = None
    note: str = ""

    @property
    def rule_id(self) -> str:
        return self.rule.id


@dataclass(frozen=True)
class Report:
    results: tuple[Result, ...]

    def __iter__(self):
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def for_rule(self, rule_id: str) -> list[Result]:
        return [r for r in self.results if r.rule_id == rule_id]

    def verdict(self, rule_id: str) -> Verdict:
        """The rule's overall verdict: fail if any message failed it, pass if
        any passed, else not applicable."""
        verdicts = {r.verdict for r in self.for_rule(rule_id)}
        if not verdicts:
            raise KeyError(f"no rule {rule_id} in this report")
        for verdict in (Verdict.FAIL, Verdict.PASS):
            if verdict in verdicts:
                return verdict
        return Verdict.NOT_APPLICABLE

    def failures(self, level: Level | None = None) -> list[Result]:
        return [r for r in self.results if r.verdict is Verdict.FAIL and (level is None or r.rule.level is level)]

    @property
    def ok(self) -> bool:
        """True when no SHALL rule failed."""
        return not self.failures(Level.SHALL)

    def counts(self) -> Counter[str]:
        return Counter(f"{r.rule.level.value} {r.verdict.value}" for r in self.results)

    def failed_seqs(self) -> dict[int, str]:
        """Records that failed a rule, with every failed rule, for drawing them red in a ladder."""
        failed: dict[int, list[str]] = {}
        for r in self.results:
            if r.verdict is Verdict.FAIL and r.seq is not None:
                failed.setdefault(r.seq, []).append(f"{r.rule_id}: {r.note}")
        return {seq: "; ".join(reasons) for seq, reasons in failed.items()}

    def to_text(self, *, show_not_applicable: bool = False) -> str:
        lines = [f"{'rule':<18} {'level':<7} {'verdict':<15} {'msg':>4}  {'header':<18} note"]
        for r in self.results:
            if r.verdict is Verdict.NOT_APPLICABLE and not show_not_applicable:
                continue
            seq = "" if r.seq is None else str(r.seq)
            lines.append(f"{r.rule_id:<18} {r.rule.level.value:<7} {r.verdict.value:<15} {seq:>4}  {(r.header or ''):<18} {r.note}")
        totals = self.counts()
        lines.append(
            "SHALL: {p} pass, {f} fail; SHOULD: {sp} pass, {sf} fail; MAY: {mp} taken".format(
                p=totals["SHALL pass"], f=totals["SHALL fail"], sp=totals["SHOULD pass"],
                sf=totals["SHOULD fail"], mp=totals["MAY pass"],
            )
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        rows = []
        for r in self.results:
            colour = _COLOURS[r.verdict]
            rows.append(
                "<tr>"
                f"<td title='{html.escape(r.rule.text, quote=True)}'><code>{html.escape(r.rule_id)}</code></td>"
                f"<td>{r.rule.level.value}</td>"
                f"<td style='color:{colour};font-weight:bold'>{r.verdict.value}</td>"
                f"<td>{'' if r.seq is None else r.seq}</td>"
                f"<td>{html.escape(r.message)}</td>"
                f"<td>{html.escape(r.header or '')}</td>"
                f"<td>{html.escape(r.note)}{'<br><i>' + html.escape(r.rule.note) + '</i>' if r.rule.note else ''}</td>"
                "</tr>"
            )
        status = "no SHALL rule failed" if self.ok else f"{len(self.failures(Level.SHALL))} SHALL failure(s)"
        return (
            f"<div><b>Conformance</b>: {status}<table>"
            "<tr><th>rule</th><th>level</th><th>verdict</th><th>msg</th><th>message</th><th>header</th><th>note</th></tr>"
            + "".join(rows) + "</table></div>"
        )
