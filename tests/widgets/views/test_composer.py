"""imkit.widgets.views.composer driven like a browser would: values from the
front end, clicks, and what the kernel sends back."""

from __future__ import annotations

import asyncio
from typing import Any

import ipywidgets as widgets

from imkit.procedures.outgoing import OutgoingRequest
from imkit.widgets.composer import FORMS, ComposerModel, ComposerState
from imkit.widgets.views import Composer
from imkit.widgets.wiretext import from_text
from tests.widgets.support import FixedBuilder, visible_text
from tests.widgets.views.conftest import from_front_end, sent_values


class Sent:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def __call__(self, out: OutgoingRequest) -> Any:
        self.sent.append(bytes(out))
        await asyncio.sleep(0)
        return "<Referral 7.1.1.7 202>"


def composer() -> tuple[Composer, ComposerModel, FixedBuilder, Sent]:
    builder, send = FixedBuilder(), Sent()
    model = ComposerModel(builder, send, forms={c: FORMS[c] for c in ("7.1.1.7", "7.1.1.2")})
    return Composer(model), model, builder, send


def test_the_inputs_follow_the_procedure_picked_in_the_browser() -> None:
    view, model, _, _ = composer()
    assert [w.description for w in view.params.children] == ["invited IM Users", "anonymous (Privacy: id, 7.1.1.1 item 5)"]
    assert isinstance(view.params.children[0], widgets.Textarea)
    assert view.send_button.disabled and view.revert_button.disabled
    from_front_end(view.procedure, index=1)
    assert model.clause == "7.1.1.2"
    assert view.params.children[0].description == "recipient"
    assert isinstance(view.params.children[0], widgets.Text) and isinstance(view.params.children[1], widgets.Checkbox)


def test_typing_invitees_builds_and_the_preview_reaches_the_browser() -> None:
    view, model, builder, _ = composer()
    from_front_end(view.params.children[0], value="sip:bob@example.com\nsip:carol@example.com")
    assert model.state is ComposerState.READY and len(builder.calls) == 1
    preview = sent_values(view.preview)[-1]
    assert "Refer-Sub: true" in preview and "← 7.1.1.7 item 4c" in visible_text(preview)
    assert sent_values(view.editor)[-1] == model.text
    assert sent_values(view.send_button, "disabled")[-1] is False


def test_an_edit_in_the_browser_is_parsed_and_its_error_shown() -> None:
    view, model, _, _ = composer()
    from_front_end(view.params.children[0], value="sip:bob@example.com\nsip:carol@example.com")
    from_front_end(view.editor, value=model.text.replace("CSeq: 1 REFER", "CSeq: one REFER"))
    assert model.state is ComposerState.INVALID
    assert "does not parse" in visible_text(sent_values(view.problem)[-1])
    assert sent_values(view.send_button, "disabled")[-1] is True
    view.revert_button.click()
    assert model.state is ComposerState.READY and not model.edited and view.problem.value == ""


def test_fix_content_length_button() -> None:
    view, model, _, _ = composer()
    from_front_end(view.params.children[0], value="sip:bob@example.com\nsip:carol@example.com")
    from_front_end(view.editor, value=model.text.replace("carol", "carolyn"))
    assert model.state is ComposerState.INVALID
    view.fix_button.click()
    assert model.state is ComposerState.READY and len(model.out.request.body) == 203
    assert "\nContent-Length: 203\n" in view.editor.value


async def test_send_button_sends_what_the_editor_shows() -> None:
    view, model, _, send = composer()
    from_front_end(view.params.children[0], value="sip:bob@example.com\nsip:carol@example.com")
    from_front_end(view.editor, value=model.text.replace("Refer-Sub: true", "Refer-Sub: false"))
    view.send_button.click()
    assert model.state is ComposerState.SENDING and view.send_button.disabled
    assert view.editor.disabled and view.procedure.disabled and view.params.children[0].disabled
    view.send_button.click()  # a second click while sending sends nothing more
    await asyncio.sleep(0.01)
    assert not view.editor.disabled
    assert send.sent == [from_text(view.editor.value)]
    assert model.state is ComposerState.SENT and "&lt;Referral 7.1.1.7 202&gt;" in view.status.value


def test_the_views_own_writes_do_not_echo_back_to_the_model() -> None:
    view, model, builder, _ = composer()
    model.select("7.1.1.2")  # the view rebuilds its inputs and resets the Dropdown's options
    model.set_value("recipient", "sip:bob@example.com")
    assert builder.calls == [("7.1.1.2", {"recipient": "sip:bob@example.com", "anonymous": False})]
    assert view.procedure.value == "7.1.1.2" and view.params.children[0].value == "sip:bob@example.com"


def test_close_stops_observing() -> None:
    view, model, _, _ = composer()
    view.close()
    model.set_value("invited", "sip:bob@example.com")
    assert view.preview.value == "<i>nothing built yet</i>"
