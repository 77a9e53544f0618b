"""Body payloads of the IM procedures, sans-IO: bytes in, models out, and back.

One module per document type:

- :mod:`imkit.payloads.resource_lists`: RFC 4826 URI lists as RFC 5366 and
  RFC 5368 use them (7.1.1.3, 7.1.1.6, 7.1.1.7), with RFC 5364 copy control
  and ``Replaces`` inside entry URIs;
- :mod:`imkit.payloads.conference_info`: RFC 4575 conference state with
  partial-state merging and OMA's ``yourown`` (7.1.1.11);
- :mod:`imkit.payloads.sipfrag`: RFC 3420 ``message/sipfrag`` for REFER
  progress (7.1.1.7);
- :mod:`imkit.payloads.xml`: the hardened lxml parsing they share.

Every reader raises :class:`PayloadError` (an :class:`imkit.errors.ParseError`)
and nothing else, whatever the bytes.
"""

from __future__ import annotations

from imkit.payloads.conference_info import ConferenceInfo, VersionGap
from imkit.payloads.resource_lists import ResourceLists
from imkit.payloads.sipfrag import SipFrag
from imkit.payloads.xml import PayloadError, parse_xml

__all__ = ["PayloadError", "parse_xml", "ConferenceInfo", "VersionGap", "ResourceLists", "SipFrag"]
