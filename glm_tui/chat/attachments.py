"""Prepared pictures become message attachments, and attachments become ``data:`` URLs again.

The app keeps each picture in the store (content-addressed files beside the database) and the
message holds only the reference (:class:`~glm_tui.model.session.ImageAttachment`); the request
is built from the reference by :func:`image_loader`. ``glm-tui ask`` keeps no sessions, so
:func:`images_in_memory` gives it references and a loader over the prepared bytes instead: the
same request shaping either way.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from glm_tui.chat.image_prep import PreparedImage, size_words
from glm_tui.chat.request import ImageLoader, ImageUnavailableError
from glm_tui.model.session import ImageAttachment
from glm_tui.storage.store import SessionStore, StoreError

Store = SessionStore

JPEG_MIME = "image/jpeg"
JPEG_EXT = "jpg"


def attachment_for(prepared: PreparedImage, sha256: str) -> ImageAttachment:
    """The reference a message holds for a prepared picture stored under ``sha256``."""
    return ImageAttachment(sha256, JPEG_MIME, prepared.width, prepared.height, prepared.name,
                           len(prepared.jpeg))


def attachment_label(image: ImageAttachment) -> str:
    """How a picture is named where it cannot be drawn: "cat.jpg · 1120×840 · 182 KB".

    The size is left out for references from before it was kept (``bytes`` 0).
    """
    parts = [image.name or f"image {image.sha256[:12]}", f"{image.width}×{image.height}"]
    if image.bytes:
        parts.append(size_words(image.bytes))
    return " · ".join(parts)


def keep_image(store: Store, prepared: PreparedImage) -> ImageAttachment:
    """Store the prepared JPEG (once, by content) and return the reference to put in a message.

    Raises the store's :class:`~glm_tui.storage.store.StoreWriteError` when the data directory
    cannot be written (its message says where and why).
    """
    return attachment_for(prepared, store.put_image(prepared.jpeg, JPEG_EXT))


def data_url(mime: str, data: bytes) -> str:
    """The ``data:<mime>;base64,...`` URL every server kind accepts for an image."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image_loader(store: Store) -> ImageLoader:
    """A loader reading stored pictures back as ``data:`` URLs for the request.

    A picture whose file is gone raises :class:`~glm_tui.chat.request.ImageUnavailableError`
    naming it, so the turn is refused before anything is sent.
    """

    def load(image: ImageAttachment) -> str:
        label = image.name or f"image {image.sha256[:12]}"
        try:
            data = store.image_path(image.sha256).read_bytes()
        except StoreError as exc:
            raise ImageUnavailableError(f"{label} cannot be sent: {exc}") from None
        except OSError as exc:
            raise ImageUnavailableError(
                f"{label} cannot be sent: its stored file cannot be read "
                f"({exc.strerror or exc})") from None
        return data_url(image.mime or JPEG_MIME, data)

    return load


def images_in_memory(
    prepared: Sequence[PreparedImage],
) -> tuple[list[ImageAttachment], ImageLoader]:
    """References and a loader for pictures that are sent but not stored (``glm-tui ask``)."""
    by_hash: dict[str, bytes] = {}
    attachments: list[ImageAttachment] = []
    for picture in prepared:
        digest = hashlib.sha256(picture.jpeg).hexdigest()
        by_hash[digest] = picture.jpeg
        attachments.append(attachment_for(picture, digest))

    def load(image: ImageAttachment) -> str:
        try:
            return data_url(image.mime or JPEG_MIME, by_hash[image.sha256])
        except KeyError:
            raise ImageUnavailableError(
                f"{image.name or 'an image'} cannot be sent: it was not prepared") from None

    return attachments, load
