"""What the IM Client raises when a procedure does not succeed."""

from __future__ import annotations

from imkit.errors import ProtocolError
from imkit.sip import Response


class ProcedureFailed(ProtocolError):
    """The IM Server (or the core) answered the procedure's request with a
    failure; ``response`` is that final response."""

    def __init__(self, clause: str, response: Response) -> None:
        super().__init__(f"{clause}: {response.status} {response.reason}")
        self.clause = clause
        self.response = response
        self.status = response.status
