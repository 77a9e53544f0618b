"""What every view shares: showing a model without hearing its own echo,
and letting go of what it observes when closed.

A view writes the model's state into stock widgets; a widget event it
causes that way (a Dropdown whose options change picks a new value, say)
must not travel back to the model as if the person had acted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class View:
    """Mixin put before an ipywidgets container class.

    :meth:`showing` surrounds writes to widgets; :meth:`acting` wraps the
    handlers of the person's actions so they are ignored meanwhile;
    :meth:`on_close` registers what ``close()`` must stop (unsubscribing).
    """

    _showing_depth = 0
    _stops: tuple[Callable[[], None], ...] = ()

    @contextmanager
    def showing(self) -> Iterator[None]:
        self._showing_depth += 1
        try:
            yield
        finally:
            self._showing_depth -= 1

    def acting(self, handler: Callable[..., Any]) -> Callable[..., None]:
        def act(*args: Any) -> None:
            if not self._showing_depth:
                handler(*args)

        return act

    def on_close(self, *stops: Callable[[], None]) -> None:
        self._stops = (*self._stops, *stops)

    def close(self) -> None:
        stops, self._stops = self._stops, ()
        for stop in stops:
            stop()
        super().close()  # type: ignore[misc]


#: CSS for the views (a stock HTML widget carries it; no JavaScript).
STYLE = """<style>
.imkit-mono textarea { font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
</style>"""
