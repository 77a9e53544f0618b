"""The URI-list parts shared by the group procedures (RFC 5366, RFC 5368).

7.1.1.3, 7.1.1.6 and 7.1.1.7 all put the invited IM Users in a MIME
resource-lists body and check their number against MAX-ADHOC-GROUP-SIZE
first; this module does both once.
"""

from __future__ import annotations

from typing import Sequence

from imkit.errors import ParseError
from imkit.payloads.resource_lists import CONTENT_TYPE, DISPOSITION, ResourceLists
from imkit.procedures.errors import GroupSizeExceeded
from imkit.procedures.profile import ClientProfile
from imkit.sip import BodyPart, Multipart, Request

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


def uri_list_entries(request: Request) -> tuple[str, ...] | None:
    """The entries of the URI list a multipart INVITE carries (RFC 5366), or
    ``None`` when it carries none that can be read."""
    content_type = request.content_type
    if content_type is None or content_type.type != "multipart":
        return None
    try:
        part = Multipart.parse(request.body, content_type).part_by_type(CONTENT_TYPE)
        return invited_from_part(part) if part is not None else None
    except ParseError:
        return None


def invited_on_wire(request: Request) -> tuple[str, ...] | None:
    """The IM Users a request invites: the URI list of an INVITE, the
    resource-lists body of a multiple REFER (RFC 5368) or the Refer-To of a
    single one; ``None`` when it names none that can be read."""
    if request.method != "REFER":
        return uri_list_entries(request)
    try:
        refer_to = request.refer_to
        if refer_to is None:
            return None
        if str(refer_to.uri).startswith("cid:"):
            return ResourceLists.from_xml(request.body).uris()
    except ParseError:
        return None
    return (str(refer_to.uri),)
