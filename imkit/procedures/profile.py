"""What an IM Client is provisioned with, as the procedures of 7.1.1 read it.

The spec leans on provisioned values: the Conference-factory-URI "for the IM
service in the Home Network of the IM User" (7.1.1.3 item 2, 7.1.1.6 item 2),
the "MAX-ADHOC-GROUP-SIZE" parameter (7.1.1.3 item 4, 7.1.1.6 item 5, 7.1.1.7
item 5), the release version sent in User-Agent (7.1.1.1 item 2, Appendix F)
and the block list cached from the IM XDMS (7.1.1.11 NOTIFY item 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imkit import __version__
from imkit.sip import SipURI, parse_uri

#: Appendix F "Release version in User-agent and Server headers": the public
#: OMA IM clients send ``IM-client/OMA1.0`` followed by the product token.
#: imkit sends ``IM-client/OMA1.0 imkit/<version>``.
IM_RELEASE_VERSION = "IM-client/OMA1.0"
DEFAULT_USER_AGENT = f"{IM_RELEASE_VERSION} imkit/{__version__}"

#: The IM feature tag of 7.1.1.1 items 1 and 4 (RFC 3840/3841 syntax).
IM_FEATURE_TAG = "+g.oma.sip-im"

#: Every method imkit's client handles; sent in Allow (7.1.1.1 item 3).
SUPPORTED_METHODS = ("INVITE", "ACK", "CANCEL", "BYE", "REFER", "NOTIFY", "SUBSCRIBE", "OPTIONS")


@dataclass
class ClientProfile:
    """Provisioned settings and identity of one IM Client."""

    aor: SipURI
    display_name: str | None = None
    conference_factory: SipURI | None = None
    max_adhoc_group_size: int = 10
    user_agent: str = DEFAULT_USER_AGENT
    allow: tuple[str, ...] = SUPPORTED_METHODS
    session_expires: int = 1800
    min_se: int = 90
    subscription_expires: int = 3600
    blocklist: set[str] = field(default_factory=set)
    #: How long (seconds) the IM Session Identity is kept after leaving, for
    #: 7.1.1.9 rejoin (7.1.1.12 NOTE: "implementation dependent").
    rejoin_window: float = 300.0

    @classmethod
    def for_user(cls, aor: str, **settings: object) -> "ClientProfile":
        uri = parse_uri(aor)
        if not isinstance(uri, SipURI):
            raise ValueError(f"an IM User's address must be a SIP URI, not {aor!r}")
        factory = settings.pop("conference_factory", None)
        if factory is None:
            factory = SipURI(host=uri.host, user="conference-factory")
        elif isinstance(factory, str):
            factory = parse_uri(factory)
        return cls(aor=uri, conference_factory=factory, **settings)  # type: ignore[arg-type]
