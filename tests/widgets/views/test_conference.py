"""imkit.widgets.views.conference: each update reaches the browser."""

from __future__ import annotations

from imkit.payloads.conference_info import ConferenceInfo, diff
from imkit.widgets.conference import ConferenceModel
from imkit.widgets.views import ConferenceView
from tests.widgets.support import FULL, PARTIAL, row_with, visible_text
from tests.widgets.views.conftest import sent_values


def test_updates_are_shown() -> None:
    model = ConferenceModel(own_aor="sip:alice@example.com", blocklist=["sip:mallory@example.com"])
    view = ConferenceView(model)
    assert "no conference state yet" in view.summary.value
    old = ConferenceInfo.from_xml(FULL)
    model.update(old)
    assert row_with(sent_values(view.roster)[-1], "Mallory")[5] == "⛔ blocked user joined"
    new = old.apply(ConferenceInfo.from_xml(PARTIAL))
    model.update(new, diff(old, new))
    assert "− left sip:mallory@example.com" in visible_text(sent_values(view.change)[-1])
    assert "blocked" not in visible_text(view.summary.value)
    assert "sip:carol@example.com" in visible_text(view.state_xml.value)
    view.close()
    model.update(old)
    assert "sip:carol@example.com" in view.roster.value  # no longer observing
