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
    return " · ".join(text for _, text in stats_parts(stats))


def stats_parts(stats: ReplyStats | None) -> list[tuple[str, str]]:
    """The figures of :func:`format_stats` by name (``tokens``, ``ttft``, ``speed``), in order."""
    if stats is None:
        return []
    parts: list[tuple[str, str]] = []
    if stats.completion_tokens is not None:
        mark = "~" if stats.estimated else ""
        if stats.prompt_tokens is not None:
            tokens = f"{mark}{stats.prompt_tokens}→{stats.completion_tokens} tok"
        else:
            tokens = f"{mark}{stats.completion_tokens} tok"
        if stats.reasoning_tokens is not None:
            thinking_mark = "~" if stats.reasoning_estimated else ""
            tokens += f" ({thinking_mark}{stats.reasoning_tokens} thinking)"
        parts.append(("tokens", tokens))
    if stats.first_token_s is not None:
        parts.append(("ttft", f"TTFT {stats.first_token_s:.2f} s"))
    if stats.tokens_per_s is not None:
        parts.append(("speed", f"{stats.tokens_per_s:.1f} tok/s"))
    return parts


Piece = Content | str | tuple[str, str]
Item = tuple[int, Content]
"""One item of the bar and how soon it goes when the bar is too narrow (0: never)."""

DROP_RANKS = {"tokens": 5, "speed": 6, "ttft": 7}
"""What a narrow bar leaves out first: time to first token, then speed, then tokens."""

_GROUP_SEPARATOR = Content.assemble(("  │  ", "$text-muted"))
_ITEM_SEPARATOR = Content(" · ")


def fit_groups(groups: list[list[Item]], width: int) -> Content:
    """Groups joined by ``│``, their items by ``·``, the highest ranks left out until the rest
    fits in ``width`` cells (0: no limit). What still does not fit is cut with an ellipsis by
    the widget: server, model, state and a save problem are never left out."""
    def joined() -> Content:
        return _GROUP_SEPARATOR.join(_ITEM_SEPARATOR.join(content for _, content in group)
                                     for group in groups if group)

    text = joined()
    while width and text.cell_length > width:
        worst = max((rank for group in groups for rank, _ in group), default=0)
        if worst == 0:
            break
        for group in reversed(groups):
            if any(rank == worst for rank, _ in group):
                index = max(i for i, (rank, _) in enumerate(group) if rank == worst)
                del group[index]
                break
        text = joined()
    return text


class StatusBar(Static):
    """Server · model · state · save problem · sampling · figures."""

    server: reactive[str] = reactive("")
    model: reactive[str] = reactive("")
    state: reactive[ConnectionState] = reactive(ConnectionState.CHECKING)
    detail: reactive[str] = reactive("")  # why the state is what it is (an unreachable URL...)
    sampling: reactive[str] = reactive("")
    stats: reactive[ReplyStats | None] = reactive(None)
    save_problem: reactive[str] = reactive("")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)

    def render_content(self, width: int = 0) -> Content:
        """The bar's text; given a ``width``, the least important figures left out to fit."""
        state: list[Piece] = [("● " + self.state.value, _STATE_STYLES[self.state])]
        if self.detail:
            state.extend([" ", (one_line_text(self.detail, LIMIT), "$text-muted")])
        groups: list[list[Item]] = [
            [(0, Content.assemble((one_line_text(self.server, LIMIT), "bold"), " · ",
                                  one_line_text(self.model, LIMIT)))],
            [(0, Content.assemble(*state))],
            [(0, Content.assemble(("not saved: " + one_line_text(self.save_problem, LIMIT),
                                   "$text-error")))] if self.save_problem else [],
            [(0, Content(self.sampling))] if self.sampling else [],
            [(DROP_RANKS[name], Content(text)) for name, text in stats_parts(self.stats)],
        ]
        return fit_groups(groups, width)

    def _refresh_text(self) -> None:
        if self.is_mounted:
            self.update(self.render_content(self.size.width), layout=False)

    def on_mount(self) -> None:
        self._refresh_text()

    def on_resize(self) -> None:
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
