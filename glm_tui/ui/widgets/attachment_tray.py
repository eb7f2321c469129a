"""The pictures attached to the question being written: one chip each, above the prompt.

A chip appears the moment a picture is chosen, saying "preparing…", while a thread worker
normalises the file (:func:`~glm_tui.chat.image_prep.prepare_image`: seconds for a huge photo,
never on the event loop) and keeps the JPEG in the store
(:func:`~glm_tui.chat.attachments.keep_image`); then the chip shows what will be sent (name,
pixel size, bytes). A file that is not a usable picture removes its chip with a toast in plain
words; the prompt's text is never touched. A chip is removed before sending with Delete or
Backspace when it has the focus (Tab from the prompt), or a click on its ✕.

A chip made from a pasted path remembers the text: ``t`` on the chip turns it back into that
text in the prompt (:class:`TextReturned`), for the rare path pasted to be written rather than
attached, and a pasted file that turns out not to be a picture gives its text back by itself.
Removing a chip drops it and nothing else: the usual reason is a picture dropped by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import ClassVar, cast

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, HorizontalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from glm_tui.chat.attachments import keep_image
from glm_tui.chat.image_prep import DEFAULT_LIMITS, ImageLimits, ImagePrepError, prepare_image
from glm_tui.model.session import ImageAttachment
from glm_tui.storage.store import SessionStore, StoreError
from glm_tui.ui.literal import one_line_text
from glm_tui.ui.widgets.image_thumbnail import attachment_caption

_keys = count(1)

Prepared = tuple[ImageAttachment, tuple[str, ...]]
"""What a worker hands back: the kept picture and the notes about it ("downscaled from...")."""


@dataclass(eq=False)
class PendingImage:
    """One attached picture: being prepared (``attachment`` None) or ready to send."""

    name: str
    path: Path | None = None  # None: already kept (a question put back for editing)
    pasted: str | None = None  # the pasted text it came from (``t`` on the chip gives it back)
    attachment: ImageAttachment | None = None
    key: int = field(default_factory=lambda: next(_keys))


class ChipClose(Static):
    """The ✕ of a chip: a click removes the chip."""

    def on_click(self, event: events.Click) -> None:
        event.stop()
        chip = self.parent
        if isinstance(chip, AttachmentChip):
            chip.action_remove()


class AttachmentChip(Horizontal):
    """One attached picture above the prompt: "cat.jpg · preparing…" then its size."""

    can_focus = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete,backspace", "remove", "Remove", id="attachment.remove",
                tooltip="On a focused attachment above the prompt (Tab to it): remove it "
                "before sending; a click on its ✕ too"),
        Binding("t", "as_text", "As text", id="attachment.as_text",
                tooltip="On an attachment made from a pasted path: put the pasted text in the "
                "prompt instead"),
    ]

    class RemoveRequested(Message):
        def __init__(self, chip: AttachmentChip, *, as_text: bool = False) -> None:
            super().__init__()
            self.chip = chip
            self.as_text = as_text

    def __init__(self, pending: PendingImage) -> None:
        super().__init__(classes="attachment-chip")
        self.pending = pending

    def compose(self) -> ComposeResult:
        yield Static(self.label(), classes="chip-label", markup=False)
        yield ChipClose("✕", classes="chip-close", markup=False)

    def label(self) -> Content:
        image = self.pending.attachment
        if image is None:
            return Content.assemble(one_line_text(self.pending.name, 60),
                                    (" · preparing…", "italic $text-muted"))
        return Content(attachment_caption(image))

    def show_ready(self) -> None:
        self.set_class(True, "-ready")
        self.query_one(".chip-label", Static).update(self.label())

    def action_remove(self) -> None:
        self.post_message(self.RemoveRequested(self))

    def action_as_text(self) -> None:
        self.post_message(self.RemoveRequested(self, as_text=True))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``t`` only where there is pasted text to give back (the Footer hides it elsewhere)."""
        return action != "as_text" or bool(self.pending.pasted)


