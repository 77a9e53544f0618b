"""Simulated users' behaviours: the text form and what they say in a chat."""

from __future__ import annotations

import pytest

from imkit.errors import LocalProtocolError
from imkit.server import Answer, Behaviour, Chat
from imkit.sip.sdp import Setup


@pytest.mark.parametrize(("text", "expected"), [
    ("answer", Behaviour()),
    ("BUSY", Behaviour(Answer.BUSY)),
    ("decline", Behaviour(Answer.DECLINE)),
    ("no-answer", Behaviour(Answer.NO_ANSWER)),
    ("no-answer:5", Behaviour(Answer.NO_ANSWER, timeout=5.0)),
    ("no-answer:5:408", Behaviour(Answer.NO_ANSWER, timeout=5.0, timeout_status=408)),
    ("delay:2.5", Behaviour(Answer.DELAY, delay=2.5)),
    ("reject-replaces", Behaviour(Answer.REJECT_REPLACES)),
    ("reject-replaces:403", Behaviour(Answer.REJECT_REPLACES, replaces_status=403)),
    ("answer+active+silent", Behaviour(msrp_setup=Setup.ACTIVE, chat=Chat.SILENT)),
])
def test_parse(text: str, expected: Behaviour) -> None:
    parsed = Behaviour.parse(text)
    assert parsed == expected
    assert Behaviour.parse(str(parsed)) == parsed
    assert Behaviour.of(parsed) is parsed


@pytest.mark.parametrize("text", ["maybe", "busy:3", "delay:x", "no-answer:1:2:3", "no-answer:1:200",
                                  "answer+loud", "delay:-1"])
def test_bad_text(text: str) -> None:
    with pytest.raises(LocalProtocolError):
        Behaviour.parse(text)


def test_replies() -> None:
    assert Behaviour().reply("hi", 0) == "echo: hi"
    script = Behaviour(chat=Chat.SCRIPT, replies=("one", "two"))
    assert [script.reply("x", i) for i in range(3)] == ["one", "two", None]
    assert Behaviour(chat=Chat.SILENT).reply("x", 0) is None
    assert Behaviour.of(Answer.BUSY) == Behaviour(Answer.BUSY)
