"""Pictures in the conversation: attaching them, and their side of sending a question.

:class:`ImageConversation` sits between :class:`~glm_tui.ui.screens.conversation_base.
ConversationBase` and the conversation screen. It opens the picker (the attach key and its
palette entry), turns a pasted or dropped path into an attachment, keeps the chips above the
prompt (:class:`~glm_tui.ui.widgets.attachment_tray.AttachmentTray`), opens a picture full size,
and decides what the screen's ``send`` and ``start_reply`` need about pictures: which are ready
to go, whether this server refuses them (asked of :func:`~glm_tui.chat.turn.prepare_turn`, the
one place that decides, before the question is stored, so a refused question stays in the
prompt with its chips), and the loader that reads stored pictures back into the request.

A pasted path is attached at once, with a toast saying so, rather than asked about: dragging a
file onto the terminal is how people attach, and a question in the way of every drop is the
friction a demanding user notices. The rare path meant as text is not lost: ``t`` on its chip
puts the text in the prompt instead, and the toast says so.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

from textual import events, on
from textual.app import ComposeResult

from glm_tui.chat.attachments import image_loader
from glm_tui.chat.turn import PreparedTurn, TurnOutcome, prepare_turn
from glm_tui.model.server_kind import ServerKind, describe_kind, takes_images
from glm_tui.model.session import ImageAttachment, Message, Role, Session
from glm_tui.ui.image_compat import Display, choose_display
from glm_tui.ui.literal import one_line_text
from glm_tui.ui.screens.conversation_base import ConversationBase
from glm_tui.ui.screens.tool_calls import ToolCallPrompt
from glm_tui.ui.widgets.attachment_tray import AttachmentTray
from glm_tui.ui.widgets.image_thumbnail import ImageSource, ImageThumbnail
from glm_tui.ui.widgets.prompt_input import PromptInput


class ImageConversation(ConversationBase):
    """The conversation's pictures: attach, paste, chips, full view, and their part in sending."""

    _editing: Message | None = None  # the question being edited (the screen sets it)
    _send_when_ready = False  # Enter was pressed while a picture was being prepared
    tool_loop: ToolCallPrompt  # the screen's; a tool result is written in the prompt as text

    @property
    def attachments(self) -> AttachmentTray:
        return self.query_one("#attachments", AttachmentTray)

    def compose_attachments(self) -> ComposeResult:
        yield AttachmentTray(id="attachments")

    # -- how pictures are drawn -------------------------------------------------------------

    def image_source(self) -> ImageSource:
        """Where stored pictures are read from, and how this terminal draws them."""
        store = self.recorder.store
        return ImageSource(None if store is None else store.image_path, self._display())

    def _display(self) -> Display:
        stdout = sys.__stdout__
        on_terminal = stdout is not None and stdout.isatty()
        return choose_display(self.services.settings.image_display, os.environ,
                              can_draw=on_terminal and not self.app.is_headless)

    @on(ImageThumbnail.Opened)
    def _open_picture(self, event: ImageThumbnail.Opened) -> None:
        from glm_tui.ui.screens.image_view import ImageViewScreen

        event.stop()
        self.app.push_screen(ImageViewScreen(event.image, self.image_source()))

    # -- attaching --------------------------------------------------------------------------

    def action_attach_image(self) -> None:
        from glm_tui.ui.dialogs.attach_image import AttachImageModal

        start = self.services.image_folder or Path.cwd()
        self.app.push_screen(AttachImageModal(start), self._picked)

    async def _picked(self, path: Path | None) -> None:
        if path is not None:
            await self.attach(path)
        self.prompt.focus()

    async def attach(self, path: Path, *, pasted: str | None = None) -> None:
        """Attach the picture at ``path`` to the question being written."""
        self.services.image_folder = path.parent
        tray = self.attachments
        tray.store = self.recorder.store
        tray.limits = self.services.settings.images
        already = [*(image.name for image in self._earlier_images()),
                   *(image.name for image in tray.attachments()), *tray.preparing]
        await tray.add(path, pasted=pasted)
        name = one_line_text(path.name, 80)
        kind = self.services.kind_for(self.session.model)
        if pasted is not None:
            self.app.notify(f"Attached {name} (the pasted text names a picture). To write the "
                            "text instead: Tab to its chip, then t.")
        if not takes_images(kind):
            self.app.notify(f"The {describe_kind(kind)} ({self.session.model}) cannot read "
                            "images: sending will be refused. F8 chooses another model, F9 "
                            "another server.", severity="warning")
        elif kind is ServerKind.GLM4V and already:
            self.app.notify(f"GLM-4V reads only the first image of a conversation "
                            f"({one_line_text(already[0], 80)}): {name} will not be seen.",
                            severity="warning")

    def _earlier_images(self) -> list[ImageAttachment]:
        return [image for message in self.session.messages if message is not self._editing
                for image in message.images]

    @on(PromptInput.ImagePathPasted)
    async def _path_pasted(self, event: PromptInput.ImagePathPasted) -> None:
        event.stop()
        if self.tool_loop.answering is not None and self._editing is None:
            self.prompt.insert(event.text)  # a tool result is text: pasted as it is
            return
        await self.attach(event.path, pasted=event.text)

    @on(events.Paste)
    def _pasted_elsewhere(self, event: events.Paste) -> None:
        """A paste while a message or picture has the focus goes to the prompt, like typing
        (a file dropped on the terminal then is attached all the same)."""
        if self.app.focused is self.prompt:
            return  # the prompt's own paste, bubbling up
        event.stop()
        self.prompt.focus()
        self.prompt.post_message(events.Paste(event.text))

    @on(AttachmentTray.Settled)
    def _settled(self, event: AttachmentTray.Settled) -> None:
        """Enter was pressed while a picture was prepared: send now, or say why not."""
        event.stop()
        waiting, self._send_when_ready = self._send_when_ready, False
        if waiting and event.complete:
            self.prompt.action_submit()  # exactly as Enter: what the prompt holds now
        elif waiting:
            self.app.notify("Not sent: a picture was not attached. The question is still in "
                            "the prompt.", severity="warning")

    @on(AttachmentTray.TextReturned)
    def _text_returned(self, event: AttachmentTray.TextReturned) -> None:
        event.stop()
        self.prompt.focus()
        self.prompt.insert(event.text)

    # -- sending ----------------------------------------------------------------------------

    def question_with_images(self, text: str) -> Message | None:
        """The question to send: ``text`` with the pictures of the chips. None, with a toast,
        while a picture is still being prepared (the question then goes by itself once they
        are ready, :meth:`_settled`) or when this server refuses pictures: asked before the
        question is stored, so a refused one stays in the prompt with its chips."""
        waiting = self.attachments.preparing
        if waiting:
            names = ", ".join(one_line_text(name, 60) for name in waiting)
            self._send_when_ready = True
            self.app.notify(f"Sending as soon as {names} is ready.")
            return None
        question = Message(Role.USER, content=text, images=self.attachments.attachments())
        if question.images:
            trial = replace(self.session, messages=[*self.session.messages, question])
            if self.prepare_next_turn(trial) is None:
                return None
        return question

    def prepare_next_turn(self, session: Session | None = None) -> PreparedTurn | None:
        """The next request, or None when it is refused (the reason shown as an error)."""
        target = self.session if session is None else session
        store = self.recorder.store
        prepared = prepare_turn(target, self.services.kind_for(self.session.model),
                                image_loader=None if store is None else image_loader(store),
                                images_refused=self.services.images_refused(self.session.model))
        if prepared.refusal:
            self.app.notify(prepared.refusal, title="Not sent", severity="error", timeout=12)
            return None
        if target is self.session:
            for note in prepared.notes:
                self.app.notify(note, markup=False)
        return prepared

    def remember_outcome(self, outcome: TurnOutcome | None) -> None:
        """A server that answered "this model cannot read images" is remembered for the model."""
        if outcome is not None and outcome.images_refused:
            self.services.remember_images_refused(self.session.model)

    async def restore_question_images(self, question: Message | None) -> None:
        """The chips of a question put back in the prompt (editing): its pictures, or none."""
        await self.attachments.clear()
        if question is not None and question.images:
            await self.attachments.add_kept(list(question.images))

