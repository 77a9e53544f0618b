"""The URI-list parts shared by the group procedures (RFC 5366, RFC 5368).

7.1.1.3, 7.1.1.6 and 7.1.1.7 all put the invited IM Users in a MIME
resource-lists body and check their number against MAX-ADHOC-GROUP-SIZE
first; this module does both once.
"""

from __future__ import annotations

from typing import Sequence

from imkit.payloads.resource_lists import CONTENT_TYPE, DISPOSITION, ResourceLists
from imkit.procedures.errors import GroupSizeExceeded
from imkit.procedures.profile import ClientProfile
from imkit.sip import BodyPart

#: RFC 5366 section 4: "... the UAC MUST include the 'recipient-list-invite'
#: option-tag in a Require header field".
RECIPIENT_LIST_INVITE = "recipient-list-invite"


def check_group_size(profile: ClientProfile, invited: Sequence[str], rule: str) -> None:
    """"SHALL check that the number of Invited IM Users on the URI-list does not
    exceed the maximum number of Participants allowed in an Ad-hoc IM Group
    Session as indicated in "MAX-ADHOC-GROUP-SIZE" ... If exceeded, the IM
    Client SHOULD notify the IM User" -- by raising, before anything is sent."""
    if len(invited) > profile.max_adhoc_group_size:
        raise GroupSizeExceeded(len(invited), profile.max_adhoc_group_size, rule)


def uri_list_part(invited: Sequence[str], *, content_id: str | None = None) -> BodyPart:
    """A resource-lists body part with ``Content-Disposition: recipient-list``
    (RFC 5366 section 4, RFC 5363 section 4.2)."""
    document = ResourceLists.from_uris(list(invited)).to_xml()
    return BodyPart.build(document, CONTENT_TYPE, disposition=DISPOSITION, content_id=content_id)


def invited_from_part(part: BodyPart) -> tuple[str, ...]:
    """The URIs a resource-lists body part lists."""
    return ResourceLists.from_xml(part.body).uris()
