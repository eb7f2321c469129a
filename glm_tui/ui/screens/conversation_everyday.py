"""What everyday use asked of the conversation screen (issue 12): a draft per session, a reply's
alternatives, scrolling from the prompt and finding a streaming reply again.

:class:`EverydayConversation` sits between :class:`~glm_tui.ui.screens.conversation_images.
ImageConversation` (pictures, over :class:`~glm_tui.ui.screens.conversation_base.ConversationBase`:
the session, its store and widgets) and :class:`~glm_tui.ui.screens.conversation.
ConversationScreen` (sending, replies, editing). Its keys are declared here, once, with their
ids (the README's Conversation table lists them with the screen's own).

Drafts: what is typed in the prompt and not sent is the session's draft, stored within a second
of a change and when the person leaves the session or quits (:mod:`glm_tui.storage.drafts`),
and given back when the session is opened again. Editing the last question borrows the prompt:
the draft waits aside and comes back on Esc, or once the edited question is sent.

Alternatives: Ctrl+R keeps the previous answer (:mod:`glm_tui.chat.alternatives` says which);
the reply shows ``‹ 2/3 ›`` and what the answer shown was made with, and Alt+Left / Alt+Right
move between its answers. The one shown is the message's text: what the next request sends.

Scrolling: PageUp / PageDown and Ctrl+Home / Ctrl+End move the conversation while the prompt
keeps the focus and what is typed in it. The list follows a streaming reply until the person
scrolls up; then :class:`~glm_tui.ui.widgets.jump_to_latest.JumpToLatest` says the reply goes on
below, and Ctrl+End or a click on it goes back to the end and follows again.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events, on
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.worker import Worker

from glm_tui.chat.alternatives import kept_answers, switch_refusal, take_kept
from glm_tui.chat.reply_tracker import stored_stats
from glm_tui.model.alternatives import choose
from glm_tui.model.session import Alternative, MadeWith, Message, Role
from glm_tui.storage.store import StoreError
from glm_tui.ui.screens.conversation_images import ImageConversation
from glm_tui.ui.widgets.jump_to_latest import JumpToLatest
from glm_tui.ui.widgets.message_view import AssistantMessageView
from glm_tui.ui.widgets.prompt_input import PromptInput

DRAFT_SAVE_EVERY_S = 1.0
"""How often the draft is stored when it changed (and always on leaving): no work per key."""

FOLLOW_SLACK = 1.0
"""Rows the view may be above its end and still count as following the reply."""


class EverydayConversation(ImageConversation):
    """Drafts, a reply's answers, scrolling from the prompt, the jump to the latest text (see
    the module docstring)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("pageup", "messages_page_up", "Page up", show=False,
                id="conversation.page_up",
                tooltip="Scroll the conversation up a page (the prompt keeps what you type)"),
        Binding("pagedown", "messages_page_down", "Page down", show=False,
                id="conversation.page_down", tooltip="Scroll the conversation down a page"),
        Binding("ctrl+home", "messages_top", "Top", show=False, id="conversation.scroll_top",
                tooltip="Scroll to the start of the conversation (older messages load there)"),
        Binding("ctrl+end", "messages_latest", "Latest", show=False,
                id="conversation.scroll_latest",
                tooltip="Scroll to the latest message and follow a streaming reply again"),
        Binding("alt+left", "switch_answer(-1)", "Previous answer", show=False,
                id="conversation.previous_answer",
                tooltip="Show the reply's previous answer (Ctrl+R keeps each one): the focused "
                "reply's, else the newest reply's; the one shown is what the next request sends"),
        Binding("alt+right", "switch_answer(1)", "Next answer", show=False,
                id="conversation.next_answer",
                tooltip="Show the reply's next answer (see Alt+Left)"),
    ]

    _draft_stash: str | None = None  # the draft, while editing the last question borrows the prompt
    _draft_saved = ""  # the draft as the store has it
    _draft_problem_shown = False
    _prompt_kept: PromptInput | None = None

    @property
    def jump_hint(self) -> JumpToLatest:
        return self.query_one(JumpToLatest)

    @on(events.Mount)
    def _follow_scrolling(self) -> None:
        # The view moved, or the text grew under a view that stays (scrolled up before the
        # reply filled a page). While the list follows the reply, Textual moves it to the end
        # during layout, before either watcher runs: the hint does not flicker.
        self.watch(self.messages, "scroll_y", self.refresh_jump_hint, init=False)
        self.watch(self.messages, "virtual_size", self.refresh_jump_hint, init=False)
        self._prompt_kept = self.prompt  # read at shutdown too, once the screen's DOM is gone
        self._restore_draft()
        self.set_interval(DRAFT_SAVE_EVERY_S, self.save_draft)

    # -- drafts --------------------------------------------------------------------------------

    @property
    def current_draft(self) -> str:
        """What the person typed and did not send (not the question being edited)."""
        if self._draft_stash is not None:
            return self._draft_stash
        return "" if self._prompt_kept is None else self._prompt_kept.text

    def stash_draft(self) -> None:
        """The prompt is borrowed (editing the last question): the draft waits aside."""
        if self._draft_stash is None:
            self._draft_stash = self.prompt.text

    def give_back_draft(self) -> None:
        """The prompt is free again (editing ended, or a question sent): the draft that waited
        aside comes back; with none, the prompt is emptied."""
        draft, self._draft_stash = self._draft_stash or "", None
        self.prompt.set_prompt(draft)

    def _restore_draft(self) -> None:
        store = self.recorder.store
        if store is None:
            return
        try:
            draft = store.load_draft(self.session.id)
        except StoreError as exc:
            self.app.notify(f"The draft of this session cannot be read: {exc}",
                            severity="warning", markup=False)
            return
        self._draft_saved = draft
        if draft and not self.prompt.text:
            self.prompt.set_prompt(draft)

    def save_draft(self, *, leaving: bool = False) -> None:
        """Store the draft if it changed. A session never stored has no place for one until
        the person leaves it (``leaving``) with a draft: then the session is stored, so that
        the draft is in the sessions list and comes back with the session."""
        draft = self.current_draft
        store = self.recorder.store
        if store is None or self._prompt_kept is None or draft == self._draft_saved:
            return
        try:
            if not store.has_session(self.session.id):
                if not (leaving and draft.strip()):
                    return
                self.recorder.save_session()
            store.save_draft(self.session.id, draft)
        except StoreError as exc:
            if not self._draft_problem_shown:
                self._draft_problem_shown = True
                self.app.notify(f"The draft is not saved: {exc}", severity="warning",
                                markup=False)
            return
        self._draft_saved = draft
        self._draft_problem_shown = False

    async def suspend(self, *, final: bool = False) -> None:
        """Leaving the session or quitting: its draft is stored first."""
        self.save_draft(leaving=True)
        await super().suspend(final=final)

    # -- a reply's answers (Ctrl+R keeps them) -----------------------------------------------

    _kept: tuple[Message | None, list[Alternative]] | None = None

    def keep_as_alternative(self, reply: Message) -> None:
        """Ctrl+R is about to drop ``reply``: its answers wait for the reply asked next to the
        same question (the message before it)."""
        messages = self.session.messages
        index = next((i for i in range(len(messages) - 1, -1, -1) if messages[i] is reply), -1)
        if index >= 0:
            self._kept = (messages[index - 1] if index else None, kept_answers(reply))

    def begin_reply(self, reply: Message) -> None:
        """A new reply starts: it records what it is made with and, asked again by Ctrl+R,
        takes the kept answers as its alternatives."""
        kept, self._kept = self._kept, None
        answers: list[Alternative] = []
        if kept is not None and kept[0] is self.session.last_message():
            answers = kept[1]
        take_kept(reply, answers, MadeWith(self.session.model, self.session.sampling))

    def _answers_target(self) -> Message | None:
        """The focused reply, else the newest reply with other answers, else the newest."""
        focused = self.focused
        if isinstance(focused, AssistantMessageView):
            return focused.message
        replies = [m for m in self.session.messages if m.role is Role.ASSISTANT]
        with_answers = [m for m in replies if m.alternatives]
        chosen = with_answers or replies
        return chosen[-1] if chosen else None

    async def action_switch_answer(self, delta: int) -> None:
        """Show another answer of a reply; the next request sends the one shown."""
        message = self._answers_target()
        refusal = ("A reply is still arriving: Esc cancels it first." if self.reply_streaming
                   else switch_refusal(message, delta))
        if refusal is not None or message is None:
            self.app.notify(refusal or "There is no reply to switch yet.")
            return
        focused = isinstance(self.focused, AssistantMessageView)
        choose(message, message.alternative_position + delta)
        self.status.stats = stored_stats(message)  # the figures of the answer now shown
        self.record(lambda: self.recorder.update_message(message))
        view = await self.messages.redraw(message)
        if view is not None and focused:
            view.focus()

    # -- scrolling from the prompt ------------------------------------------------------------

    def action_messages_page_up(self) -> None:
        self.messages.scroll_page_up()

    def action_messages_page_down(self) -> None:
        self.messages.scroll_page_down()

    def action_messages_top(self) -> None:
        self.messages.scroll_home()

    def action_messages_latest(self) -> None:
        """To the end, following a streaming reply again (the list's anchor takes hold)."""
        self.messages.scroll_end(animate=False)  # animated, the way down would show the hint
        self.jump_hint.display = False

    @on(JumpToLatest.Pressed)
    def _jump_pressed(self) -> None:
        self.action_messages_latest()

    # -- the hint ------------------------------------------------------------------------------

    @property
    def reply_streaming(self) -> bool:
        """A reply's worker is still running (drawing included)."""
        return any(w.group == "reply" and not w.is_finished for w in self.workers)

    def refresh_jump_hint(self) -> None:
        """Show the hint while a reply streams and the view is above the end, else hide it."""
        try:
            messages, hint = self.messages, self.jump_hint
        except NoMatches:
            return  # the screen is being taken down (a reply's worker may end after that)
        away = messages.max_scroll_y - messages.scroll_y > FOLLOW_SLACK
        hint.display = away and self.reply_streaming

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "reply":
            self.refresh_jump_hint()
