"""Image bytes from import files: ``data:`` URLs taken back only when they hold a picture.

(The other way, bytes to a data URL, is :func:`glm_tui.chat.attachments.data_url`.)

An export file can come from anyone, so what a data URL claims is never taken on trust: the
base64 must decode, and Pillow must recognise the bytes as an image (its header and size, no
pixels decoded, so a decompression bomb costs nothing here and is refused by Pillow's own limit).
Every refusal is one plain sentence (:class:`ImageDataError`) that the importer prefixes with
where in the file the URL was.

Pillow is imported inside :func:`inspect_image` only: importing a session with no images, and
starting the app, never load it.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

from glm_tui.chat.image_prep import looks_like_text

DATA_URL_PREFIX = "data:"

_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp"}
"""File name endings for the formats a vision server takes; others are stored as ``img``."""


class ImageDataError(ValueError):
    """Bytes that are not a usable image, in plain words ("the base64 text is broken ...")."""


@dataclass(frozen=True)
class ImageFacts:
    """What Pillow read from an image's header: enough to describe and store it."""

    mime: str
    width: int
    height: int
    ext: str  # the store's file name ending: "jpg", "png", ...


def is_data_url(url: str) -> bool:
    return url[: len(DATA_URL_PREFIX)].lower() == DATA_URL_PREFIX


def from_data_url(url: str) -> bytes:
    """The bytes a base64 ``data:`` URL holds; ImageDataError saying what is wrong otherwise.

    Whitespace inside the base64 text is allowed (some tools wrap long lines); anything else
    outside the base64 alphabet is refused rather than skipped, so damage is never hidden.
    """
    if not is_data_url(url):
        shown = url if len(url) <= 60 else url[:57] + "..."
        raise ImageDataError(f"{shown!r} is a link, not image data (glm-tui does not fetch "
                             "images)")
    header, comma, payload = url.partition(",")
    if not comma:
        raise ImageDataError("the data: URL has no ',' before its data")
    if ";base64" not in header.lower():
        raise ImageDataError("the data: URL is not base64-encoded (only base64 images are read)")
    text = "".join(payload.split())
    if not text:
        raise ImageDataError("the data: URL holds no data")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageDataError(f"the base64 text of the data: URL is broken ({exc})") from exc


def inspect_image(data: bytes) -> ImageFacts:
    """Format and size of the image in ``data``; ImageDataError when it is not one."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()  # checks the structure without decoding pixels
            fmt = image.format or ""
            width, height = image.size
            mime = image.get_format_mimetype() or f"image/{fmt.lower()}"
    except UnidentifiedImageError as exc:
        what = "text" if looks_like_text(data[:512]) else f"{len(data)} bytes of something else"
        raise ImageDataError(f"the data is not an image (it is {what})") from exc
    except Image.DecompressionBombError as exc:
        raise ImageDataError(f"the image is too large to open safely ({exc})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageDataError(f"the image data is damaged ({exc})") from exc
    return ImageFacts(mime=mime, width=width, height=height, ext=_EXTENSIONS.get(fmt, "img"))
