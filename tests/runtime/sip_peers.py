"""Helpers shared by the runtime tests: requests between two imkit
endpoints on 127.0.0.1, a throwaway TLS certificate, a recording handler."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from imkit.runtime import Endpoint, IncomingRequest
from imkit.sip.address import NameAddr
from imkit.sip.builders import make_response, new_request
from imkit.sip.ids import new_call_id, new_tag
from imkit.sip.message import Request, Response
from imkit.sip.uri import SipURI


def tls_contexts(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1 / localhost: (server, client) contexts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imkit test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cert_path)
    return server, client


def target_uri(endpoint: Endpoint, transport: str, user: str = "bob") -> SipURI:
    """The URI that reaches ``endpoint`` over ``transport``."""
    return endpoint.contact_uri(user, transport)


def out_of_dialog(
    sender: Endpoint,
    method: str,
    uri: SipURI,
    transport: str,
    *,
    body: bytes = b"",
    content_type: str | None = None,
    cseq: int = 1,
) -> Request:
    """A request outside a dialog from ``sender`` to ``uri``."""
    return new_request(
        method, uri,
        from_addr=NameAddr(SipURI(host="example.com", user="alice")).with_tag(new_tag()),
        to_addr=NameAddr(SipURI(host="example.com", user=uri.user or "bob")),
        call_id=new_call_id("127.0.0.1"),
        cseq=cseq,
        via=sender.new_via(transport),
        contact=NameAddr(sender.contact_uri("alice", transport)),
        body=body,
        content_type=content_type,
    )


@dataclass
class Recorder:
    """A handler that answers with ``status`` (dialog-forming requests get a
    Contact) and remembers every request it saw."""

    endpoint: Endpoint | None = None
    status: int = 200
    transport: str = "UDP"
    seen: list[IncomingRequest] = field(default_factory=list)
    tag: str = field(default_factory=new_tag)

    async def __call__(self, incoming: IncomingRequest) -> Response | None:
        self.seen.append(incoming)
        request = incoming.request
        if request.method == "ACK":
            return None
        headers: list[tuple[str, str]] = []
        if request.method == "INVITE" and self.endpoint is not None:
            headers.append(("Contact", f"<{self.endpoint.contact_uri('bob', self.transport)}>"))
        return make_response(request, self.status, to_tag=self.tag, headers=headers)

    def methods(self) -> list[str]:
        return [i.request.method for i in self.seen]
