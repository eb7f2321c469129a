"""The one-line status bar: where the app is talking to, and how the last reply went.

Server, model, connection state, the sampling summary, token counts (``~`` marks counts glm-tui
estimated because the server sent none; a thinking model's reasoning tokens apart), time to first
token and tokens per second, and, when saving fails, why. Everything is drawn as
:class:`~textual.content.Content` from plain strings, so a model name or an error text with
brackets in it is shown as typed.
"""

from __future__ import annotations

from enum import StrEnum

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from glm_tui.chat.reply_tracker import ReplyStats
from glm_tui.ui.literal import one_line_text

LIMIT = 120
"""Characters kept of each outside word in the status bar (one row; the rest is cut anyway)."""


class ConnectionState(StrEnum):
    CHECKING = "checking"  # asking the server for its models at start-up or after a switch
    READY = "ready"
    UNREACHABLE = "unreachable"  # nothing answered at the base URL
    TIMED_OUT = "timed out"  # it answered too slowly (connect or read timeout)
    WAITING = "waiting"  # a request is out, no reply text yet
    STREAMING = "streaming"
    ERROR = "error"  # the server answered, with an error


_STATE_STYLES = {
    ConnectionState.CHECKING: "$text-muted",
    ConnectionState.READY: "$text-success",
    ConnectionState.UNREACHABLE: "$text-error",
    ConnectionState.TIMED_OUT: "$text-error",
    ConnectionState.WAITING: "$text-warning",
    ConnectionState.STREAMING: "$text-accent",
    ConnectionState.ERROR: "$text-error",
}


def format_stats(stats: ReplyStats | None) -> str:
    """``~123 tok (~80 thinking) · TTFT 0.21 s · 45.0 tok/s`` (unknown parts are left out).

    A thinking model's reasoning tokens are counted apart, in brackets: they are part of the
    completion (and of its cost) but not of the answer. ``~`` marks a count glm-tui made.
    """
    if stats is None:
        return ""
    parts: list[str] = []
    if stats.completion_tokens is not None:
        mark = "~" if stats.estimated else ""
        if stats.prompt_tokens is not None:
            tokens = f"{mark}{stats.prompt_tokens}→{stats.completion_tokens} tok"
        else:
            tokens = f"{mark}{stats.completion_tokens} tok"
        if stats.reasoning_tokens is not None:
            thinking_mark = "~" if stats.reasoning_estimated else ""
            tokens += f" ({thinking_mark}{stats.reasoning_tokens} thinking)"
        parts.append(tokens)
    if stats.first_token_s is not None:
        parts.append(f"TTFT {stats.first_token_s:.2f} s")
    if stats.tokens_per_s is not None:
        parts.append(f"{stats.tokens_per_s:.1f} tok/s")
    return " · ".join(parts)


class StatusBar(Static):
    """Server · model · state · sampling · figures · save problem."""

    server: reactive[str] = reactive("")
    model: reactive[str] = reactive("")
    state: reactive[ConnectionState] = reactive(ConnectionState.CHECKING)
    detail: reactive[str] = reactive("")  # why the state is what it is (an unreachable URL...)
    sampling: reactive[str] = reactive("")
    stats: reactive[ReplyStats | None] = reactive(None)
    save_problem: reactive[str] = reactive("")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)

    def render_content(self) -> Content:
        separator = ("  │  ", "$text-muted")
        parts: list[Content | str | tuple[str, str]] = [
            (one_line_text(self.server, LIMIT), "bold"),
            " · ",
            one_line_text(self.model, LIMIT),
            separator,
            ("● " + self.state.value, _STATE_STYLES[self.state]),
        ]
        if self.detail:
            parts.extend([" ", (one_line_text(self.detail, LIMIT), "$text-muted")])
        if self.sampling:
            parts.extend([separator, self.sampling])
        figures = format_stats(self.stats)
        if figures:
            parts.extend([separator, figures])
        if self.save_problem:
            parts.extend([separator, ("not saved: " + one_line_text(self.save_problem, LIMIT),
                                      "$text-error")])
        return Content.assemble(*parts)

    def _refresh_text(self) -> None:
        if self.is_mounted:
            self.update(self.render_content())

    def on_mount(self) -> None:
        self._refresh_text()

    def watch_server(self) -> None:
        self._refresh_text()

    def watch_model(self) -> None:
        self._refresh_text()

    def watch_state(self) -> None:
        self._refresh_text()

    def watch_detail(self) -> None:
        self._refresh_text()

    def watch_sampling(self) -> None:
        self._refresh_text()

    def watch_stats(self) -> None:
        self._refresh_text()

    def watch_save_problem(self) -> None:
        self._refresh_text()

    @property
    def plain(self) -> str:
        """The bar's text without styles (what tests and screen readers see)."""
        return self.render_content().plain
