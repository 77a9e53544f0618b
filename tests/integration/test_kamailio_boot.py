"""The shipped Kamailio configs boot and behave as documented.

proxy.cfg: answers OPTIONS over UDP and TCP, challenges REGISTER with a
Digest 401 (RFC 3261 §22.4), registers with the right password only, routes
to registered users via usrloc, sends conference URIs to the IM server with
Record-Route (RFC 3261 §16.6 item 4) and loose-routes the in-dialog requests.
msrp_relay.cfg: listens on TCP, challenges an AUTH (RFC 4976 §5.1) and hands
out a Use-Path once the credentials are right.
Every message here is written and read as bytes over plain 127.0.0.1 sockets.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
from collections.abc import Iterator

import pytest

from tests.support.kamailio import ImServerAddress, KamailioProxy
from tests.support.ports import LOOPBACK, free_udp_tcp_port

pytestmark = pytest.mark.integration

RECV_TIMEOUT = 5.0


# ------------------------------------------------------------------ helpers


class UdpPeer:
    """A SIP endpoint as a bare UDP socket on 127.0.0.1."""

    def __init__(self, port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, port))
        self.sock.settimeout(RECV_TIMEOUT)
        self.port = int(self.sock.getsockname()[1])

    def request(
        self,
        method: str,
        ruri: str,
        *,
        from_uri: str,
        to_uri: str,
        call_id: str | None = None,
        cseq: int = 1,
        extra: tuple[str, ...] = (),
        from_tag: str = "ftag",
        to_tag: str | None = None,
    ) -> bytes:
        branch = "z9hG4bK" + secrets.token_hex(8)
        lines = [
            f"{method} {ruri} SIP/2.0",
            f"Via: SIP/2.0/UDP {LOOPBACK}:{self.port};branch={branch}",
            "Max-Forwards: 70",
            f"From: <{from_uri}>;tag={from_tag}",
            f"To: <{to_uri}>" + (f";tag={to_tag}" if to_tag else ""),
            f"Call-ID: {call_id or secrets.token_hex(8)}@{LOOPBACK}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:{from_uri.split(':', 1)[1].split('@')[0]}@{LOOPBACK}:{self.port}>",
            *extra,
            "Content-Length: 0",
            "",
            "",
        ]
        return "\r\n".join(lines).encode()

    def send(self, data: bytes, port: int) -> None:
        self.sock.sendto(data, (LOOPBACK, port))

    def recv(self) -> bytes:
        data, _ = self.sock.recvfrom(65535)
        return data

    def close(self) -> None:
        self.sock.close()


def header(message: bytes, name: str) -> str | None:
    """First value of a header (case-insensitive name), or None."""
    match = re.search(rb"^" + name.encode() + rb"[ \t]*:[ \t]*(.*?)\r$", message, re.M | re.I)
    return None if match is None else match.group(1).decode()


def all_headers(message: bytes, name: str) -> list[str]:
    pattern = rb"^" + name.encode() + rb"[ \t]*:[ \t]*(.*?)\r$"
    return [m.decode() for m in re.findall(pattern, message, re.M | re.I)]


def status(message: bytes) -> int:
    match = re.match(rb"SIP/2\.0 (\d{3}) ", message)
    assert match is not None, message
    return int(match.group(1))


def final_response(peer: UdpPeer) -> bytes:
    """The next final (>= 200) response, skipping 1xx."""
    response = peer.recv()
    while status(response) < 200:
        response = peer.recv()
    return response


def digest(challenge: str, user: str, password: str, method: str, uri: str) -> str:
    """An RFC 2617 Authorization value (no qop) answering a Digest challenge."""
    realm = re.search(r'realm="([^"]*)"', challenge)
    nonce = re.search(r'nonce="([^"]*)"', challenge)
    assert realm and nonce, challenge
    ha1 = hashlib.md5(f"{user}:{realm.group(1)}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    response = hashlib.md5(f"{ha1}:{nonce.group(1)}:{ha2}".encode()).hexdigest()
    return (
        f'Digest username="{user}", realm="{realm.group(1)}", nonce="{nonce.group(1)}", '
        f'uri="{uri}", response="{response}", algorithm=MD5'
    )


def register(peer: UdpPeer, proxy: KamailioProxy, user: str, password: str) -> bytes:
    """REGISTER, answer the 401, return the final response."""
    aor = f"sip:{user}@{proxy.settings.domain}"
    ruri = f"sip:{proxy.settings.domain}"
    call_id = secrets.token_hex(8)
    peer.send(
        peer.request("REGISTER", ruri, from_uri=aor, to_uri=aor, call_id=call_id), proxy.udp_port
    )
    first = peer.recv()
    assert status(first) == 401, first
    challenge = header(first, "WWW-Authenticate")
    assert challenge is not None
    auth = "Authorization: " + digest(challenge, user, password, "REGISTER", ruri)
    peer.send(
        peer.request("REGISTER", ruri, from_uri=aor, to_uri=aor, call_id=call_id, cseq=2,
                     extra=(auth, "Expires: 300")),
        proxy.udp_port,
    )  # fmt: skip
    return peer.recv()


@pytest.fixture
def peers() -> Iterator[list[UdpPeer]]:
    made: list[UdpPeer] = []
    yield made
    for peer in made:
        peer.close()


def new_peer(peers: list[UdpPeer], port: int = 0) -> UdpPeer:
    peer = UdpPeer(port)
    peers.append(peer)
    return peer


# ------------------------------------------------------------------ proxy.cfg


def test_proxy_answers_options_over_udp(
    kamailio_proxy: KamailioProxy, peers: list[UdpPeer]
) -> None:
    peer = new_peer(peers)
    request = peer.request(
        "OPTIONS",
        f"sip:{LOOPBACK}:{kamailio_proxy.udp_port}",
        from_uri="sip:probe@example.com",
        to_uri=f"sip:{LOOPBACK}:{kamailio_proxy.udp_port}",
        call_id="options-udp",
    )
    peer.send(request, kamailio_proxy.udp_port)
    response = peer.recv()
    assert response.startswith(b"SIP/2.0 200 ")
    assert header(response, "Call-ID") == f"options-udp@{LOOPBACK}"
    assert header(response, "CSeq") == "1 OPTIONS"
    assert header(response, "Via") == header(request, "Via")
    assert b"\r\n\r\n" in response


def test_proxy_answers_options_over_tcp(kamailio_proxy: KamailioProxy) -> None:
    with socket.create_connection(
        (LOOPBACK, kamailio_proxy.tcp_port), timeout=RECV_TIMEOUT
    ) as conn:
        local = conn.getsockname()[1]
        request = (
            f"OPTIONS sip:{LOOPBACK}:{kamailio_proxy.tcp_port};transport=tcp SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP {LOOPBACK}:{local};branch=z9hG4bKtcpoptions\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:probe@example.com>;tag=t1\r\n"
            f"To: <sip:{LOOPBACK}:{kamailio_proxy.tcp_port}>\r\n"
            "Call-ID: options-tcp\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        conn.sendall(request)
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = conn.recv(65535)
            assert chunk, f"connection closed after {response!r}"
            response += chunk
    assert response.startswith(b"SIP/2.0 200 ")
    assert header(response, "CSeq") == "7 OPTIONS"
    assert "branch=z9hG4bKtcpoptions" in (header(response, "Via") or "")


def test_register_without_credentials_is_challenged(
    kamailio_proxy: KamailioProxy, peers: list[UdpPeer]
) -> None:
    peer = new_peer(peers)
    aor = "sip:alice@example.com"
    peer.send(
        peer.request("REGISTER", "sip:example.com", from_uri=aor, to_uri=aor),
        kamailio_proxy.udp_port,
    )
    response = peer.recv()
    assert response.startswith(b"SIP/2.0 401 ")
    challenge = header(response, "WWW-Authenticate")
    assert challenge is not None and challenge.startswith("Digest ")
    assert 'realm="example.com"' in challenge
    assert re.search(r'nonce="[^"]+"', challenge)


def test_register_with_right_and_wrong_password(
    kamailio_proxy: KamailioProxy, peers: list[UdpPeer]
) -> None:
    peer = new_peer(peers)
    wrong = register(peer, kamailio_proxy, "alice", "not-alice-secret")
    assert status(wrong) == 401, wrong
    right = register(peer, kamailio_proxy, "alice", "alice-secret")
    assert status(right) == 200, right
    contacts = all_headers(right, "Contact")
    assert any(f"sip:alice@{LOOPBACK}:{peer.port}" in c and "expires=" in c for c in contacts), (
        right
    )


def test_register_unknown_user_is_refused(
    kamailio_proxy: KamailioProxy, peers: list[UdpPeer]
) -> None:
    peer = new_peer(peers)
    response = register(peer, kamailio_proxy, "mallory", "anything")
    assert status(response) == 401, response


def test_request_reaches_registered_user(
    kamailio_proxy: KamailioProxy, peers: list[UdpPeer]
) -> None:
    bob = new_peer(peers)
    assert status(register(bob, kamailio_proxy, "bob", "bob-secret")) == 200
    alice = new_peer(peers)
    message = alice.request(
        "MESSAGE",
        "sip:bob@example.com",
        from_uri="sip:alice@example.com",
        to_uri="sip:bob@example.com",
    )
    alice.send(message, kamailio_proxy.udp_port)
    forwarded = bob.recv()
    assert forwarded.startswith(f"MESSAGE sip:bob@{LOOPBACK}:{bob.port} SIP/2.0\r\n".encode())
    vias = all_headers(forwarded, "Via")
    assert f"{LOOPBACK}:{kamailio_proxy.udp_port}" in vias[0]
    assert f"{LOOPBACK}:{alice.port}" in vias[1]
    # answer it: the 200 travels back through the proxy to alice
    reply = forwarded.split(b"\r\n\r\n")[0].split(b"\r\n")
    response = [b"SIP/2.0 200 OK"] + [
        line for line in reply[1:] if re.match(rb"(?i)(via|from|to|call-id|cseq):", line)
    ]
    bob.send(b"\r\n".join(response) + b"\r\nContent-Length: 0\r\n\r\n", kamailio_proxy.udp_port)
    final = alice.recv()
    assert final.startswith(b"SIP/2.0 200 ")
    assert len(all_headers(final, "Via")) == 1


def test_unregistered_user_and_unknown_user(
    kamailio_proxy: KamailioProxy, peers: list[UdpPeer]
) -> None:
    alice = new_peer(peers)
    for target, code in (("carol", 480), ("nobody", 404)):
        alice.send(
            alice.request("MESSAGE", f"sip:{target}@example.com", from_uri="sip:alice@example.com",
                          to_uri=f"sip:{target}@example.com"),
            kamailio_proxy.udp_port,
        )  # fmt: skip
        assert status(alice.recv()) == code


def test_foreign_domain_is_not_served(kamailio_proxy: KamailioProxy, peers: list[UdpPeer]) -> None:
    alice = new_peer(peers)
    alice.send(
        alice.request("MESSAGE", "sip:bob@elsewhere.test", from_uri="sip:alice@example.com",
                      to_uri="sip:bob@elsewhere.test"),
        kamailio_proxy.udp_port,
    )  # fmt: skip
    assert status(alice.recv()) == 404


@pytest.mark.parametrize(
    "ruri",
    [
        "sip:conference-factory@example.com",  # conference factory (user prefix)
        "sip:group-friends@example.com",  # pre-defined group
        "sip:anything@conf.example.com",  # any URI at the conference domain
    ],
)
def test_conference_uris_go_to_im_server_with_loose_routing(
    kamailio, peers: list[UdpPeer], ruri: str
) -> None:
    im_port = free_udp_tcp_port()
    im_server = new_peer(peers, im_port)
    proxy = kamailio.proxy(ImServerAddress(LOOPBACK, im_port, "udp"))
    alice = new_peer(peers)
    call_id = secrets.token_hex(6)
    invite = alice.request(
        "INVITE", ruri, from_uri="sip:alice@example.com", to_uri=ruri, call_id=call_id
    )
    alice.send(invite, proxy.udp_port)

    arrived = im_server.recv()
    assert arrived.startswith(f"INVITE {ruri} SIP/2.0\r\n".encode())
    record_route = header(arrived, "Record-Route")
    assert record_route is not None and f"{LOOPBACK}:{proxy.udp_port}" in record_route
    assert ";lr" in record_route

    # the IM server answers 200 with its Contact; alice then sends BYE along the route set
    keep = [line for line in arrived.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]
            if re.match(rb"(?i)(via|from|call-id|cseq|record-route):", line)]  # fmt: skip
    to_line = f"To: <{ruri}>;tag=focus1".encode()
    contact = f"Contact: <sip:session-1@{LOOPBACK}:{im_port}>;isfocus".encode()
    ok = b"\r\n".join([b"SIP/2.0 200 OK", *keep, to_line, contact, b"Content-Length: 0", b"", b""])
    im_server.send(ok, proxy.udp_port)
    final = final_response(alice)
    assert final.startswith(b"SIP/2.0 200 ")
    route = header(final, "Record-Route")
    assert route is not None

    bye = alice.request(
        "BYE", f"sip:session-1@{LOOPBACK}:{im_port}", from_uri="sip:alice@example.com", to_uri=ruri,
        call_id=call_id, cseq=2, to_tag="focus1", extra=(f"Route: {route}",),
    )  # fmt: skip
    alice.send(bye, proxy.udp_port)
    arrived_bye = im_server.recv()
    assert arrived_bye.startswith(f"BYE sip:session-1@{LOOPBACK}:{im_port} SIP/2.0\r\n".encode())
    assert header(arrived_bye, "Call-ID") == f"{call_id}@{LOOPBACK}"


def test_proxy_auth_challenges_users_but_not_the_im_server(kamailio, peers: list[UdpPeer]) -> None:
    im_port = free_udp_tcp_port()
    im_server = new_peer(peers, im_port)
    proxy = kamailio.proxy(f"{LOOPBACK}:{im_port}:udp", proxy_auth=True)
    alice = new_peer(peers)
    alice.send(
        alice.request("INVITE", "sip:bob@example.com", from_uri="sip:alice@example.com",
                      to_uri="sip:bob@example.com"),
        proxy.udp_port,
    )  # fmt: skip
    challenged = alice.recv()
    assert status(challenged) == 407
    assert (header(challenged, "Proxy-Authenticate") or "").startswith("Digest ")
    # the focus inviting bob (not registered) is routed, not challenged: 480
    im_server.send(
        im_server.request("INVITE", "sip:bob@example.com", from_uri="sip:conf-1@conf.example.com",
                          to_uri="sip:bob@example.com"),
        proxy.udp_port,
    )  # fmt: skip
    assert status(final_response(im_server)) == 480


# ------------------------------------------------------------------ msrp_relay.cfg


def _msrp_exchange(conn: socket.socket, frame: bytes, tid: str) -> bytes:
    conn.sendall(frame)
    data = b""
    end = f"-------{tid}$\r\n".encode()
    while end not in data:
        chunk = conn.recv(65535)
        assert chunk, f"relay closed the connection after {data!r}"
        data += chunk
    return data


def test_msrp_relay_boots_and_challenges_auth(kamailio) -> None:
    relay = kamailio.msrp_relay()
    relay_uri = f"msrp://{LOOPBACK}:{relay.port};tcp"
    with socket.create_connection((LOOPBACK, relay.port), timeout=RECV_TIMEOUT) as conn:
        local = conn.getsockname()[1]
        from_path = f"msrp://{LOOPBACK}:{local}/alice-s1;tcp"

        def auth(tid: str, extra: str = "") -> bytes:
            return (
                f"MSRP {tid} AUTH\r\nTo-Path: {relay_uri}\r\nFrom-Path: {from_path}\r\n"
                f"{extra}-------{tid}$\r\n"
            ).encode()

        first = _msrp_exchange(conn, auth("a1"), "a1")
        assert first.startswith(b"MSRP a1 401 ")
        challenge = header(first, "WWW-Authenticate")
        assert challenge is not None and challenge.startswith("Digest ")
        assert header(first, "To-Path") == from_path

        authorization = digest(challenge, "alice", "alice-secret", "AUTH", relay_uri)
        second = _msrp_exchange(conn, auth("a2", f"Authorization: {authorization}\r\n"), "a2")
        assert second.startswith(b"MSRP a2 200 "), second
        use_path = header(second, "Use-Path")
        assert use_path is not None
        assert use_path.startswith(f"msrp://{LOOPBACK}:{relay.port}/") and use_path.endswith(";tcp")
