"""The composer: stock ipywidgets observing a :class:`~imkit.widgets.composer.ComposerModel`.

A Dropdown of procedures, one input per parameter (Text, Textarea for a URI
list, Checkbox for a flag), Build and Send buttons, and two tabs: the
preview (each header row with why it is there, then the bytes) and the
editor (the request in the exact notation of :mod:`imkit.widgets.wiretext`).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets  # type: ignore[import-untyped]

from imkit.widgets.composer import ComposerModel, ComposerState
from imkit.widgets.forms import Param, ParamKind
from imkit.widgets.views._base import STYLE, View

__all__ = ["Composer"]


def _input(param: Param) -> widgets.ValueWidget:
    layout = widgets.Layout(width="100%")
    style = {"description_width": "16em"}
    if param.kind is ParamKind.FLAG:
        return widgets.Checkbox(description=param.label, style=style, layout=layout)
    if param.kind is ParamKind.URIS:
        return widgets.Textarea(description=param.label, placeholder="sip:bob@example.com\nsip:carol@example.com",
                                continuous_update=False, style=style, layout=layout, rows=4)
    return widgets.Text(description=param.label, placeholder=param.kind.value, continuous_update=False,
                        style=style, layout=layout)


class Composer(View, widgets.VBox):
    """``Composer(model)``; the person's actions call the model's methods,
    and every change of the model is shown."""

    def __init__(self, model: ComposerModel, **kwargs: Any) -> None:
        self.model = model
        self.procedure = widgets.Dropdown(
            options=[(f"{clause} {form.title}", clause) for clause, form in model.forms.items()],
            description="procedure", layout=widgets.Layout(width="100%"))
        self.params = widgets.VBox()
        self.build_button = widgets.Button(description="Build", tooltip="build the request from these parameters")
        self.send_button = widgets.Button(description="Send", button_style="primary", tooltip="send the request shown")
        self.revert_button = widgets.Button(description="Revert edits", tooltip="back to the request as built")
        self.fix_button = widgets.Button(description="Fix Content-Length",
                                         tooltip="set Content-Length to the body's length in bytes")
        self.editor = widgets.Textarea(layout=widgets.Layout(width="100%", height="24em"))
        self.editor.add_class("imkit-mono")
        self.notation = widgets.HTML(
            "<small>line break = CRLF; <code>␊</code> = bare LF, <code>␍</code> = bare CR, "
            "<code>⟨HH⟩</code> = the byte HH</small>")
        self.preview = widgets.HTML()
        self.problem = widgets.HTML()
        self.status = widgets.HTML()
        self.tabs = widgets.Tab(
            children=[self.preview, widgets.VBox([self.notation, self.editor,
                                                  widgets.HBox([self.revert_button, self.fix_button])])],
            titles=("Preview: why each header", "Edit the bytes"))
        self._inputs: dict[str, widgets.ValueWidget] = {}
        self._inputs_for: str | None = None
        super().__init__([widgets.HTML(STYLE), self.procedure, self.params,
                          widgets.HBox([self.build_button, self.send_button]),
                          self.status, self.problem, self.tabs], **kwargs)
        self.procedure.observe(self.acting(lambda change: model.select(change["new"])), names="value")
        self.editor.observe(self.acting(lambda change: model.edit(change["new"])), names="value")
        self.build_button.on_click(self.acting(lambda _: model.build()))
        self.send_button.on_click(self.acting(lambda _: model.send_soon()))
        self.revert_button.on_click(self.acting(lambda _: model.revert()))
        self.fix_button.on_click(self.acting(lambda _: model.fix_content_length()))
        self.on_close(model.changed.subscribe(self.show))
        self.show()

    def _make_inputs(self) -> None:
        self._inputs = {}
        for param in self.model.form.params:
            field = _input(param)
            field.observe(self.acting(lambda change, name=param.name: self.model.set_value(name, change["new"])),
                          names="value")
            self._inputs[param.name] = field
        self.params.children = tuple(self._inputs.values())
        self._inputs_for = self.model.clause

    def show(self) -> None:
        """Write the model's state into the widgets."""
        model = self.model
        with self.showing():
            self.procedure.value = model.clause
            if self._inputs_for != model.clause:
                self._make_inputs()
            for name, field in self._inputs.items():
                field.value = model.values[name]
            self.editor.value = model.text
            self.preview.value = model.preview_html()
            self.problem.value = model.problem_html()
            self.status.value = model.status_html()
            sending = model.state is ComposerState.SENDING
            for field in (self.procedure, self.editor, self.build_button, *self._inputs.values()):
                field.disabled = sending
            self.send_button.disabled = not model.can_send
            self.revert_button.disabled = sending or not model.edited
            self.fix_button.disabled = sending or not model.text
