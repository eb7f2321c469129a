"""One picture of the conversation, as large as the terminal allows; Esc goes back.

The stored JPEG (what was sent) is read in a thread worker and drawn by textual-image, fitted to
the screen with its shape kept. Where the terminal draws no pictures the screen says so and
gives what it knows: the caption and where the file is kept, to open it with another program.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from glm_tui.model.session import ImageAttachment
from glm_tui.storage.store import StoreError
from glm_tui.ui.literal import literal, literal_line
from glm_tui.ui.widgets.image_thumbnail import ImageSource, attachment_caption, load_thumbnail

FULL_VIEW_PIXELS = (2400, 2400)
"""The largest picture handed to textual-image here (a stored JPEG is 1120 px by default)."""


class ImageViewScreen(Screen[None]):
    """A picture full size, with its caption; Esc closes."""

    CSS_PATH = Path(__file__).parent.parent / "styles" / "image_view.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="image_view.close",
                tooltip="Close the full-size picture, back to the conversation"),
    ]

    def __init__(self, image: ImageAttachment, source: ImageSource) -> None:
        super().__init__()
        self.image = image
        self.source = source

    def compose(self) -> ComposeResult:
        yield Static(literal_line(attachment_caption(self.image), 300), id="image-view-title")
        with Vertical(id="image-view-body"):
            yield Static(literal(self._description()), id="image-view-text")
        yield Footer(compact=True)

    def _description(self) -> str:
        where = self._stored_path()
        lines = [attachment_caption(self.image)]
        if self.source.draws:
            lines.append("Loading…")
        else:
            lines.append("This terminal does not draw pictures here ([images] display in "
                         "config.toml chooses how: kitty, sixel or halfcell).")
        lines.append(f"Sent as: {self.image.mime or 'image/jpeg'}, "
                     f"{self.image.width}×{self.image.height} pixels.")
        lines.append(f"Kept at: {where}" if where is not None
                     else "The stored file is missing.")
        return "\n".join(lines)

    def _stored_path(self) -> Path | None:
        if self.source.path is None:
            return None
        try:
            return self.source.path(self.image.sha256)
        except StoreError:  # the file is gone (or the reference is not a hash at all)
            return None

    def on_mount(self) -> None:
        if self.source.draws:
            self._load()

    @work(thread=True, exit_on_error=False, group="image-view")
    def _load(self) -> tuple[type[Any], Any]:
        from glm_tui.ui.image_compat import image_widget_class

        path = self._stored_path()
        if path is None:
            raise FileNotFoundError(self.image.sha256)
        widget_class = image_widget_class(self.source.display)
        return widget_class, load_thumbnail(path, FULL_VIEW_PIXELS)

    @on(Worker.StateChanged)
    async def _loaded(self, event: Worker.StateChanged) -> None:
        text = self.query_one("#image-view-text", Static)
        if event.state is WorkerState.SUCCESS:
            widget_class, picture = cast(tuple[type[Any], Any], event.worker.result)
            await text.remove()
            await self.query_one("#image-view-body").mount(
                Center(widget_class(picture, id="image-view-picture")))
        elif event.state is WorkerState.ERROR:
            self.source = ImageSource(None, self.source.display)
            text.update(literal(self._description()))

    def action_close(self) -> None:
        self.dismiss(None)
