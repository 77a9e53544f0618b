"""Fixtures of the server tests: a running TestServer and user agents."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from imkit.server import TestServer
from tests.server.sip_ua import UA


@pytest.fixture
async def server(make_ua: object) -> AsyncIterator[TestServer]:
    """A server closed before the user agents (its simulated users' BYEs get answers)."""
    async with TestServer(min_se=2, session_expires=60, min_expires=10) as running:
        yield running


@pytest.fixture
async def make_ua() -> AsyncIterator[Callable[..., Awaitable[UA]]]:
    started: list[UA] = []

    async def make(name: str, transport: str = "udp", **options: object) -> UA:
        ua = await UA(name, transport, **options).start()  # type: ignore[arg-type]
        started.append(ua)
        return ua

    yield make
    for ua in started:
        await ua.close()
