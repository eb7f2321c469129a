"""Drawing the conversation: one widget per message, and the scrolling list that holds them.

Each role has its own look (user, assistant, tool, system note) and a failed or cut reply carries a
visible badge and an error block with the server's own words. Only assistant text is Markdown;
everything else is drawn literally through :class:`~textual.content.Content`, after
:func:`sanitize_for_display` has removed anything a terminal would act on.

:class:`MessageList` mounts only a window of message widgets (the newest ones) and mounts older
ones when the user scrolls back, so a 2,000-message session opens as fast as a short one. It knows
nothing about the store: the screen gives it a callback that fetches older messages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, cast

from textual import events
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.widget import Widget
from textual.widgets import Static

from glm_tui.chat.mcp_tools import mcp_origin
from glm_tui.chat.tools import call_warnings, pretty_arguments, tool_name
from glm_tui.model.session import Message, MessageStatus, Role, ToolCall
from glm_tui.model.text import sanitize_for_display
from glm_tui.settings.config import ThinkingDisplay
from glm_tui.ui.literal import one_line_text
from glm_tui.ui.markdown.render import last_fenced_block
from glm_tui.ui.markdown.textual_compat import GrowingWidget
from glm_tui.ui.markdown.widget import StreamingMarkdown
from glm_tui.ui.widgets.alternatives_label import alternatives_label
from glm_tui.ui.widgets.huge_text import HugeText, PlainTail
from glm_tui.ui.widgets.image_thumbnail import TEXT_ONLY, ImageSource, ImageThumbnail
from glm_tui.ui.widgets.thinking_block import ThinkingBlock, stored_block, update_from

INITIAL_WINDOW = 40
"""How many message widgets a freshly opened session mounts (the newest ones)."""

SCROLLBACK_BATCH = 30
"""How many older messages one scroll to the top mounts."""

MOUNTED_CAP = 160
"""Beyond this many mounted messages the oldest are unmounted (they come back on scroll-back)."""

OlderLoader = Callable[[int], Awaitable[int]]
"""Called with a batch size when the list needs messages older than those in memory; returns how
many it prepended to the shared message list (0 when the session has no older messages)."""

_ROLE_LABELS = {
    Role.USER: "You",
    Role.ASSISTANT: "Assistant",
    Role.TOOL: "Tool result",
    Role.SYSTEM: "Note",
}

_STATUS_BADGES = {
    MessageStatus.STREAMING: "streaming…",
    MessageStatus.CANCELLED: "cancelled",
    MessageStatus.INTERRUPTED: "interrupted",
    MessageStatus.FAILED: "failed",
}


def literal(text: str) -> Content:
    """Model or user text as inert content: no markup, no escape sequences."""
    return Content(sanitize_for_display(text))


class MessageView(Vertical, GrowingWidget):
    """One message: a header line (who, and the reply's state) and its body.

    Focusable so a person can Tab or click to a message and copy it. Its keys are ones no text
    uses: whatever is typed while a message has the focus goes to the prompt (the screen moves
    the focus before the key is delivered, see ``ConversationBase.redirect_typing``).
    """

    can_focus = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "copy_message", "Copy", show=False, id="message.copy",
                tooltip="On a focused message (Shift+Tab or a click): copy the text selected "
                "with the mouse, or the whole message when nothing is selected"),
        Binding("ctrl+k", "copy_code", "Copy code", show=False, id="message.copy_code",
                tooltip="On a focused message: copy its last code block"),
    ]

    class CopyRequested(TextualMessage):
        """The user asked to copy this message (``code=True``: its last code block)."""

        def __init__(self, view: MessageView, code: bool) -> None:
            super().__init__()
            self.view = view
            self.code = code

    def __init__(self, message: Message) -> None:
        super().__init__(classes=f"message -{message.role.value}")
        self.message = message

    def compose(self) -> ComposeResult:
        yield Static(self._header(), classes="message-header", markup=False)
        yield from self.compose_body()
        if self.message.error:
            yield Static(literal(self.message.error), classes="error-block", markup=False)

    def compose_body(self) -> ComposeResult:
        yield Static(literal(self.message.content), classes="message-body", markup=False)

    def on_mount(self) -> None:
        self.refresh_state()

    @property
    def taken_down(self) -> bool:
        """Whether this view is being removed and has lost its children already.

        Textual removes a widget's children before the widget, and a view still mounting when
        it is removed (a session switched while its messages were being drawn) gets its Mount
        after that: there is nothing left to redraw then, and looking for the header raised.
        """
        return self._pruning or not self.query_children(".message-header")

    def _header(self) -> Content:
        label = _ROLE_LABELS[self.message.role]
        if self.message.role is Role.TOOL and self.message.name:
            label = f"{label} · {sanitize_for_display(self.message.name)}"
        parts: list[Content | str | tuple[str, str]] = [(label, "bold")]
        badge = _STATUS_BADGES.get(self.message.status)
        if self.message.status is MessageStatus.STREAMING and not self.message.content:
            # Nothing of the answer yet: the model is thinking, or nothing has arrived at all
            # (a server with tools sends the reply whole).
            badge = "thinking…" if self.message.reasoning else "waiting…"
        if badge:
            parts.extend(["  ", (f"[{badge}]", "italic")])
        parts.extend(alternatives_label(self.message))  # ‹ 2/3 › when Ctrl+R kept answers
        return Content.assemble(*parts)

    def refresh_state(self) -> None:
        """Redraw the header badge and error block from the message's current status."""
        if self.taken_down:
            return
        status = self.message.status
        for name in ("streaming", "cancelled", "interrupted", "failed"):
            self.set_class(status.value == name, f"-{name}")
        self.query_one(".message-header", Static).update(self._header())
        # Error blocks are mounted only when needed: a long session has few of them, and every
        # widget costs styling and layout time when a session opens.
        blocks = self.query_children(".error-block")
        if self.message.error:
            if blocks:
                cast(Static, blocks.first()).update(literal(self.message.error))
            else:
                self.mount(Static(literal(self.message.error), classes="error-block",
                                  markup=False))
        else:
            blocks.remove()

    def copy_text(self) -> str:
        """What "copy message" puts on the clipboard: the text as the model or user wrote it."""
        return self.message.content

    def last_code_block(self) -> str | None:
        return last_fenced_block(self.message.content)

    def action_copy_message(self) -> None:
        if self.screen.get_selected_text():
            raise SkipAction()  # the screen's Ctrl+C copies the mouse selection
        self.post_message(self.CopyRequested(self, code=False))

    def action_copy_code(self) -> None:
        self.post_message(self.CopyRequested(self, code=True))


class PicturedMessageView(MessageView):
    """A message's text, literal, and its pictures (a caption each, and a thumbnail where the
    terminal draws images)."""

    def __init__(self, message: Message, images: ImageSource = TEXT_ONLY) -> None:
        super().__init__(message)
        self.images = images

    def compose_body(self) -> ComposeResult:
        yield from super().compose_body()
        for image in self.message.images:
            yield ImageThumbnail(image, self.images)


class UserMessageView(PicturedMessageView):
    """The user's question: what they typed is exactly what is shown, with its pictures."""


class ToolMessageView(PicturedMessageView):
    """A tool result fed back to the model, literal, with the pictures an MCP tool returned."""


class SystemNoteView(MessageView):
    """A note in the conversation (not sent as a chat turn)."""


def tool_calls_content(calls: Sequence[ToolCall], tools: Sequence[dict[str, Any]]) -> Content:
    """Each call as its own block: the function name (and the MCP server it goes to), its
    arguments pretty-printed (or raw, with a warning, when they are not JSON), and what is wrong
    with the call, if anything."""
    servers = {tool_name(entry): origin for entry in tools
               if (origin := mcp_origin(entry)) is not None}
    parts: list[Content | str | tuple[str, str]] = []
    for index, call in enumerate(calls):
        if index:
            parts.append("\n\n")
        parts.extend([("⚙ calls ", "$text-muted"), (one_line_text(call.name), "bold")])
        if call.name in servers:
            server, tool = servers[call.name]
            own = f" (its tool {one_line_text(tool)})" if tool != call.name else ""
            parts.append((f"  on the MCP server {one_line_text(server)}{own}", "$text-muted"))
        parts.append((f"   {one_line_text(call.id)}", "$text-muted"))
        arguments, _ = pretty_arguments(call.arguments)
        parts.extend(["\n", literal(arguments)])
        for warning in call_warnings(call, tools):
            parts.extend(["\n", (f"⚠ {sanitize_for_display(warning)}", "$warning")])
    return Content.assemble(*parts)


class AssistantMessageView(MessageView):
    """A reply, rendered as Markdown (streamed while it arrives) with any tool calls it made,
    below its reasoning when a thinking model wrote some (:mod:`.thinking_block`)."""

    def __init__(self, message: Message, tools: Sequence[dict[str, Any]] = (),
                 thinking: ThinkingDisplay = ThinkingDisplay.COLLAPSE) -> None:
        super().__init__(message)
        self._tail = PlainTail()  # past a cap, text is drawn plain (a 10 MB reply froze the app)
        # Kept, not queried: write() runs once per streamed token.
        self._markdown = StreamingMarkdown(markdown=self._tail.split(message.content)[0])
        self.tools = tools
        self.thinking_display = thinking
        self._thinking: ThinkingBlock | None = stored_block(message, thinking)

    def compose_body(self) -> ComposeResult:
        if self._thinking is not None:
            yield self._thinking
        yield self._markdown
        yield from self._tail.widgets()
        if self.message.tool_calls:
            yield Static(self._tool_calls_text(), classes="tool-calls", markup=False)

    def _tool_calls_text(self) -> Content:
        return tool_calls_content(self.message.tool_calls, self.tools)

    @property
    def markdown(self) -> StreamingMarkdown:
        return self._markdown

    @property
    def thinking(self) -> ThinkingBlock | None:
        """The reasoning's block (None for a reply without reasoning)."""
        return self._thinking

    @property
    def plain(self) -> HugeText | None:
        """The plain part of a reply longer than the Markdown cap (None for others)."""
        return self._tail.widget

    def write(self, fragment: str) -> None:
        """Append streamed text (buffered by the widgets; call once per delta)."""
        formatted, new = self._tail.split(fragment)
        self._markdown.write(formatted)
        if new and self.is_attached:
            self.mount_all(new, after=self._markdown)

    def write_reasoning(self, fragment: str) -> None:
        """Append streamed reasoning (the hot path, as :meth:`write`); the first piece opens
        the thinking block above the answer."""
        block = self._thinking
        if block is None:
            block = self._thinking = ThinkingBlock(display=self.thinking_display, live=True)
            self._mount_thinking()
        block.write(fragment)

    def _mount_thinking(self) -> None:
        """Put the new block above the answer (a view already left, by a session switch while
        the reply ends, only keeps it)."""
        if self._thinking is not None and self.is_attached:
            self.mount(self._thinking, before=self._markdown)

    def answer_was_reasoning(self, text: str) -> None:
        """Everything written as answer so far was reasoning (a reply that began mid-thought
        and only then closed its ``</think>``): it moves to the front of the reasoning."""
        if self._thinking is None:
            self._thinking = ThinkingBlock(display=self.thinking_display, live=True)
            self._mount_thinking()
        self._thinking.prepend(text)
        for widget in self._tail.clear():
            widget.remove()
        if self.is_attached:
            self._markdown.remove()
            self._markdown = StreamingMarkdown()
            self.mount(self._markdown, after=self._thinking)

    async def finish(self) -> None:
        """Flush what is buffered and end the stream; safe to call more than once."""
        if self._thinking is not None:
            await self._thinking.finish()
        await self._markdown.finish()
        self._tail.finish()

    def refresh_state(self) -> None:
        super().refresh_state()
        if self.taken_down:
            return
        self._refresh_thinking()
        calls = self.query_children(".tool-calls")
        if self.message.tool_calls:
            if calls:
                cast(Static, calls.first()).update(self._tool_calls_text())
            else:
                self.mount(Static(self._tool_calls_text(), classes="tool-calls", markup=False),
                           after=self._tail.widget or self.markdown)
        else:
            calls.remove()

    def _refresh_thinking(self) -> None:
        """Follow the reply: the answer started, or it ended (a reply sent whole brings its
        reasoning only now)."""
        if self._thinking is None:
            self._thinking = stored_block(self.message, self.thinking_display)
            self._mount_thinking()
        if self._thinking is not None:
            update_from(self._thinking, self.message)

    def show_figures(self, reasoning_tokens: int | None, estimated: bool) -> None:
        """The reasoning's token count, live and at the end (the status bar's figures)."""
        if self._thinking is not None and reasoning_tokens is not None:
            self._thinking.set_figures(reasoning_tokens, estimated)

    def last_code_block(self) -> str | None:
        if self._tail.widget is not None:
            return last_fenced_block(self.message.content)
        return self._markdown.last_code_block()  # its text is current even mid-stream


def view_for(message: Message, tools: Sequence[dict[str, Any]] = (),
             images: ImageSource = TEXT_ONLY,
             thinking: ThinkingDisplay = ThinkingDisplay.COLLAPSE) -> MessageView:
    """The widget class that draws a message of this role (``tools``: the session's, to check
    tool calls against; ``images``: where its pictures are read from and how they are drawn;
    ``thinking``: how a reply's reasoning is drawn)."""
    if message.role is Role.ASSISTANT:
        return AssistantMessageView(message, tools, thinking)
    if message.role is Role.USER:
        return UserMessageView(message, images)
    if message.role is Role.TOOL:
        return ToolMessageView(message, images)
    return SystemNoteView(message)


class MessageList(VerticalScroll, GrowingWidget):
    """The scrolling conversation, mounting a window of message widgets.

    ``messages`` is the screen's list (the session's messages held in memory, oldest first); the
    list never copies it. Views exist for a contiguous run of it that always ends at the newest
    message.
    """

    can_focus = False

    def __init__(self, *, id: str | None = None,
                 thinking: ThinkingDisplay = ThinkingDisplay.COLLAPSE) -> None:
        super().__init__(id=id)
        self._messages: list[Message] = []
        self._older: OlderLoader | None = None
        self._views: dict[int, MessageView] = {}  # id(message) -> view
        self._loading_older = False
        self.no_older = True
        self.tools: Sequence[dict[str, Any]] = ()  # the session's tools, to check calls against
        self.images: ImageSource = TEXT_ONLY  # where the screen's pictures come from
        self.thinking_display = thinking  # how replies' reasoning is drawn

    # -- building ---------------------------------------------------------------------------

    async def show(self, messages: list[Message], older: OlderLoader | None = None,
                   *, window: int = INITIAL_WINDOW) -> None:
        """Replace everything with the newest ``window`` messages, scrolled to the end."""
        await self.remove_children()
        self._views.clear()
        self._messages = messages
        self._older = older
        self.no_older = older is None
        views = [self._make_view(m) for m in messages[-window:]] if window else []
        if views:
            await self.mount_all(views)
        self.anchor()

    async def append(self, message: Message) -> MessageView:
        """Mount the view for a message just added to the end of the shared list."""
        view = self._make_view(message)
        await self.mount(view)
        await self._trim()
        self.anchor()
        return view

    async def redraw(self, message: Message) -> MessageView | None:
        """Draw a message's view again from scratch (it now shows another answer)."""
        old = self._views.get(id(message))
        if old is None:
            return None
        view = self._make_view(message)
        await self.mount(view, after=old)
        await old.remove()
        return view

    async def remove_from(self, message: Message) -> None:
        """Unmount the view of ``message`` and of every message after it."""
        try:
            index = self._index_of(message)
        except ValueError:
            return
        doomed = [self._views.pop(id(m)) for m in self._messages[index:] if id(m) in self._views]
        if doomed:
            await self.remove_children(doomed)

    def set_tools(self, tools: Sequence[dict[str, Any]]) -> None:
        """The session's tools changed: redraw the calls whose warnings depend on them."""
        self.tools = tools
        for view in self._views.values():
            if isinstance(view, AssistantMessageView) and view.message.tool_calls:
                view.tools = tools
                view.refresh_state()

    def get_view(self, message: Message) -> MessageView | None:
        return self._views.get(id(message))

    @property
    def mounted_count(self) -> int:
        return len(self._views)

    def views(self) -> list[MessageView]:
        return list(self.query_children(MessageView))

    # -- scroll-back ------------------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value < 1 and old_value >= 1:
            self.call_later(self.load_older)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if self.scroll_y < 1:
            self.call_later(self.load_older)

    async def load_older(self, count: int = SCROLLBACK_BATCH) -> int:
        """Mount up to ``count`` older messages above the first one, keeping the view still."""
        if self._loading_older:
            return 0
        self._loading_older = True
        try:
            first = self._first_mounted_index()
            if first == 0 and self._older is not None and not self.no_older:
                added = await self._older(count)
                if added == 0:
                    self.no_older = True
                first = self._first_mounted_index()
            if first <= 0:
                return 0
            batch = self._messages[max(0, first - count):first]
            views = [self._make_view(m) for m in batch]
            before_height = self.virtual_size.height
            before_y = self.scroll_y
            await self.mount_all(views, before=0 if self.children else None)
            self.call_after_refresh(self._keep_position, before_height, before_y)
            return len(views)
        finally:
            self._loading_older = False

    def _keep_position(self, before_height: int, before_y: float) -> None:
        grown = self.virtual_size.height - before_height
        if grown > 0:
            self.scroll_to(y=before_y + grown, animate=False, release_anchor=False)

    # -- internals --------------------------------------------------------------------------

    def _make_view(self, message: Message) -> MessageView:
        view = view_for(message, self.tools, self.images, self.thinking_display)
        self._views[id(message)] = view
        return view

    def _index_of(self, message: Message) -> int:
        for index in range(len(self._messages) - 1, -1, -1):
            if self._messages[index] is message:
                return index
        raise ValueError("message not in this conversation")

    def _first_mounted_index(self) -> int:
        for index, message in enumerate(self._messages):
            if id(message) in self._views:
                return index
        return len(self._messages)

    async def _trim(self) -> None:
        """Keep the mounted count bounded in a long-running chat (oldest views go first)."""
        excess = len(self._views) - MOUNTED_CAP
        if excess <= 0:
            return
        doomed: list[Widget] = []
        for message in self._messages:
            view = self._views.pop(id(message), None)
            if view is not None:
                doomed.append(view)
                if len(doomed) >= excess:
                    break
        await self.remove_children(doomed)
