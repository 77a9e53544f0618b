"""The originating IM Client procedures of OMA IM 7.1.1, one module per clause.

``imkit.procedures.get("7.1.1.7")`` gives the module of that clause: its
``CLAUSE``, ``TITLE``, builder(s) and ``RULES``.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

#: Clause id -> module name, in the spec's order.
CLAUSES: dict[str, str] = {
    "7.1.1.1": "general",
    "7.1.1.2": "one_to_one",
    "7.1.1.3": "adhoc_conference",
    "7.1.1.4": "predefined_conference",
    "7.1.1.5": "modify_session",
    "7.1.1.6": "extend_to_conference",
    "7.1.1.7": "add_participants",
    "7.1.1.8": "refresh_session",
    "7.1.1.9": "rejoin_conference",
    "7.1.1.10": "public_conference",
    "7.1.1.11": "conference_events",
    "7.1.1.12": "leave_session",
    "7.1.1.13": "cancel_session",
    "7.1.1.14": "remove_participant",
}


def get(clause: str) -> ModuleType:
    """The procedure module of ``clause`` (``"7.1.1.3"``)."""
    try:
        name = CLAUSES[clause]
    except KeyError:
        raise KeyError(f"no procedure for clause {clause!r}; known: {', '.join(CLAUSES)}") from None
    return import_module(f"imkit.procedures.{name}")


def all_procedures() -> list[ModuleType]:
    return [get(clause) for clause in CLAUSES]
