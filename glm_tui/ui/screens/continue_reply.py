"""Going on with a reply: the key that asks the model to continue, and the word when one is cut.

A reply stopped by the token limit is marked by the turn (:mod:`glm_tui.chat.cut_reply`, which
also decides *how* to continue: a follow-up question, the one way every server accepts). This is
the screen's side: a toast naming the key when a reply was cut, and the key itself, which sends
the follow-up as an ordinary question (shown, stored, and visible in F2's request) while keeping
whatever the person had typed in the prompt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType

from glm_tui.chat.cut_reply import CONTINUE_PROMPT
from glm_tui.model.session import Role
from glm_tui.ui.key_names import key_words
from glm_tui.ui.screens.conversation_base import ConversationBase

CONTINUE_ACTION = "continue_reply"


class ContinueReply(ConversationBase):
    """The continue key of the conversation screen (which provides ``send`` and
    ``reply_running``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # F10: the Ctrl+letters the prompt leaves free are taken (Ctrl+L folds thinking).
        Binding("f10", CONTINUE_ACTION, "Continue", show=False,
                id="conversation.continue_reply",
                tooltip="Ask the model to continue its last reply (a follow-up question; offered "
                "when a reply was cut short by max tokens)"),
    ]

    if TYPE_CHECKING:  # provided by the conversation screen, which this class is a part of
        @property
        def reply_running(self) -> bool: ...

        async def send(self, text: str, *, refusal_accepted: bool = False) -> None: ...

    def continue_key(self) -> str:
        """The key that continues, as the person has it (``[keys]`` may have remapped it)."""
        for active in self.active_bindings.values():
            if active.binding.action == CONTINUE_ACTION:
                return key_words(active.binding.key)
        return "F10"

    def reply_cut(self, note: str) -> None:
        """The turn marked the newest reply as cut by the token limit: say what can be done."""
        self.app.notify(f"{note} {self.continue_key()} asks the model to continue; Ctrl+T "
                        "raises max_tokens.", title="Reply cut short", severity="warning",
                        timeout=10, markup=False)

    async def action_continue_reply(self) -> None:
        """Send the follow-up that makes the model go on; the typed draft stays in the prompt."""
        if self.reply_running:
            self.app.notify("A reply is still arriving: Esc cancels it first.",
                            severity="warning")
            return
        if self.prompt.has_class("-editing"):
            self.app.notify("You are editing your last question: Enter resends it, Esc leaves "
                            "editing.", severity="warning")
            return
        last = self.session.last_message()
        if last is None or last.role is not Role.ASSISTANT or not last.content:
            self.app.notify("There is no reply to continue yet.")
            return
        draft = self.prompt.text
        await self.send(CONTINUE_PROMPT)
        if draft and not self.prompt.text:
            self.prompt.load_text(draft)
