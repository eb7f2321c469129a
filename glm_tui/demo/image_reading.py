"""What the demo model sees in an attached image: its size, mode, format and colours.

Pillow is imported only when an image arrives, so the demo server starts without it; a picture
that cannot be read is an :class:`ImageProblem` whose message becomes the error response.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ImageInfo:
    """What Pillow found in an attached image."""

    width: int
    height: int
    mode: str
    format: str
    colour: str  # the palette name most pixels are closest to
    average: str = ""  # the mean colour as #RRGGBB: proves the pixels arrived, not just a size


class ImageProblem(ValueError):
    """An attached image could not be decoded; the message says why, for the error response."""


def describe(image: ImageInfo, chinese: bool = False, label: str = "") -> str:
    """One sentence about one image; ``label`` ("Image 2") when a question holds several."""
    average = f"（平均颜色 {image.average}）" if chinese and image.average else ""
    if chinese:
        return (
            f"{label or '图片'}大小 {image.width}×{image.height} 像素，模式 {image.mode}"
            f"（{image.format}），主要颜色是 {image.colour}{average}。"
        )
    subject = f"{label} is" if label else "The image is"
    mean = f" (average colour {image.average})" if image.average else ""
    return (
        f"{subject} {image.width}×{image.height} pixels, mode {image.mode} ({image.format}), "
        f"and its dominant colour is {image.colour}{mean}."
    )


def describe_all(images: Sequence[ImageInfo], chinese: bool = False) -> str:
    """The sentences for every image of a question, numbered when there are several."""
    if len(images) == 1:
        return describe(images[0], chinese)
    label = "图片 {}" if chinese else "Image {}"
    return " ".join(describe(image, chinese, label.format(n))
                    for n, image in enumerate(images, 1))


_PALETTE: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("black", (0, 0, 0)),
    ("white", (255, 255, 255)),
    ("gray", (128, 128, 128)),
    ("red", (220, 20, 20)),
    ("orange", (255, 140, 0)),
    ("yellow", (240, 220, 30)),
    ("green", (40, 160, 40)),
    ("cyan", (0, 200, 200)),
    ("blue", (30, 60, 220)),
    ("purple", (130, 50, 170)),
    ("pink", (255, 150, 190)),
    ("brown", (130, 80, 40)),
)


def decode_data_url(url: str) -> bytes:
    """The bytes of a ``data:...;base64,`` URL; ImageProblem when it is not one."""
    header, sep, payload = url.partition(",")
    if not sep or not header.startswith("data:") or not header.endswith(";base64"):
        raise ImageProblem("the image URL is not a base64 data: URL")
    try:
        return base64.b64decode(payload)
    except (binascii.Error, ValueError) as error:
        raise ImageProblem(f"the image data is not valid base64 ({error})") from None


def inspect_image(data: bytes) -> ImageInfo:
    """Open an image with Pillow (imported only now) and find its size, mode and main colour."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            width, height = image.size
            mode = image.mode
            fmt = image.format or "unknown format"
            small = image.convert("RGB")
            small.thumbnail((32, 32))
            mean = small.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    except UnidentifiedImageError:
        raise ImageProblem("the image data is not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ImageProblem(f"the image could not be decoded ({error})") from None
    colours = small.getcolors(maxcolors=small.width * small.height) or []
    red, green, blue = mean if isinstance(mean, tuple) else (0, 0, 0)
    average = f"#{int(red):02X}{int(green):02X}{int(blue):02X}"
    return ImageInfo(width, height, mode, fmt, dominant_colour(colours), average)


def dominant_colour(colours: Sequence[tuple[int, Any]]) -> str:
    """The palette name most pixels are closest to, from ``(count, (r, g, b))`` pairs.

    Palette order breaks ties, so the answer is deterministic.
    """
    counts = dict.fromkeys((name for name, _ in _PALETTE), 0)
    for count, pixel in colours:
        rgb = (int(pixel[0]), int(pixel[1]), int(pixel[2]))
        name = min(
            _PALETTE,
            key=lambda entry: sum((a - b) ** 2 for a, b in zip(entry[1], rgb, strict=True)),
        )[0]
        counts[name] += count
    return max(counts, key=lambda name: counts[name])
