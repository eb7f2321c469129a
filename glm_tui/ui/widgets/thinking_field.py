"""The thinking switch on the sampling screen: on, off, or the server's default.

Not a typed field like the numbers beside it: three choices in a radio set (``#field-thinking``),
arrows to move and Enter or Space to choose, or a click. Under it, as under every field, what the
current server does with it (:func:`~glm_tui.model.server_kind.thinking_support`): the hosted GLM
API takes ``thinking.type``, vLLM and SGLang ``chat_template_kwargs.enable_thinking``, and where
glm-tui does not know the server's switch it says so and sends nothing rather than a guess.

Below it, for the session only (not a sampling value, so not in presets), the "preserved
thinking" box: earlier replies' reasoning is normally not sent again (it costs context); checked,
all of it is (:func:`glm_tui.chat.request.build_messages` applies the rule).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Checkbox, Label, RadioButton, RadioSet, Static

from glm_tui.model.sampling import Thinking
from glm_tui.model.server_kind import ServerKind, thinking_support

CHOICES: tuple[tuple[Thinking | None, str], ...] = (
    (Thinking.ON, "on"),
    (Thinking.OFF, "off"),
    (None, "server default"),
)
"""The switch's values and their words, in the order shown."""


def choice_word(value: Thinking | None) -> str:
    return next(word for choice, word in CHOICES if choice is value)


class ThinkingField(Vertical):
    """The row of the thinking switch (``#box-thinking``); styled by the sampling screen."""

    DEFAULT_CSS = """
    ThinkingField #field-thinking {
        layout: horizontal;
        width: auto;
        height: 1;
        margin-right: 1;
    }
    ThinkingField #field-thinking > RadioButton {
        width: auto;
        margin-right: 2;
    }
    ThinkingField #preserve-thinking {
        width: auto;
        margin-right: 1;
    }
    """

    class Changed(Message):
        """The person chose another value."""

        def __init__(self, value: Thinking | None) -> None:
            super().__init__()
            self.value = value

    class PreserveChanged(Message):
        """The person checked or cleared "preserved thinking"."""

        def __init__(self, preserve: bool) -> None:
            super().__init__()
            self.preserve = preserve

    def __init__(self, value: Thinking | None, kind: ServerKind | None,
                 default: Thinking | None = None, *, preserve: bool | None = None) -> None:
        """``preserve``: the session's "preserved thinking" (None: no box, as for defaults)."""
        super().__init__(classes="field", id="box-thinking")
        self._value = value
        self.kind = kind
        self.default = default
        self.preserve = preserve

    @property
    def value(self) -> Thinking | None:
        return self._value

    def compose(self) -> ComposeResult:
        support = thinking_support(self.kind)
        with Horizontal(classes="field-row"):
            yield Label(Content("thinking"), classes="field-name")
            yield RadioSet(
                *(RadioButton(Content(word), value=choice is self._value, id=f"thinking-{i}")
                  for i, (choice, word) in enumerate(CHOICES)),
                id="field-thinking", compact=True,
            )
            yield Static(Content(self._info_text()), classes="field-info", id="info-thinking")
        line = Static(Content(f"↳ this server: {support.note}"), classes="field-support",
                      id="support-thinking")
        line.set_class(not support.sent, "-ignored")
        yield line
        if self.preserve is not None:
            with Horizontal(classes="field-row"):
                yield Label("", classes="field-name")
                yield Checkbox(Content("preserved thinking"), self.preserve,
                               id="preserve-thinking", compact=True)
                yield Static(Content(
                    "this session: send every earlier reply's reasoning again (costs context); "
                    "off, only a tool-calling turn's reasoning goes back, with its results"),
                    classes="field-info", id="info-preserve-thinking")

    def on_mount(self) -> None:
        """Start the highlight on the chosen value, so Enter on arriving keeps it (a radio set
        highlights its first button when mounted: move on from there)."""
        radio = self.query_one("#field-thinking", RadioSet)
        for _ in range(radio.pressed_index):
            radio.action_next_button()

    def _info_text(self) -> str:
        default = "default: the server's" if self.default is None else \
            f"default {choice_word(self.default)}"
        return f"{default} · whether a thinking model reasons before it answers"

    def show_value(self, value: Thinking | None) -> None:
        """Show ``value`` as chosen (a preset, a reset); posts no Changed."""
        self._value = value
        index = next(i for i, (choice, _) in enumerate(CHOICES) if choice is value)
        button = self.query_one(f"#thinking-{index}", RadioButton)
        with button.prevent(RadioButton.Changed, RadioSet.Changed):
            button.value = True

    def show_default(self, default: Thinking | None) -> None:
        """New defaults (saved as the user's): the info line names them."""
        self.default = default
        self.query_one("#info-thinking", Static).update(Content(self._info_text()))

    @on(Checkbox.Changed, "#preserve-thinking")
    def _preserve_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.preserve = event.value
        self.post_message(self.PreserveChanged(event.value))

    @on(RadioSet.Changed, "#field-thinking")
    def _chosen(self, event: RadioSet.Changed) -> None:
        event.stop()
        choice = CHOICES[event.index][0]
        if choice is not self._value:
            self._value = choice
            self.post_message(self.Changed(choice))
