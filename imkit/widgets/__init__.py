"""Jupyter side of imkit: plain models observed by stock ipywidgets views.

Models (plain Python, tested without a browser; views only observe them):

- :class:`ComposerModel`: procedure, parameters, preview with the reason for
  every header, editable bytes, send (:mod:`~imkit.widgets.composer`; the
  procedures and parameters offered: :mod:`~imkit.widgets.forms`);
- :class:`LiveTrace`: a trace and its conformance report, refreshed as it
  grows; :class:`LadderModel` draws it, :class:`InspectorModel` explains one
  record (:mod:`~imkit.widgets.live`, :mod:`~imkit.widgets.ladder`,
  :mod:`~imkit.widgets.inspector`);
- :class:`ConferenceModel`: roster, raw XML and the last NOTIFY's change
  (OMA IM 7.1.1.11, :mod:`~imkit.widgets.conference`).

Views (ipywidgets, the ``lab`` extra; loaded on first use): ``Composer``,
``Ladder``, ``Inspector``, ``Explorer`` (ladder and inspector on one trace),
``ConferenceView`` (:mod:`~imkit.widgets.views`).

Rich reprs for classes of lower layers (:mod:`~imkit.widgets.reprs`):
``%load_ext imkit.widgets`` registers them with IPython.
"""

from __future__ import annotations

from typing import Any

from imkit.widgets.composer import ComposerModel, ComposerState
from imkit.widgets.conference import ConferenceModel, RosterRow, roster_rows
from imkit.widgets.forms import FORMS, ClientBuilder, Param, ParamKind, ProcedureForm
from imkit.widgets.inspector import InspectorModel
from imkit.widgets.ladder import LadderModel
from imkit.widgets.live import LiveTrace
from imkit.widgets.reprs import html_of, register_reprs

_VIEWS = ("Composer", "Ladder", "Inspector", "Explorer", "ConferenceView")

__all__ = [
    "FORMS",
    "ClientBuilder",
    "Composer",
    "ComposerModel",
    "ComposerState",
    "ConferenceModel",
    "ConferenceView",
    "Explorer",
    "Inspector",
    "InspectorModel",
    "Ladder",
    "LadderModel",
    "LiveTrace",
    "Param",
    "ParamKind",
    "ProcedureForm",
    "RosterRow",
    "html_of",
    "load_ipython_extension",
    "register_reprs",
    "roster_rows",
]


def __getattr__(name: str) -> Any:
    # the views import ipywidgets: only when asked for
    if name in _VIEWS:
        from imkit.widgets import views

        return getattr(views, name)
    raise AttributeError(f"module 'imkit.widgets' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext imkit.widgets``: rich HTML for messages, records, sessions,
    subscriptions, referrals and roster changes."""
    register_reprs(ipython.display_formatter.formatters["text/html"])
