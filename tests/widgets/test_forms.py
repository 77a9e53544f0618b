"""imkit.widgets.forms: the procedures offered, parameter parsing, ClientBuilder."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from imkit.client.prepare import Prepare
from imkit.errors import ParseError
from imkit.widgets.forms import FORMS, ClientBuilder, Param, ParamKind, parse_param


@pytest.mark.parametrize(("kind", "raw", "value"), [
    (ParamKind.NUMBER, " 90 ", 90), (ParamKind.NUMBER, "", None),
    (ParamKind.TYPES, "message/cpim  text/plain", ["message/cpim", "text/plain"]), (ParamKind.TYPES, " ", None),
    (ParamKind.OPTIONAL_URI, "  ", None), (ParamKind.URI, " sip:a@b ", "sip:a@b"), (ParamKind.FLAG, 1, True),
])
def test_parse_param(kind: ParamKind, raw: str, value: object) -> None:
    assert parse_param(Param("p", kind, "p"), raw) == value


@pytest.mark.parametrize(("kind", "raw", "offset"), [
    (ParamKind.NUMBER, "ninety", 0), (ParamKind.URI, "", 0), (ParamKind.URIS, "\n \n", 0),
    (ParamKind.URI, "  sip:a b@c", 7), (ParamKind.URIS, "sip:é@x\nsip:a b", 14),  # é is two bytes
])
def test_parse_param_refuses_with_a_byte_offset(kind: ParamKind, raw: str, offset: int) -> None:
    with pytest.raises(ParseError) as caught:
        parse_param(Param("p", kind, "p"), raw)
    assert caught.value.offset == offset


class FakePrepare:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def method(*args: Any, **kwargs: Any) -> str:
            self.calls.append((name, args, kwargs))
            return name

        return method


class FakeClient:
    def __init__(self) -> None:
        self.prepare = FakePrepare()


def test_client_builder_calls_client_prepare_with_the_session_when_needed() -> None:
    client = FakeClient()
    build = ClientBuilder(client)  # type: ignore[arg-type]
    assert build("7.1.1.2", recipient="sip:bob@example.com", anonymous=True) == "start_session"
    with pytest.raises(ValueError, match="acts on an IM Session"):
        build("7.1.1.7", invited=["sip:carol@example.com"], anonymous=False)
    build.session = "the session"  # type: ignore[assignment]
    build("7.1.1.7", invited=["sip:carol@example.com"], anonymous=False)
    assert client.prepare.calls == [
        ("start_session", (), {"recipient": "sip:bob@example.com", "anonymous": True}),
        ("add_participants", ("the session",), {"invited": ["sip:carol@example.com"], "anonymous": False}),
    ]


def test_every_form_names_a_method_of_client_prepare() -> None:


    for form in FORMS.values():
        signature = inspect.signature(getattr(Prepare, form.method))
        names = list(signature.parameters)[1:]  # past self
        expected = (["session"] if form.on_session else []) + [p.name for p in form.params]
        assert names == expected, form.clause
