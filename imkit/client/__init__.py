"""The IM Client of OMA IM 7.1.1 (see :mod:`imkit.client.core`)."""

from __future__ import annotations

from imkit.client.core import IMClient
from imkit.client.errors import ProcedureFailed
from imkit.client.media import ChatMessage
from imkit.client.referral import Referral
from imkit.client.session import IMSession, PendingInvite
from imkit.client.subscription import ConferenceSubscription

__all__ = ["IMClient", "IMSession", "PendingInvite", "ConferenceSubscription", "Referral", "ProcedureFailed", "ChatMessage"]
