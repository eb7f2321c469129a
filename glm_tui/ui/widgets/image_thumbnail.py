"""A picture in a message: its caption line, and a thumbnail where the terminal can draw one.

Every picture has a caption (name, pixel size, bytes: "cat.jpg · 1120×840 · 182 KB"), read
from the message's :class:`~glm_tui.model.session.ImageAttachment` without touching the disk.
Where the terminal draws images (:mod:`glm_tui.ui.image_compat` decides how), the stored JPEG is
read, shrunk and handed to textual-image in a thread worker once the widget is mounted, so a
resumed session with many pictures opens as fast as one without; elsewhere (no graphics, a
headless app, tests) the caption is the placeholder. Enter on a focused picture or a click
opens it full size (:class:`Opened`, handled by the screen).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, cast

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from glm_tui.chat.attachments import attachment_label
from glm_tui.model.session import ImageAttachment
from glm_tui.ui.image_compat import Display
from glm_tui.ui.literal import one_line_text

THUMBNAIL_ROWS = 10
"""Rows a thumbnail takes in the conversation (its width follows the picture's shape)."""

THUMBNAIL_PIXELS = (640, 480)
"""The thumbnail is shrunk to fit this before it is drawn: a few cells need no more, and every
redraw of a textual-image widget scales the picture it holds."""


def attachment_caption(image: ImageAttachment) -> str:
    """"cat.jpg · 1120×840 · 178 KB" (:func:`~glm_tui.chat.attachments.attachment_label`), safe
    on one line: the name comes from a file."""
    return one_line_text(attachment_label(image), 120)


@dataclass(frozen=True)
class ImageSource:
    """Where the pictures of messages are read from and how they are drawn (set by the screen).

    ``path`` maps an attachment's SHA-256 to its stored file (``StoreError`` when it is gone); None
    when nothing is stored (no data directory): then only captions are shown.
    """

    path: Callable[[str], Path] | None = None
    display: Display = Display.TEXT

    @property
    def draws(self) -> bool:
        return self.path is not None and self.display not in (Display.TEXT, Display.AUTO)


TEXT_ONLY = ImageSource()


def load_thumbnail(path: Path, box: tuple[int, int] = THUMBNAIL_PIXELS) -> Any:
    """The picture at ``path`` as an RGB Pillow image within ``box`` (blocking: a thread)."""
    from PIL import Image

    with Image.open(path) as image:
        image.draft("RGB", box)  # a JPEG decodes already shrunk
        image.thumbnail(box)
        return image.convert("RGB")


class ImageThumbnail(Vertical):
    """One picture of a message: caption, thumbnail where drawable; focusable, opens on Enter."""

    can_focus = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", show=False, id="image.open",
                tooltip="On a focused picture in the conversation (Tab to it): open it full "
                "size; a click too"),
    ]

    class Opened(Message):
        """The person asked to see this picture full size."""

        def __init__(self, image: ImageAttachment) -> None:
            super().__init__()
            self.image = image

    def __init__(self, image: ImageAttachment, source: ImageSource = TEXT_ONLY) -> None:
        super().__init__(classes="image-thumbnail")
        self.image = image
        self.source = source
        self.problem = ""

    def compose(self) -> ComposeResult:
        yield Static(self._caption(), classes="image-caption", markup=False)

    def _caption(self) -> Content:
        parts: list[Content | str | tuple[str, str]] = [
            ("▣ ", "$text-accent"), attachment_caption(self.image)]
        if self.problem:
            parts.append((f" · {self.problem}", "$text-warning"))
        elif not self.source.draws:
            parts.append((" · Enter opens", "$text-muted"))
        return Content.assemble(*parts)

    def on_mount(self) -> None:
        if self.source.draws:
            # After the screen is drawn: a resumed session's first frame never waits for
            # Pillow or textual-image (tests/ui/test_startup_imports.py).
            self.call_after_refresh(self._load)

    @work(thread=True, exit_on_error=False, group="thumbnail")
    def _load(self) -> tuple[type[Any], Any]:
        from glm_tui.ui.image_compat import image_widget_class

        assert self.source.path is not None
        widget_class = image_widget_class(self.source.display)  # imports textual-image once
        return widget_class, load_thumbnail(self.source.path(self.image.sha256))

    @on(Worker.StateChanged)
    async def _loaded(self, event: Worker.StateChanged) -> None:
        event.stop()
        if event.state is WorkerState.SUCCESS:
            widget_class, picture = cast(tuple[type[Any], Any], event.worker.result)
            await self.mount(widget_class(picture, classes="image-picture"))
        elif event.state is WorkerState.ERROR:
            self.problem = "cannot be shown: the stored file is missing or unreadable"
            self.query_one(".image-caption", Static).update(self._caption())

    def action_open(self) -> None:
        self.post_message(self.Opened(self.image))

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.focus()
        self.action_open()
