"""Views are driven without a browser, as ipywidgets' own tests do: the
comm every widget opens is replaced by one that records what the kernel
would send to the front end, and can deliver what a front end would send."""

from __future__ import annotations

import uuid
from typing import Any

import comm
import pytest
from ipywidgets import Widget


class RecordingComm:
    """Stands in for the kernel's comm: keeps the messages sent on it."""

    kernel = "recording"  # truthy: a widget sends only over a comm with a kernel

    def __init__(self, **kwargs: Any) -> None:
        self.comm_id = kwargs.get("comm_id") or uuid.uuid4().hex
        self.opened = kwargs.get("data")
        self.messages: list[dict[str, Any]] = []
        self.handler: Any = None
        self.closed = False

    def open(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_msg(self, callback: Any) -> None:
        self.handler = callback

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.messages.append(data)

    def close(self, *args: Any, **kwargs: Any) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def recording_comm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", lambda **kwargs: RecordingComm(**kwargs))


def sent_values(widget: Widget, name: str = "value") -> list[Any]:
    """What the kernel told the front end ``widget``'s ``name`` became, in order."""
    return [message["state"][name] for message in widget.comm.messages
            if message.get("method") == "update" and name in message["state"]]


def from_front_end(widget: Widget, **state: Any) -> None:
    """Deliver a state update as the browser would (the person typed or picked)."""
    widget.comm.handler({"content": {"data": {"method": "update", "state": state, "buffer_paths": []}},
                         "buffers": []})
