"""Write notebooks/NN_<clause>.ipynb, one per clause of 7.1.1, outputs empty.

Each notebook runs live against the embedded test IM Server on 127.0.0.1:
it shows the clause's rules, builds the request (every header annotated with
the clause item that demands it), sends it, draws the ladder, checks the
rules, then flips a server fault and shows the error path.  Run
``python scripts/make_notebooks.py`` after changing the table below; the
tests execute every notebook headless.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

START = '''%load_ext imkit.widgets
from imkit import IMClient, TestServer, Trace, conformance
from imkit.client import ProcedureFailed
from imkit.procedures.catalogue import rules_of
from imkit.scenarios import report_clauses

trace = Trace()
server = await TestServer(domain="example.com").start()
host, port = server.address
alice = await IMClient("sip:alice@example.com", display_name="Alice", server=f"{host}:{port}", trace=trace).start()
print(f"test IM Server on {host}:{port}; Alice's contact {alice.contact}")'''

EXPLORER = '''from imkit.widgets import Explorer

Explorer(trace, check=lambda t: conformance.check(t, report_clauses("{clause}", t)))'''

CHECK = '''report = conformance.check(trace, report_clauses("{clause}", trace))
display(trace.to_graphviz(failed=report.failed_seqs()))
report'''

CLOSE = '''await alice.close()
await server.close()'''

#: clause -> (title, what happens, set-up code, build code, send code, fault markdown, fault code)
CLAUSES: dict[str, tuple[str, str, str, str, str, str, str]] = {
    "7.1.1.1": (
        "General", "Every initial request gets the 7.1.1.1 headers; every response's Allow and Contact are stored; the 200 starts the session timer.",
        "", 'out = alice.prepare.start_session("sip:bob@example.com")\nprint(out.explain())',
        'session = await alice.send(out)\nprint("stored Allow:", session.allow)\nprint("session timer:", session.state.timer)\nawait session.leave()',
        "The server refuses the INVITE: nothing is stored, the session fails with the server's status.",
        'server.faults.add(method="INVITE", status=503, reason="Service Unavailable")\ntry:\n    await alice.start_session("sip:bob@example.com")\nexcept ProcedureFailed as failure:\n    print("failed as expected:", failure)',
    ),
    "7.1.1.2": (
        "Establishment of a One-to-One IM session", "An INVITE to Bob with an MSRP SDP offer; on the 200 the IM Session Identity is stored and MSRP chat starts.",
        "", 'out = alice.prepare.start_session("sip:bob@example.com")\nout',
        'session = await alice.send(out)\nawait session.send("Hello Bob")\nprint("IM Session Identity:", session.identity)\nawait session.leave()',
        "Bob is busy: the simulated user answers 486.",
        'server.users.add("erin", behaviour="busy")\ntry:\n    await alice.start_session("sip:erin@example.com")\nexcept ProcedureFailed as failure:\n    print("failed as expected:", failure)',
    ),
    "7.1.1.3": (
        "IM Client initiates an Ad-hoc IM Conference", "An INVITE to the Conference-factory-URI carrying the SDP offer and a URI list (RFC 5366); the focus dials out to Bob and Carol.",
        "", 'out = alice.prepare.start_adhoc_conference(["sip:bob@example.com", "sip:carol@example.com"])\nout',
        'conference = await alice.send(out)\nawait conference.subscription.wait_for(lambda state: len(state.roster) >= 3)\nprint("roster:", conference.roster)\nawait conference.send("Hello all")\nawait conference.leave()',
        "Too many invitees: the client checks MAX-ADHOC-GROUP-SIZE before sending, and nothing goes out.",
        'from imkit.procedures.errors import GroupSizeExceeded\ntry:\n    alice.prepare.start_adhoc_conference([f"sip:user{i}@example.com" for i in range(20)])\nexcept GroupSizeExceeded as refused:\n    print("refused before sending:", refused)',
    ),
    "7.1.1.4": (
        "IM Client initiates a Pre-Defined IM Conference", "An INVITE to the pre-defined group's URI; the server dials out to the group's members.",
        "", 'out = alice.prepare.join_group("sip:group-friends@example.com")\nout',
        'conference = await alice.send(out)\nprint("IM Session Identity:", conference.identity)\nawait conference.leave()',
        "The group is unknown to the server.",
        'try:\n    await alice.join_group("sip:group-nobody@example.com")\nexcept ProcedureFailed as failure:\n    print("failed as expected:", failure)',
    ),
    "7.1.1.5": (
        "IM Client IM Session Modification", "A re-INVITE in the session's dialog with the 7.1.1.1 headers and a modified SDP offer (same MSRP path, new accept-types).",
        'session = await alice.start_session("sip:bob@example.com")', 'out = alice.prepare.modify(session, ["message/cpim", "text/plain", "text/html"])\nout',
        'await alice.send(out)\nprint("accept-types now:", session.accept_types)\nawait session.leave()',
        "The server answers the re-INVITE 488: the session stays as it was.",
        'session = await alice.start_session("sip:bob@example.com")\nserver.faults.add(method="INVITE", status=488)\ntry:\n    await session.modify(["text/plain"])\nexcept ProcedureFailed as failure:\n    print("failed as expected:", failure)\nawait session.leave()',
    ),
    "7.1.1.6": (
        "IM Client extends 1-to-1 IM Session to an Ad-hoc IM conference", "An INVITE to the factory whose URI list names Bob with a Replaces header for the 1-1 dialog; Bob's 1-1 session ends with BYE.",
        'session = await alice.start_session("sip:bob@example.com")', 'out = alice.prepare.extend_to_conference(session, ["sip:carol@example.com"])\nout',
        'conference = await alice.send(out)\nimport asyncio\nawait asyncio.wait_for(session.ended.wait(), 10)\nprint("1-1 session ended:", session.state.phase)\nawait conference.leave()',
        "The factory refuses: the 1-1 session goes on.",
        'session = await alice.start_session("sip:bob@example.com")\nserver.faults.add(method="INVITE", to="conference-factory", status=403)\ntry:\n    await session.extend_to_conference(["sip:carol@example.com"])\nexcept ProcedureFailed as failure:\n    print("failed as expected:", failure)\nawait session.leave()',
    ),
    "7.1.1.7": (
        "IM Client adding IM User(s) to an IM Conference Session", "A REFER to the IM Session Identity: one invitee gives Refer-To + Refer-Sub: false; several give a multiple REFER (RFC 5368) with Require: multiple-refer, norefersub (item 4d).",
        'conference = await alice.start_adhoc_conference(["sip:bob@example.com"])', 'out = alice.prepare.add_participants(conference, ["sip:carol@example.com", "sip:dave@example.com"])\nout',
        'referral = await alice.send(out)\nprint(referral)\nawait conference.subscription.wait_for(lambda state: len(state.roster) >= 4)\nprint("roster:", conference.roster)',
        "The server refuses the REFER: the roster does not change.",
        'server.faults.add(method="REFER", status=403)\ntry:\n    await conference.add_participants(["sip:erin@example.com"])\nexcept ProcedureFailed as failure:\n    print("failed as expected:", failure)\nawait conference.leave()',
    ),
    "7.1.1.8": (
        "SIP Session refresh", "A re-INVITE before the session timer expires, with Session-Expires refresher=uac, Supported: timer and the SDP in use.",
        'session = await alice.start_session("sip:bob@example.com")\nprint("timer:", session.state.timer)', 'out = alice.prepare.refresh(session)\nout',
        'await alice.send(out)\nprint("timer after the refresh:", session.state.timer)\nawait session.leave()',
        "The server wants a longer interval: 422 with Min-SE; the client retries with Min-SE.",
        'session = await alice.start_session("sip:bob@example.com")\nserver.faults.add(method="INVITE", status=422, reason="Session Interval Too Small")\ntry:\n    await session.refresh()\nexcept ProcedureFailed as failure:\n    print("refresh failed:", failure)\nawait session.leave()',
    ),
    "7.1.1.9": (
        "IM Client rejoins an IM Conference Session", "After leaving, the stored IM Session Identity lets Alice rejoin with an INVITE to it.",
        'conference = await alice.start_adhoc_conference(["sip:bob@example.com"])\nawait conference.leave()\nprint("stored for rejoining:", alice.stored_identity())', 'out = alice.prepare.rejoin()\nout',
        'again = await alice.send(out)\nprint("rejoined:", again.identity)\nawait again.leave()',
        "Nothing stored: the client shows an error and sends nothing.",
        'from imkit.procedures.errors import NoStoredSessionIdentity\nalice.recent_identities.clear()\nalice.sessions.clear()\ntry:\n    alice.prepare.rejoin()\nexcept NoStoredSessionIdentity as error:\n    print("error shown to the user:", error)',
    ),
    "7.1.1.10": (
        "IM Client joins a Public Conference Session", "An INVITE to the public conference URI with Content-Type: application/sdp.",
        "", 'out = alice.prepare.join_public_conference("sip:chat-public@example.com")\nout',
        'conference = await alice.send(out)\nprint("IM Session Identity:", conference.identity)\nawait conference.leave()',
        "The public conference is full (server fault 486).",
        'server.faults.add(method="INVITE", to="chat-public", status=486)\ntry:\n    await alice.join_public_conference("sip:chat-public@example.com")\nexcept ProcedureFailed as failure:\n    print("failed as expected:", failure)',
    ),
    "7.1.1.11": (
        "IM Client subscription to the conference state event package", "A SUBSCRIBE (Event: conference) to the IM Session Identity; full then partial NOTIFYs keep the roster; the own user is found by yourown.",
        'alice.auto_subscribe = False\nconference = await alice.start_adhoc_conference(["sip:bob@example.com"])', 'out = alice.prepare.subscribe_conference(conference.identity)\nout',
        'subscription = await alice.send(out)\nconference.subscription = subscription\nstate = await subscription.wait_for(lambda state: len(state.roster) >= 2)\ndisplay(state)\nprint("own user:", subscription.own_user.entity)\nawait subscription.terminate()\nawait conference.leave()',
        "The server does not know the event package asked for.",
        'server.faults.add(method="SUBSCRIBE", status=489)\ntry:\n    await alice.subscribe_conference("sip:conference-factory@example.com")\nexcept ProcedureFailed as failure:\n    print("failed as expected:", failure)',
    ),
    "7.1.1.12": (
        "IM Client leaving an IM Session", "A BYE to the IM Session Identity; on its 200 the MSRP session is released and the session id kept for a while.",
        'conference = await alice.start_adhoc_conference(["sip:bob@example.com"])', 'out = alice.prepare.leave(conference)\nout',
        'await alice.send(out)\nprint("kept for rejoining:", alice.recent_identities)',
        "The server no longer knows the session: the BYE gets 481, and the client releases the session all the same (RFC 3261 15.1.2).",
        'conference = await alice.start_adhoc_conference(["sip:bob@example.com"])\nserver.faults.add(method="BYE", status=481)\ntry:\n    await conference.leave()\nexcept ProcedureFailed as failure:\n    print("failed as expected:", failure)\nprint("session phase:", conference.state.phase)',
    ),
    "7.1.1.13": (
        "IM Client cancelling an IM Session", "A CANCEL for a conference INVITE that has no final response yet; the INVITE ends 487.",
        'server.faults.add(method="INVITE", to="conference-factory", action="delay", delay=3.0)', 'pending = alice.begin(alice.prepare.start_adhoc_conference(["sip:bob@example.com"]))',
        'response = await pending.cancel()\nprint("CANCEL answered:", response.status, response.reason)\ntry:\n    await pending.session()\nexcept ProcedureFailed as failure:\n    print("INVITE ended:", failure)',
        "Too late: once the 200 has come, there is nothing to cancel.",
        'pending = alice.begin(alice.prepare.start_adhoc_conference(["sip:bob@example.com"]))\nconference = await pending.session()\nprint("CANCEL sent:", await pending.cancel())\nawait conference.leave()',
    ),
    "7.1.1.14": (
        "IM Client removing IM User from an IM Conference Session", "A REFER whose Refer-To is <bob;method=BYE> with Refer-Sub: false; the focus sends Bob a BYE.",
        'conference = await alice.start_adhoc_conference(["sip:bob@example.com", "sip:carol@example.com"])\nawait conference.subscription.wait_for(lambda state: len(state.roster) >= 3)', 'out = alice.prepare.remove_participant(conference, "sip:bob@example.com")\nout',
        'referral = await alice.send(out)\nawait conference.subscription.wait_for(lambda state: not any("bob" in u.entity for u in state.roster))\nprint("roster:", conference.roster)',
        "Only the creator or a host may remove: the server refuses (403) when told to.",
        'server.faults.add(method="REFER", status=403)\ntry:\n    await conference.remove_participant("sip:carol@example.com")\nexcept ProcedureFailed as failure:\n    print("failed as expected:", failure)\nawait conference.leave()',
    ),
}


ROSTER = '''from imkit.widgets import ConferenceView

roster = ConferenceView.for_subscription(conference.subscription, trace)
watching = roster.model.watch_soon(conference.subscription, trace)
roster'''

COMPOSER = '''from imkit.widgets import ClientBuilder, Composer, ComposerModel

Composer(ComposerModel(ClientBuilder(alice, conference), alice.send, clause="{clause}"))'''

#: clauses whose notebook also shows the live roster and a composer (after the set-up)
CONFERENCE_VIEWS = ("7.1.1.7", "7.1.1.14")


def notebook(clause: str) -> nbformat.NotebookNode:
    title, what, setup, build, send, fault_text, fault = CLAUSES[clause]
    cells = [
        new_markdown_cell(f"# {clause} {title}\n\n{what}\n\nEverything below is real traffic on 127.0.0.1: "
                          "an embedded test IM Server, Alice's IM Client, simulated users."),
        new_code_cell(START),
        new_markdown_cell("The clause's rules, each a check the toolkit runs on the trace:"),
        new_code_cell(f'rules_of("{clause}")'),
        new_markdown_cell("A live view of the trace: the ladder grows as messages pass, failed rules turn red, "
                          "and the inspector shows any message's bytes, headers (with why each is there) and verdicts."),
        new_code_cell(EXPLORER.format(clause=clause)),
    ]
    if setup:
        cells += [new_markdown_cell("Set-up this clause needs:"), new_code_cell(setup)]
    if clause in CONFERENCE_VIEWS:
        cells += [
            new_markdown_cell("The conference as the event package reports it (7.1.1.11), updated by every NOTIFY:"),
            new_code_cell(ROSTER),
            new_markdown_cell("A composer: pick parameters, see the request with the reason for each header, edit it, send it. "
                              "The cells below do the same from code."),
            new_code_cell(COMPOSER.format(clause=clause)),
        ]
    cells += [
        new_markdown_cell("Build the request (nothing is sent yet). Each header says which clause and item put it there; edit `out.request` before sending if you like."),
        new_code_cell(build),
        new_markdown_cell("Send it and follow what happens:"),
        new_code_cell(send),
        new_markdown_cell("The ladder of every message, and every rule of the clause checked against it:"),
        new_code_cell(CHECK.format(clause=clause)),
        new_markdown_cell(f"## The error path\n\n{fault_text}"),
        new_code_cell(fault),
        new_code_cell("display(trace.to_graphviz())"),
        new_code_cell(CLOSE),
    ]
    book = new_notebook(cells=cells)
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return book


def main() -> None:
    for index, clause in enumerate(CLAUSES, start=1):
        path = NOTEBOOKS / f"{index:02d}_{clause.replace('.', '_')}.ipynb"
        nbformat.write(notebook(clause), path)
        print(f"wrote {path.relative_to(NOTEBOOKS.parent)}")


if __name__ == "__main__":
    main()