class AttachmentTray(HorizontalScroll):
    """The chips of the question being written, and the workers preparing their pictures.

    The screen sets :attr:`limits` and :attr:`store` (None while sessions cannot be saved:
    then a picture cannot be kept, and attaching says so).
    """

    can_focus = False

    class Settled(Message):
        """Preparing is over: ``complete`` when every picture that was being prepared is ready;
        False as soon as one failed or was removed while being prepared."""

        def __init__(self, complete: bool) -> None:
            super().__init__()
            self.complete = complete

    class TextReturned(Message):
        """Pasted text that did not become an attachment, for the prompt."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-empty")
        self.limits: ImageLimits = DEFAULT_LIMITS
        self.store: SessionStore | None = None
        self._workers: dict[Worker[Prepared], AttachmentChip] = {}

    # -- what the screen reads ----------------------------------------------------------------

    @property
    def chips(self) -> list[AttachmentChip]:
        return list(self.query_children(AttachmentChip))

    @property
    def preparing(self) -> list[str]:
        """Names of pictures still being prepared."""
        return [chip.pending.name for chip in self.chips if chip.pending.attachment is None]

    def attachments(self) -> list[ImageAttachment]:
        """The pictures ready to send, in the order they were attached."""
        return [chip.pending.attachment for chip in self.chips
                if chip.pending.attachment is not None]

    # -- changes --------------------------------------------------------------------------------

    async def add(self, path: Path, *, pasted: str | None = None) -> AttachmentChip:
        """Attach the picture at ``path``: a chip at once, prepared in a thread."""
        chip = await self._mount_chip(PendingImage(path.name or str(path), path, pasted))
        limits, store = self.limits, self.store

        def start() -> None:
            if chip.is_attached:
                self._workers[self._prepare(path, limits, store)] = chip

        # Once the chip is drawn: the thread's first steps (opening the file, Pillow's import)
        # then do not compete with the frame that shows it.
        self.call_after_refresh(start)
        return chip

    async def add_kept(self, images: list[ImageAttachment]) -> None:
        """Chips for pictures already kept (a question put back in the prompt)."""
        for image in images:
            chip = await self._mount_chip(PendingImage(image.name, attachment=image))
            chip.show_ready()

    async def clear(self) -> None:
        """Remove every chip (the question was sent with them)."""
        self._workers.clear()
        await self.remove_children()
        self.add_class("-empty")

    async def _mount_chip(self, pending: PendingImage) -> AttachmentChip:
        chip = AttachmentChip(pending)
        self.remove_class("-empty")
        await self.mount(chip)
        self.scroll_end(animate=False)
        return chip

    async def remove_chip(self, chip: AttachmentChip, *, give_back: bool = False) -> None:
        """Remove one chip; ``give_back``: its pasted text, if any, goes to the prompt."""
        for worker, owner in list(self._workers.items()):
            if owner is chip:
                del self._workers[worker]  # a thread cannot be stopped: its result is dropped
        await chip.remove()
        if not self.chips:
            self.add_class("-empty")
        if give_back and chip.pending.pasted:
            self.post_message(self.TextReturned(chip.pending.pasted))

    @on(AttachmentChip.RemoveRequested)
    async def _remove_requested(self, event: AttachmentChip.RemoveRequested) -> None:
        event.stop()
        chips = self.chips
        index = chips.index(event.chip) if event.chip in chips else -1
        if event.chip.pending.attachment is None:
            self.post_message(self.Settled(False))  # removed while being prepared
        await self.remove_chip(event.chip, give_back=event.as_text)
        rest = self.chips
        if rest and index >= 0:
            rest[min(index, len(rest) - 1)].focus()
        else:
            self.screen.focus_next()  # back to the prompt below

    # -- the worker -------------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="attach-image")
    def _prepare(self, path: Path, limits: ImageLimits,
                 store: SessionStore | None) -> Prepared:
        prepared = prepare_image(path, limits)
        if store is None:
            raise ImagePrepError(f"{prepared.name} cannot be attached: sessions are not being "
                                 "saved (the data directory is not available), so it could "
                                 "not be kept with the question")
        return keep_image(store, prepared), prepared.notes

    @on(Worker.StateChanged)
    async def _prepared(self, event: Worker.StateChanged) -> None:
        event.stop()
        worker = event.worker
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        chip = self._workers.pop(worker, None)  # type: ignore[arg-type, unused-ignore]
        if chip is None or not chip.is_attached:
            return  # removed meanwhile
        if event.state is WorkerState.SUCCESS:
            chip.pending.attachment, notes = cast(Prepared, worker.result)
            chip.show_ready()
            for note in notes:
                self.app.notify(f"{chip.pending.name}: {note}")
            if not self.preparing:
                self.post_message(self.Settled(True))
            return
        error = worker.error
        if isinstance(error, (ImagePrepError, StoreError)):
            words = str(error)
        else:
            words = f"{chip.pending.name} could not be prepared: {error}"
        self.app.notify(words, title="Not attached", severity="error", timeout=10)
        self.post_message(self.Settled(False))
        await self.remove_chip(chip, give_back=True)  # a pasted path is not lost
