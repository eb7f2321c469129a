"""The images an import file carries: each ``data:`` URL checked, matched to the session by hash.

A glm-tui JSON export holds each image's bytes once, as a data URL in the OpenAI ``messages``
list (where a server would see it) or, for a question that is not part of that list (its reply
failed before any text), in the ``glm_tui`` block's image entry as ``data_url``. The ``glm_tui``
block refers to images by SHA-256, so matching is by the hash of the decoded bytes: an image
whose pixels were changed in the file no longer matches its reference.

A broken image never stops an import (the words of a conversation are worth more than one
picture): it is noted with where in the file it is, and left out. A reference that ends up with
no bytes (none in the file, none already in the image store) stays in its message as a missing
image, the same state as an image file deleted from the data directory, which every part of
glm-tui shows and handles.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from glm_tui.chat.image_data import ImageDataError, ImageFacts, from_data_url, inspect_image
from glm_tui.model.session import ImageAttachment


@dataclass(frozen=True)
class ImportedImage:
    """Checked image bytes to put into the image store before the session that refers to them."""

    data: bytes
    ext: str


Note = Callable[[str, str], None]
"""``note(where, text)``: one plain sentence about a part of the file that was left out."""


def image_part_url(part: Any) -> tuple[bool, Any]:
    """``(True, url)`` for an OpenAI ``image_url`` content part (either shape), else
    ``(False, None)``. The url is returned unchecked."""
    if not isinstance(part, dict) or part.get("type") != "image_url":
        return False, None
    inner = part.get("image_url")
    return True, inner.get("url") if isinstance(inner, dict) else inner


class ImageCollector:
    """Reads, checks and keeps the images of one import file."""

    def __init__(self, note: Note, image_stored: Callable[[str], bool] | None = None) -> None:
        self._note = note
        self._image_stored = image_stored or (lambda _sha256: False)
        self._found: dict[str, ImportedImage] = {}  # every good image in the file, by SHA-256
        self.kept: dict[str, ImportedImage] = {}
        """The images the imported session refers to, by SHA-256: what to store."""

    def read(self, url: Any, where: str) -> tuple[str, ImageFacts, int] | None:
        """The SHA-256, facts and byte size of the image in ``url``; None (after a note) when
        it is not a readable image."""
        if not isinstance(url, str):
            self._note(where, f"the image URL must be text, not {type(url).__name__}; "
                              "the image was left out")
            return None
        try:
            data = from_data_url(url)
            facts = inspect_image(data)
        except ImageDataError as exc:
            self._note(where, f"{exc}; the image was left out")
            return None
        digest = hashlib.sha256(data).hexdigest()
        self._found[digest] = ImportedImage(data, facts.ext)
        return digest, facts, len(data)

    def scan_messages(self, raw_messages: Any) -> None:
        """Read every image part of an export's OpenAI ``messages`` list (for :meth:`refer`)."""
        if not isinstance(raw_messages, list):
            return
        for index, raw in enumerate(raw_messages):
            content = raw.get("content") if isinstance(raw, dict) else None
            if not isinstance(content, list):
                continue
            for part_index, part in enumerate(content):
                is_image, url = image_part_url(part)
                if is_image:
                    self.read(url, f"messages[{index}].content[{part_index}]")

    def scan_references(self, block: Any) -> None:
        """Read the ``data_url`` of every ``glm_tui`` image entry that has one (before any
        :meth:`refer`: a picture's bytes may sit in a later entry than its first use)."""
        raw_messages = block.get("messages") if isinstance(block, dict) else None
        for index, raw in enumerate(raw_messages if isinstance(raw_messages, list) else []):
            images = raw.get("images") if isinstance(raw, dict) else None
            for image_index, image in enumerate(images if isinstance(images, list) else []):
                if isinstance(image, dict) and "data_url" in image:
                    self.read(image["data_url"],
                              f"glm_tui.messages[{index}].images[{image_index}].data_url")

    def refer(self, attachment: ImageAttachment, where: str) -> None:
        """A ``glm_tui`` block's reference: keep its bytes when the file has them; note it when
        neither the file nor the image store does (it stays, as a missing image)."""
        found = self._found.get(attachment.sha256)
        if found is not None:
            self.kept[attachment.sha256] = found
        elif not self._image_stored(attachment.sha256):
            label = attachment.name or f"image {attachment.sha256[:12]}"
            self._note(where, f"{label} has no readable image data in this file and is not in "
                              "the image store: its message keeps it as a missing image")

    def attachment(self, url: Any, where: str) -> ImageAttachment | None:
        """An image part of a plain OpenAI message, as a new attachment (None when unreadable)."""
        read = self.read(url, where)
        if read is None:
            return None
        digest, facts, size = read
        self.kept[digest] = self._found[digest]
        return ImageAttachment(digest, facts.mime, facts.width, facts.height, "", bytes=size)
