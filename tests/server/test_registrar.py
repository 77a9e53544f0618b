"""REGISTER (RFC 3261 10.3) against the running server, over UDP and TCP,
with and without digest authentication; bindings, expiry and bounds."""

from __future__ import annotations

import asyncio

import pytest

from imkit.server import TestServer
from imkit.sip import SipURI
from imkit.sip.auth import DigestClient

DOMAIN_URI = SipURI(host="example.com")
TRANSPORTS = ["udp", "tcp"]


def register(ua, *, expires: str | None = None, contact: str | None = None, cseq: int = 1,
             call_id: str | None = None):
    headers = [] if expires is None else [("Expires", expires)]
    request = ua.request("REGISTER", DOMAIN_URI, to=ua.aor, headers=headers, contact=contact is None, cseq=cseq)
    if contact is not None:
        request.headers.add("Contact", contact)
    if call_id is not None:
        request.headers.set("Call-ID", call_id)
    return request


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_register_query_and_remove(server, make_ua, transport) -> None:
    bob = await make_ua("bob", transport)
    response = await bob.send(register(bob, expires="120", call_id="reg-1@x"), server.address)
    assert response.status == 200
    # RFC 3261 10.3 step 8: every binding with its expires, and a Date
    assert response.headers.get_all("Contact") == [f"{bob.contact()};expires=120"]
    assert "Date" in response.headers
    binding = server.location.lookup("sip:bob@example.com", server.now())
    assert binding is not None and binding.uri == bob.contact().uri
    # a query: no Contact, the bindings come back
    query = await bob.send(bob.request("REGISTER", DOMAIN_URI, to=bob.aor, contact=False), server.address)
    assert query.status == 200 and len(query.headers.get_all("Contact")) == 1
    # Contact: * with Expires: 0 removes everything (same Call-ID, higher CSeq)
    removed = await bob.send(register(bob, expires="0", contact="*", cseq=2, call_id="reg-1@x"), server.address)
    assert removed.status == 200
    assert removed.headers.get_all("Contact") == []
    assert server.location.lookup("sip:bob@example.com", server.now()) is None


async def test_interval_too_brief_gets_423(server, make_ua) -> None:
    bob = await make_ua("bob")
    response = await bob.send(register(bob, expires="5"), server.address)
    assert response.status == 423
    assert response.headers.get("Min-Expires") == "10"
    assert server.location.lookup("sip:bob@example.com", server.now()) is None


async def test_expires_is_capped_and_per_contact(make_ua) -> None:
    async with TestServer(max_expires=300, focus=False) as server:
        bob = await make_ua("bob")
        contact = f"{bob.contact()};expires=100000"
        response = await bob.send(register(bob, contact=contact), server.address)
        assert response.headers.get_all("Contact") == [f"{bob.contact()};expires=300"]


async def test_star_needs_expires_zero(server, make_ua) -> None:
    bob = await make_ua("bob")
    response = await bob.send(register(bob, contact="*"), server.address)
    assert response.status == 400


async def test_out_of_order_cseq_fails(server, make_ua) -> None:
    bob = await make_ua("bob")
    assert (await bob.send(register(bob, cseq=5, call_id="c@x"), server.address)).status == 200
    response = await bob.send(register(bob, cseq=4, call_id="c@x"), server.address)
    assert response.status == 500


async def test_bindings_expire_by_loop_time(make_ua) -> None:
    async with TestServer(min_expires=1, focus=False) as server:
        bob = await make_ua("bob")
        assert (await bob.send(register(bob, expires="1"), server.address)).status == 200
        assert server.location.lookup("sip:bob@example.com", server.now()) is not None
        await asyncio.sleep(1.1)
        assert server.location.lookup("sip:bob@example.com", server.now()) is None
        assert len(server.location) == 0


async def test_bounds_on_bindings(make_ua) -> None:
    async with TestServer(max_bindings_per_user=2, max_registered_users=1, focus=False) as server:
        bob = await make_ua("bob")
        for port, status in ((5001, 200), (5002, 200), (5003, 503)):
            response = await bob.send(register(bob, contact=f"<sip:bob@127.0.0.1:{port}>"), server.address)
            assert response.status == status
        carol = await make_ua("carol")
        assert (await carol.send(register(carol), server.address)).status == 503


async def test_highest_q_binding_wins(server, make_ua) -> None:
    bob = await make_ua("bob")
    contacts = "<sip:bob@127.0.0.1:5001>;q=0.5, <sip:bob@127.0.0.1:5002>;q=0.9"
    assert (await bob.send(register(bob, contact=contacts), server.address)).status == 200
    best = server.location.lookup("sip:bob@example.com", server.now())
    assert best is not None and best.uri == SipURI(host="127.0.0.1", port=5002, user="bob")


async def test_foreign_domain_is_refused(server, make_ua) -> None:
    bob = await make_ua("bob")
    request = bob.request("REGISTER", SipURI(host="elsewhere.org"), to=bob.aor)
    assert (await bob.send(request, server.address)).status == 403


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_digest_authentication(make_ua, transport) -> None:
    credentials = {"bob": "bob-secret", "alice": "alice-secret"}
    async with TestServer(require_auth=True, credentials=credentials, focus=False) as server:
        bob = await make_ua("bob", transport)
        first = register(bob)
        challenge = await bob.send(first, server.address)
        assert challenge.status == 401
        offered = challenge.www_authenticate
        assert offered and all(c.scheme == "Digest" and c.param("realm") == "example.com" for c in offered)
        assert server.location.lookup("sip:bob@example.com", server.now()) is None
        client = DigestClient("bob", "bob-secret")
        assert client.handle_challenge(challenge)
        retry = client.authorize(register(bob, cseq=2))
        response = await bob.send(retry, server.address)
        assert response.status == 200
        assert server.location.lookup("sip:bob@example.com", server.now()) is not None
        # wrong password: challenged again
        wrong = DigestClient("bob", "nope")
        wrong.handle_challenge(challenge)
        assert (await bob.send(wrong.authorize(register(bob, cseq=3)), server.address)).status == 401
        # alice's credentials do not register bob (10.3 step 4)
        alice = DigestClient("alice", "alice-secret")
        alice.handle_challenge(await bob.send(register(bob, cseq=4), server.address))
        assert (await bob.send(alice.authorize(register(bob, cseq=5)), server.address)).status == 403


async def test_credentialed_user_not_registered_gets_480(make_ua) -> None:
    async with TestServer(require_auth=True, credentials={"bob": "x"}, focus=False) as server:
        alice = await make_ua("alice")
        _, response, _ = await alice.call("bob", server.address)
        assert response.status == 480
        assert "bob" not in server.users
