"""imkit.widgets.composer: the composer's model, with the real 7.1.1 builders
(a fixed context) and a fake send."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from imkit.errors import ParseError
from imkit.procedures.outgoing import OutgoingRequest
from imkit.sip import parse
from imkit.widgets.composer import ComposerModel, ComposerState, edit_request, hand_edit
from imkit.widgets.forms import FORMS
from imkit.widgets.html import EDIT_CLAUSE
from imkit.widgets.wiretext import from_text, to_text
from tests.widgets.support import FixedBuilder, marked, row_with, visible_text

BOB_AND_CAROL = "sip:bob@example.com\nsip:carol@example.com"


class FakeSend:
    def __init__(self, result: Any = "sent!", error: Exception | None = None) -> None:
        self.sent: list[bytes] = []
        self.result = result
        self.error = error

    async def __call__(self, out: OutgoingRequest) -> Any:
        self.sent.append(bytes(out))
        await asyncio.sleep(0)
        if self.error is not None:
            raise self.error
        return self.result


def composer(clause: str = "7.1.1.7", **kwargs: Any) -> tuple[ComposerModel, FixedBuilder, FakeSend]:
    builder, send = FixedBuilder(), FakeSend()
    forms = {c: FORMS[c] for c in ("7.1.1.7", "7.1.1.2")}
    return ComposerModel(builder, send, forms=forms, clause=clause, **kwargs), builder, send


def built_refer() -> ComposerModel:
    model, _, _ = composer()
    model.set_value("invited", BOB_AND_CAROL)
    assert model.state is ComposerState.READY
    return model


def test_nothing_is_built_until_the_required_parameters_are_given() -> None:
    model, builder, _ = composer()
    assert model.state is ComposerState.EMPTY and builder.calls == []
    assert "fill in: invited IM Users" in visible_text(model.status_html())
    model.set_value("anonymous", True)
    assert builder.calls == [] and model.out is None


def test_a_parameter_change_builds_the_request_with_the_real_builder() -> None:
    model, builder, _ = composer()
    events: list[ComposerState] = []
    model.changed.subscribe(lambda: events.append(model.state))
    model.set_value("invited", BOB_AND_CAROL)
    assert builder.calls == [("7.1.1.7", {"invited": ["sip:bob@example.com", "sip:carol@example.com"],
                                          "anonymous": False})]
    again = FixedBuilder()("7.1.1.7", invited=["sip:bob@example.com", "sip:carol@example.com"], anonymous=False)
    assert model.out is not None and bytes(model.out) == bytes(again)
    assert model.text == to_text(bytes(again)) and from_text(model.text) == bytes(again)
    assert events == [ComposerState.READY] and model.can_send and not model.edited


def test_the_preview_gives_each_row_its_offset_and_reason() -> None:
    model = built_refer()
    data = bytes(model.out)
    preview = model.preview_html()
    refer_sub = row_with(preview, "Refer-Sub: true")
    assert refer_sub[0] == str(data.index(b"\r\nRefer-Sub: true") + 2)
    assert refer_sub[2].startswith("← 7.1.1.7 item 4c")
    assert row_with(preview, "Accept-Contact: *;+g.oma.sip-im")[2].startswith("← 7.1.1.1 item 1")
    start = row_with(preview, "REFER sip:conf-1@ims.example.com SIP/2.0")
    assert start[0] == "0" and "7.1.1.7 IM Client adding IM User(s)" in start[2] and "7.1.1.7 item 2" in start[2]
    assert f"body: {len(model.out.request.body)} bytes" in visible_text(preview)
    assert "Content-Length 201 ✓" in visible_text(preview) and len(model.out.request.body) == 201


def test_a_bad_uri_is_shown_at_its_place_in_the_parameter() -> None:
    model, builder, _ = composer()
    model.set_value("invited", "sip:bob@example.com\n  bob at example.com")
    assert model.state is ComposerState.INVALID and builder.calls == [] and not model.can_send
    problem = model.problem_html()
    assert "invited IM Users" in visible_text(problem)
    assert "(line 2, column 3)" in visible_text(problem)
    assert marked(problem) == ["b"]


def test_the_builder_refusing_is_shown_in_its_words() -> None:
    model, _, _ = composer()
    model.set_value("invited", "\n".join(f"sip:user{i}@example.com" for i in range(11)))
    assert model.state is ComposerState.INVALID
    text = visible_text(model.problem_html())
    assert "GroupSizeExceeded" in text and "11 invited IM Users exceed MAX-ADHOC-GROUP-SIZE of 10 [7.1.1.7/5]" in text


def test_an_edited_header_keeps_its_reasons_and_says_what_was_built() -> None:
    model = built_refer()
    model.edit(model.text.replace("Refer-Sub: true", "Refer-Sub: false"))
    assert model.state is ComposerState.READY and model.edited
    assert model.out.request.refer_sub is False
    reasons = model.out.why("Refer-Sub")
    assert reasons[0].item == "4c" and reasons[-1] == hand_edit("edited by hand; built: true")
    row = row_with(model.preview_html(), "Refer-Sub: false")
    assert "✎" in row[1] and "edited by hand; built: true" in row[2]
    assert "edited by hand" in visible_text(model.status_html())
    assert model.built is not None and model.built.request.refer_sub is True  # the build is untouched


def test_text_that_does_not_parse_blocks_sending_and_shows_where() -> None:
    model = built_refer()
    model.edit(model.text.replace("CSeq: 1 REFER", "CSeq: one REFER"))
    assert model.state is ComposerState.INVALID and model.out is None and not model.can_send
    data = from_text(model.text)
    with pytest.raises(ParseError) as caught:
        parse(data)
    text = visible_text(model.problem_html())
    assert f"at byte {caught.value.offset} of {len(data)}" in text
    assert model.preview_html() == model.problem_html()


def test_a_body_edit_is_caught_by_content_length_and_fixed_on_request() -> None:
    model = built_refer()
    model.edit(model.text.replace("sip:carol@example.com", "sip:dave@example.com"))
    assert model.state is ComposerState.INVALID
    assert "Content-Length is 201 but the body has 200 bytes" in visible_text(model.problem_html())
    model.fix_content_length()
    assert model.state is ComposerState.READY
    request = model.out.request
    assert request.headers.get("Content-Length") == "200" == str(len(request.body))
    assert b"sip:dave@example.com" in request.body
    assert all(p.clause != EDIT_CLAUSE for p in model.out.why("Content-Length"))  # RFC 3261 20.14 explains it
    assert model.out.why("Content-Type")[-1].note == "body edited by hand: 200 bytes, built 201"


def test_fixing_content_length_adds_the_header_when_missing() -> None:
    model = built_refer()
    model.edit("\n".join(line for line in model.text.split("\n") if not line.startswith("Content-Length")))
    model.fix_content_length()
    assert model.out is not None and model.out.request.headers.get_all("Content-Length") == ["201"]


def test_a_removed_header_loses_its_reasons_and_is_named() -> None:
    model = built_refer()
    model.edit("\n".join(line for line in model.text.split("\n") if not line.startswith("Refer-Sub")))
    assert "refer-sub" not in model.out.provenance
    assert "removed by hand: Refer-Sub" in visible_text(model.preview_html())


def test_revert_goes_back_to_the_build() -> None:
    model = built_refer()
    model.edit(model.text.replace("Refer-Sub: true", "Refer-Sub: false"))
    model.revert()
    assert not model.edited and bytes(model.out) == bytes(model.built)
    assert model.out.provenance == model.built.provenance


def test_a_response_is_not_sent() -> None:
    model, _, _ = composer()
    model.edit("SIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nContent-Length: 0\n\n")
    assert model.state is ComposerState.INVALID and "the composer sends requests" in visible_text(model.problem_html())


def test_a_request_written_from_scratch_is_explained_as_such() -> None:
    model, _, _ = composer()
    model.edit("OPTIONS sip:bob@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nCall-ID: x\n"
               "CSeq: 1 OPTIONS\nContent-Length: 0\n\n")
    assert model.can_send and model.out.clause == "7.1.1.7"
    assert model.out.why("Call-ID") == [hand_edit("written by hand")]


async def test_send_sends_the_bytes_shown_and_keeps_the_result() -> None:
    model, _, send = composer()
    model.set_value("invited", BOB_AND_CAROL)
    model.edit(model.text.replace("Refer-Sub: true", "Refer-Sub: false"))
    states: list[ComposerState] = []
    model.changed.subscribe(lambda: states.append(model.state))
    assert await model.send() == "sent!"
    assert send.sent == [from_text(model.text)] and b"Refer-Sub: false\r\n" in send.sent[0]
    assert states == [ComposerState.SENDING, ComposerState.SENT]
    assert not model.can_send and "sent!" in visible_text(model.status_html())
    with pytest.raises(RuntimeError):
        await model.send()


async def test_nothing_changes_while_sending() -> None:
    release = asyncio.Event()

    async def slow(out: OutgoingRequest) -> str:
        await release.wait()
        return "done"

    model = ComposerModel(FixedBuilder(), slow, forms={"7.1.1.7": FORMS["7.1.1.7"]})
    model.set_value("invited", BOB_AND_CAROL)
    task = model.send_soon()
    for change in (lambda: model.set_value("anonymous", True), model.build, lambda: model.edit("x"),
                   model.send_soon):
        with pytest.raises(RuntimeError):
            change()
    release.set()
    assert await task == "done" and model.state is ComposerState.SENT and model.values["anonymous"] is False


async def test_a_failed_send_is_shown() -> None:
    model, _, send = composer()
    send.error = RuntimeError("486 Busy Here")
    model.set_value("invited", BOB_AND_CAROL)
    await model.send_soon()
    assert model.state is ComposerState.FAILED
    assert "7.1.1.7 failed: RuntimeError: 486 Busy Here" in visible_text(model.problem_html())


def test_switching_procedure_keeps_parameters_of_the_same_name_and_kind() -> None:
    model, builder, _ = composer()
    model.set_value("anonymous", True)
    model.set_value("invited", BOB_AND_CAROL)
    model.select("7.1.1.2")
    assert model.values == {"recipient": "", "anonymous": True} and model.state is ComposerState.EMPTY
    model.set_value("recipient", " sip:bob@example.com ")
    assert builder.calls[-1] == ("7.1.1.2", {"recipient": "sip:bob@example.com", "anonymous": True})
    assert model.out.request.method == "INVITE" and model.out.request.headers.get("Privacy") == "id"


def test_without_live_the_person_builds() -> None:
    model, builder, _ = composer(live=False)
    model.set_value("invited", BOB_AND_CAROL)
    assert builder.calls == [] and model.state is ComposerState.EMPTY
    assert model.build() is model.out is not None


def test_edit_request_without_changes_keeps_reasons_exactly() -> None:
    out = FixedBuilder()("7.1.1.2", recipient="sip:bob@example.com", anonymous=False)
    edit = edit_request(out, parse(bytes(out)), "7.1.1.2")
    assert edit.out.provenance == out.provenance and edit.edited_rows == frozenset() and edit.removed == ()
