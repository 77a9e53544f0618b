"""The widgets on a live IMClient against the embedded test IM Server:
compose and send by clicking, watch the ladder and the conference."""

from __future__ import annotations

import asyncio

from imkit import conformance
from imkit.client import IMClient, IMSession, Referral
from imkit.server import TestServer
from imkit.trace import Trace
from imkit.widgets import ClientBuilder, ComposerModel, ComposerState
from imkit.widgets.conference import OwnMark
from imkit.widgets.views import Composer, ConferenceView, Explorer
from tests.widgets.support import row_with, visible_text


async def until(condition: object, timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


async def test_compose_send_and_watch_a_conference() -> None:
    trace = Trace()
    async with TestServer(domain="example.com", transports=("udp",)) as server:
        host, port = server.address
        async with IMClient("sip:alice@example.com", server=f"{host}:{port}", trace=trace,
                            blocklist=["sip:carol@example.com"]) as alice:
            explorer = Explorer(trace, check=lambda t: conformance.check(t, ["7.1.1.3", "7.1.1.7"]))
            builder = ClientBuilder(alice)
            composer = Composer(ComposerModel(builder, alice.send, clause="7.1.1.3"))
            model = composer.model

            composer.params.children[0].value = "sip:bob@example.com\nsip:carol@example.com"
            assert model.state is ComposerState.READY
            composer.send_button.click()
            await until(lambda: model.state is not ComposerState.SENDING)
            session = model.result
            assert model.state is ComposerState.SENT and isinstance(session, IMSession)
            assert "IM Session Identity" in visible_text(composer.status.value)

            subscription = session.subscription
            assert subscription is not None
            await subscription.wait_for(lambda state: len(state.roster) >= 3)
            view = ConferenceView.for_subscription(subscription, trace)
            watching = view.model.watch_soon(subscription, trace)
            rows = {row.shown: row for row in view.model.rows}
            assert rows["sip:alice@example.com"].own is OwnMark.YOUROWN
            assert rows["sip:carol@example.com"].blocked and not rows["sip:bob@example.com"].blocked
            assert row_with(view.roster.value, "sip:carol@example.com")[5] == "⛔ blocked user joined"
            assert view.model.notify is not None and view.model.notify.message.method == "NOTIFY"

            builder.session = session
            model.select("7.1.1.7")
            composer.params.children[0].value = "sip:dave@example.com"
            composer.send_button.click()
            await until(lambda: model.state is not ComposerState.SENDING)
            assert model.state is ComposerState.SENT and isinstance(model.result, Referral)
            await until(lambda: any(u.entity == "sip:dave@example.com" for u in view.model.state.roster))
            assert "+ joined sip:dave@example.com" in visible_text(view.change.value)

            explorer.live.refresh()
            assert explorer.live.report is not None and explorer.live.report.ok
            refer = next(r for r in trace if r.label == "7.1.1.7")
            explorer.inspector.model.set_follow(False)
            explorer.inspector.model.select(refer.seq)
            assert row_with(explorer.inspector.headers.value, "Refer-To: <sip:dave@example.com>")[2].startswith(
                "← 7.1.1.7 item 3a")
            assert f"record&#45;{refer.seq}" in explorer.ladder.picture.value

            watching.cancel()
            explorer.close()
            await session.leave()
