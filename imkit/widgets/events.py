"""How a widget model tells its views that it changed.

The models of :mod:`imkit.widgets` are plain objects that know nothing of
ipywidgets; a view subscribes to a model's ``changed`` and re-reads what it
shows.  Same shape as :meth:`imkit.trace.Trace.subscribe`: subscribing
returns the function that unsubscribes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["Listeners"]

_log = logging.getLogger("imkit.widgets")


class Listeners:
    """Callbacks called, without arguments, after each change of a model."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def emit(self) -> None:
        for callback in list(self._callbacks):
            try:
                callback()
            except Exception:  # noqa: BLE001 - one broken view must not break the model or the others
                _log.exception("widget listener %r failed", callback)

    def __len__(self) -> int:
        return len(self._callbacks)
