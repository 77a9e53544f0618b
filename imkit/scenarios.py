"""One runnable scenario per clause of 7.1.1: the set-up it needs, then the procedure.

``imkit run CLAUSE``, the notebooks and the end-to-end tests all use these,
so "what 7.1.1.7 looks like on the wire" has one definition: a 7.1.1.7 run
first creates an ad-hoc conference (7.1.1.3) and then adds users by REFER.
Each scenario drives a real :class:`~imkit.client.IMClient` against a real
IM Server (the embedded test server or any other) and returns what it did;
the trace holds every message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Sequence

from imkit.client import IMClient, IMSession
from imkit.procedures.errors import ProcedureError
from imkit.trace import Trace



@dataclass
class ScenarioOptions:
    """What a person may choose for a run (``imkit run`` options)."""

    invite: list[str] = field(default_factory=list)
    conference: str | None = None
    anonymous: bool = False
    domain: str = "example.com"

    def invitees(self, default: Sequence[str]) -> list[str]:
        return list(self.invite) if self.invite else [f"sip:{name}@{self.domain}" for name in default]


@dataclass
class ScenarioResult:
    clause: str
    steps: list[str] = field(default_factory=list)

    def step(self, text: str) -> None:
        self.steps.append(text)


Scenario = Callable[[IMClient, ScenarioOptions, ScenarioResult], Awaitable[None]]


async def _chat(session: IMSession, result: ScenarioResult, text: str = "hello") -> None:
    await session.send(text)
    result.step(f"sent chat {text!r}")


async def _wait_roster(session: IMSession, predicate: Callable[[list[str]], bool], timeout: float = 10.0) -> list[str]:
    subscription = session.subscription
    if subscription is None:
        return []
    await subscription.wait_for(lambda state: predicate([u.entity for u in state.roster]), timeout)
    return session.roster


async def one_to_one(client: IMClient, options: ScenarioOptions, result: ScenarioResult) -> None:
    peer = options.invitees(["bob"])[0]
    session = await client.start_session(peer, anonymous=options.anonymous)
    result.step(f"1-1 session with {peer}, IM Session Identity {session.identity}")
    await _chat(session, result)
    await session.leave()
    result.step("left with BYE")


async def adhoc(client: IMClient, options: ScenarioOptions, result: ScenarioResult) -> None:
    invited = options.invitees(["bob", "carol"])
    conference = await client.start_adhoc_conference(invited, anonymous=options.anonymous)
    result.step(f"ad-hoc conference {conference.identity} with {', '.join(invited)}")
    roster = await _wait_roster(conference, lambda users: len(users) > len(invited))
    result.step(f"roster: {', '.join(roster)}")
    await _chat(conference, result)
    await conference.leave()
    result.step("left with BYE")


async def predefined(client: IMClient, options: ScenarioOptions, result: ScenarioResult) -> None:
    group = options.conference or f"sip:group-friends@{options.domain}"
    conference = await client.join_group(group, anonymous=options.anonymous)
    result.step(f"pre-defined group {group}: IM Session Identity {conference.identity}")
    await conference.leave()
    result.step("left with BYE")


async def modify(client: IMClient, options: ScenarioOptions, result: ScenarioResult) -> None:
    session = await client.start_session(options.invitees(["bob"])[0], anonymous=options.anonymous)
    result.step(f"1-1 session, offer accept-types {', '.join(session.accept_types)}")
    await session.modify(["message/cpim", "text/plain", "text/html"], anonymous=options.anonymous)
    result.step(f"modified by re-INVITE: accept-types {', '.join(session.accept_types)}")
    await _chat(session, result, "still here after the modification")
    await session.leave()


async def extend(client: IMClient, options: ScenarioOptions, result: ScenarioResult) -> None:
    invited = options.invitees(["bob", "carol"])
    session = await client.start_session(invited[0])
    result.step(f"1-1 session with {invited[0]}")
    conference = await session.extend_to_conference(invited[1:] or [f"sip:carol@{options.domain}"], anonymous=options.anonymous)
    result.step(f"extended to ad-hoc conference {conference.identity}")
    await asyncio.wait_for(session.ended.wait(), 10.0)
    result.step("the replaced 1-1 session ended with BYE")
    await conference.leave()


async def add_users(client: IMClient, options: ScenarioOptions, result: ScenarioResult) -> None:
    conference = await client.start_adhoc_conference([f"sip:bob@{options.domain}"])
    result.step(f"ad-hoc conference {conference.identity} with bob")
    added = options.invitees(["carol", "dave"])
    referral = await conference.add_participants(added, anonymous=options.anonymous)
    kind = "single REFER" if len(added) == 1 else "multiple REFER"
    result.step(f"{kind} for {', '.join(added)}: {referral.response.status if referral.response else '?'}")
    roster = await _wait_roster(conference, lambda users: all(any(a.split(':')[1] in u for u in users) for a in added))
    result.step(f"roster: {', '.join(roster)}")
    await conference.leave()


async def refresh(client: IMClient, options: ScenarioOptions, result: ScenarioResult) -> None:
    session = await client.start_session(options.invitees(["bob"])[0])
    timer = session.state.timer
    result.step(f"session timer {timer.interval if timer else 'none'}s")
    await session.refresh()
    result.step("refreshed by re-INVITE (RFC 4028)")
    await session.leave()


async def rejoin(client: IMClient, options: ScenarioOptions, result: ScenarioResult) -> None:
    conference = await client.start_adhoc_conference(options.invitees(["bob"]))
    identity = conference.identity
    result.step(f"ad-hoc conference {identity}")
    await conference.leave()
    result.step("left; the IM Session Identity is kept for rejoining")
    again = await client.rejoin(anonymous=options.anonymous)
    result.step(f"rejoined {again.identity}")
    await again.leave()


async def public(client: IMClient, options: ScenarioOptions, result: ScenarioResult) -> None:
    uri = options.conference or f"sip:chat-public@{options.domain}"
    conference = await client.join_public_conference(uri, anonymous=options.anonymous)
    result.step(f"joined public conference {uri}: {conference.identity}")
    await conference.leave()


async def events(client: IMClient, options: ScenarioOptions, result: ScenarioResult) -> None:
    conference = await client.start_adhoc_conference(options.invitees(["bob"]))
    subscription = conference.subscription or await conference.subscribe()
    roster = await _wait_roster(conference, lambda users: len(users) >= 2)
    own = subscription.own_user
    result.step(f"conference state: {', '.join(roster)}; own user {own.entity if own else 'unknown'}")
    await subscription.terminate()
    result.step("subscription terminated (Expires: 0)")
    await conference.leave()


async def leave(client: IMClient, options: ScenarioOptions, result: ScenarioResult) -> None:
    conference = await client.start_adhoc_conference(options.invitees(["bob"]))
    await conference.leave(anonymous=options.anonymous)
    result.step(f"left {conference.identity} with BYE")


async def cancel(client: IMClient, options: ScenarioOptions, result: ScenarioResult) -> None:
    pending = client.begin(client.prepare.start_adhoc_conference(options.invitees(["bob"]), anonymous=options.anonymous))
    response = await pending.cancel()
    result.step(f"CANCEL answered {response.status if response else 'not needed'}")
    try:
        await pending.session()
    except ProcedureError as exc:
        result.step(str(exc))
    except Exception as exc:  # the INVITE's 487
        result.step(f"INVITE ended: {exc}")


async def remove(client: IMClient, options: ScenarioOptions, result: ScenarioResult) -> None:
    invited = options.invitees(["bob", "carol"])
    conference = await client.start_adhoc_conference(invited)
    await _wait_roster(conference, lambda users: len(users) > len(invited))
    removed = invited[0]
    referral = await conference.remove_participant(removed, anonymous=options.anonymous)
    result.step(f"REFER method=BYE for {removed}: {referral.response.status if referral.response else '?'}")
    roster = await _wait_roster(conference, lambda users: not any(removed.split(":")[1] == u.split(":", 1)[1] for u in users))
    result.step(f"roster: {', '.join(roster)}")
    await conference.leave()


SCENARIOS: dict[str, Scenario] = {
    "7.1.1.1": one_to_one,
    "7.1.1.2": one_to_one,
    "7.1.1.3": adhoc,
    "7.1.1.4": predefined,
    "7.1.1.5": modify,
    "7.1.1.6": extend,
    "7.1.1.7": add_users,
    "7.1.1.8": refresh,
    "7.1.1.9": rejoin,
    "7.1.1.10": public,
    "7.1.1.11": events,
    "7.1.1.12": leave,
    "7.1.1.13": cancel,
    "7.1.1.14": remove,
}


def report_clauses(clause: str, trace: Trace) -> list[str]:
    """The clauses whose rules judge a run: the one asked for, 7.1.1.1 (it
    shapes every request), and every clause that sent something in the run
    (a 7.1.1.7 run also creates a conference with 7.1.1.3 and leaves with
    7.1.1.12)."""
    from imkit.procedures import CLAUSES

    used = {record.label for record in trace if record.label in CLAUSES}
    return [c for c in CLAUSES if c in used or c in (clause, "7.1.1.1")]


async def run(clause: str, client: IMClient, options: ScenarioOptions) -> ScenarioResult:
    if clause not in SCENARIOS:
        raise KeyError(f"no scenario for {clause!r}; known: {', '.join(SCENARIOS)}")
    result = ScenarioResult(clause)
    await SCENARIOS[clause](client, options, result)
    return result
