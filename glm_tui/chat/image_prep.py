"""Turning a picture file into the JPEG glm-tui sends and stores, or plain words saying why not.

Every image a person attaches goes through :func:`prepare_image` once, in the app (a thread
worker) and in ``glm-tui ask --image``: the file is checked and decoded with Pillow, turned upright
from its EXIF orientation, flattened to RGB (transparency drawn on white), shrunk to the
longest side of :class:`ImageLimits` and re-encoded as JPEG under its byte cap. The original file
is only ever opened for reading.

Memory is the reason for the order of the steps: a 24-megapixel JPEG decoded whole is 72 MB, so
JPEGs are decoded already shrunk (``Image.draft``, the decoder's 1/2..1/8 DCT scaling), the
picture is shrunk before its mode is converted, and nothing larger than the decoded image is
ever made. Decompression bombs are refused with Pillow's own limit (``Image.MAX_IMAGE_PIXELS``):
above twice that Pillow refuses to open a file at all; between once and twice it only warns, and
glm-tui refuses such a picture too unless it is a JPEG, whose decoder shrinks it while reading
(a 108-megapixel phone photo works; a 100-megapixel PNG would need 400 MB to decode).

Pillow is imported inside the functions: importing this module costs nothing at start-up.
"""

from __future__ import annotations

import io
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import unquote, urlsplit

from glm_tui.model.image_limits import ImageLimits

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

__all__ = [
    "DEFAULT_LIMITS",
    "IMAGE_SUFFIXES",
    "ImageLimits",
    "ImagePrepError",
    "PreparedImage",
    "dropped_image_path",
    "prepare_image",
    "size_words",
]

IMAGE_SUFFIXES = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff",
    ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".ico",
})
"""File names a pasted path must end in to be offered as an image (Pillow reads all of them)."""

JPEG_QUALITIES = (90, 85, 75, 65, 50, 40)
"""Qualities tried in turn until the JPEG fits the byte cap; below 40 the picture is shrunk."""

_FORMAT_NAMES = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "GIF": "GIF", "WEBP": "WebP",
                 "TIFF": "TIFF", "BMP": "BMP"}

# Orientations 5-8 are a quarter turn: the picture as shown is the stored one turned on its side.
_QUARTER_TURNS = frozenset({5, 6, 7, 8})
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class PreparedImage:
    """A picture ready to send and store: always a baseline RGB JPEG within the limits."""

    jpeg: bytes
    width: int
    height: int
    name: str  # the original file's name, for chips and placeholders
    original_width: int  # as the picture is seen (after its EXIF orientation)
    original_height: int
    notes: tuple[str, ...] = ()  # what the person is told ("downscaled from 6000×4000")


class ImagePrepError(ValueError):
    """Plain words naming the file and what is wrong ("x.jpg is not an image (it is text)")."""


DEFAULT_LIMITS = ImageLimits()


def prepare_image(path: Path, limits: ImageLimits = DEFAULT_LIMITS) -> PreparedImage:
    """The JPEG for the picture at ``path``; :class:`ImagePrepError` in plain words if none.

    Blocking (seconds for a huge picture): call it from a thread worker. Never modifies the
    original: it is opened read-only and nothing is written beside it.
    """
    path = Path(path)
    name = path.name or str(path)
    _check_file(path, name)
    try:
        with open(path, "rb") as handle:
            return _prepare(handle, name, limits)
    except PermissionError:
        raise ImagePrepError(f"{name} cannot be read: permission denied") from None
    except IsADirectoryError:
        raise ImagePrepError(f"{name} is a folder, not an image") from None
    except FileNotFoundError:
        raise ImagePrepError(f"{path} does not exist (it was moved or deleted)") from None
    except MemoryError:
        raise ImagePrepError(f"{name} is too large to open: not enough memory") from None


def _check_file(path: Path, name: str) -> None:
    """What can be said from the file system alone, before Pillow is asked."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ImagePrepError(f"{path} does not exist") from None
    except PermissionError:
        raise ImagePrepError(f"{name} cannot be read: permission denied") from None
    except OSError as exc:
        raise ImagePrepError(f"{name} cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ImagePrepError(f"{name} is a folder, not an image")
    if not stat.S_ISREG(info.st_mode):
        raise ImagePrepError(f"{name} is not a regular file (a device, pipe or socket)")
    if info.st_size == 0:
        raise ImagePrepError(f"{name} is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise ImagePrepError(f"{name} cannot be read: permission denied")


def _pillow() -> None:
    """Import Pillow, silencing its bomb *warning*: glm-tui applies the limit itself.

    Installed at every picture, not once: anything that restores the warning filters (a
    ``catch_warnings`` block elsewhere) would otherwise bring the warning back, printed over
    the screen. ``filterwarnings`` replaces an equal filter, so the list does not grow.
    """
    import warnings

    from PIL import Image

    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def _prepare(handle: BinaryIO, name: str, limits: ImageLimits) -> PreparedImage:
    _pillow()
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(handle) as probe:
            probe.verify()  # checksums (PNG) and structure, without decoding the pixels
        handle.seek(0)
        with Image.open(handle) as image:
            return _normalise(image, name, limits)
    except Image.DecompressionBombError:
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        raise ImagePrepError(
            f"{name} is too large to open safely: more than {_megapixels(limit)} megapixels "
            "(it may be a decompression bomb)"
        ) from None
    except UnidentifiedImageError:
        handle.seek(0)
        raise ImagePrepError(_not_an_image(name, handle.read(4096))) from None
    except ImagePrepError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        if isinstance(exc, PermissionError | IsADirectoryError | FileNotFoundError):
            raise
        raise ImagePrepError(_damaged(name, exc)) from None


def _normalise(image: PILImage, name: str, limits: ImageLimits) -> PreparedImage:
    from PIL import Image, ImageOps

    fmt = _FORMAT_NAMES.get(image.format or "", image.format or "image")
    notes: list[str] = []
    frames = int(getattr(image, "n_frames", 1) or 1)
    if frames > 1 and image.format != "MPO":  # MPO: a camera's main picture plus extras
        what = "page" if image.format == "TIFF" else "frame"
        kind = "multi-page" if image.format == "TIFF" else "animated"
        notes.append(f"{kind} {fmt}: only the first {what} is sent")
    stored_w, stored_h = image.size
    orientation = _orientation(image)
    turned = orientation in _QUARTER_TURNS
    original = (stored_h, stored_w) if turned else (stored_w, stored_h)

    if image.format in ("JPEG", "MPO"):
        # Decode at 1/2..1/8 scale straight from the DCT: a 24-megapixel photo decodes as 6.
        # Twice the target size is kept (Pillow's own reducing_gap) so the final resize is clean.
        target = _fit(stored_w, stored_h, limits.max_side)
        image.draft(None, (target[0] * 2, target[1] * 2))
    decoded = image.size[0] * image.size[1]
    if Image.MAX_IMAGE_PIXELS and decoded > Image.MAX_IMAGE_PIXELS:
        raise ImagePrepError(
            f"{name} is too large to open safely: {original[0]}×{original[1]} pixels is more "
            f"than {_megapixels(Image.MAX_IMAGE_PIXELS)} megapixels"
        )
    image.load()
    if orientation not in (None, 1):
        ImageOps.exif_transpose(image, in_place=True)
        notes.append("turned upright as its EXIF orientation says")
    picture, flattened = _resizable(image)
    if max(picture.size) > limits.max_side:
        picture.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    picture, transparent = _to_rgb(picture, name)
    if transparent or flattened:
        notes.append("transparent areas are shown on white")
    if max(original) > limits.max_side:
        notes.append(f"downscaled from {original[0]}×{original[1]}")
    jpeg, picture, quality, shrunk = _encode(picture, name, limits.max_bytes)
    if quality < JPEG_QUALITIES[0] or shrunk:
        notes.append(f"re-encoded as JPEG quality {quality} at {picture.size[0]}×"
                     f"{picture.size[1]} to stay under {size_words(limits.max_bytes)}")
    return PreparedImage(jpeg, picture.size[0], picture.size[1], name,
                         original[0], original[1], tuple(notes))


def _orientation(image: PILImage) -> int | None:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION)
    except Exception:  # a damaged EXIF block is ignored, as every viewer does
        return None
    return value if isinstance(value, int) else None


def _fit(width: int, height: int, side: int) -> tuple[int, int]:
    """The size a ``width``×``height`` picture has after shrinking to ``side`` (never grown)."""
    scale = min(1.0, side / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resizable(image: PILImage) -> tuple[PILImage, bool]:
    """The picture in a mode Pillow resizes with a real filter (palette and 1-bit cannot).

    Returns whether a transparent palette entry was turned into alpha on the way.
    """
    if image.mode in ("P", "PA"):
        transparent = image.mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if transparent else "RGB"), transparent
    if image.mode == "1":
        return image.convert("L"), False
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        # 16 bits per pixel over the full range: Pillow's own conversion clips at 255, which
        # would turn any 16-bit photo white, so the values are scaled down instead.
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L"), False
    return image, False


def _to_rgb(image: PILImage, name: str) -> tuple[PILImage, bool]:
    """RGB for any mode; transparency drawn on white. Returns whether there was alpha."""
    from PIL import Image

    mode = image.mode
    if mode == "RGB":
        return image, False
    if mode in ("RGBA", "LA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        if rgba.getchannel("A").getextrema()[0] == 255:  # alpha, but nothing transparent
            return rgba.convert("RGB"), False
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        white.alpha_composite(rgba)
        return white.convert("RGB"), True
    if mode in ("I", "F"):
        return _scaled_to_8_bits(image).convert("RGB"), False
    if "transparency" in image.info and mode in ("L", "RGB"):
        return _to_rgb(image.convert("RGBA"), name)[0], True
    try:
        return image.convert("RGB"), False
    except ValueError:
        raise ImagePrepError(f"{name} uses the colour mode {mode}, which glm-tui cannot "
                             "turn into RGB") from None


def _scaled_to_8_bits(image: PILImage) -> PILImage:
    """A 32-bit integer or float grey picture as 8-bit grey, by the range its values use.

    Integers within 0-255 are kept, within 0-65535 read as 16-bit (how Pillow opens some 16-bit
    files); floats within 0-1 are read as fractions of white. Anything else (scientific TIFFs)
    is stretched from its darkest to its brightest value. Pillow's own conversion would clip
    everything above 255 to white.
    """
    extrema = image.getextrema()
    low, high = float(extrema[0]), float(extrema[1])  # type: ignore[arg-type]
    if image.mode == "F" and low >= 0.0 and high <= 1.0:
        low, high = 0.0, 1.0
    elif image.mode == "I" and low >= 0.0 and high <= 255.0:
        low, high = 0.0, 255.0
    elif image.mode == "I" and low >= 0.0 and high <= 65535.0:
        low, high = 0.0, 65535.0
    scale = 255.0 / ((high - low) or 1.0)
    offset = -low * scale
    return image.point(lambda value: value * scale + offset).convert("L")


def _encode(image: PILImage, name: str, cap: int) -> tuple[bytes, PILImage, int, bool]:
    """The JPEG bytes under ``cap``: quality steps down first, then the picture shrinks.

    Returns the bytes, the picture they hold, the quality used and whether it had to shrink.
    """
    from PIL import Image

    shrunk = False
    while True:
        size = 0
        for quality in JPEG_QUALITIES:
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=quality, optimize=True)
            size = buffer.tell()
            if size <= cap:
                return buffer.getvalue(), image, quality, shrunk
        longest = max(image.size)
        if longest <= 64:
            raise ImagePrepError(
                f"{name} cannot be made smaller than {size_words(cap)} as a JPEG"
            )
        scale = max(0.5, min(0.9, math.sqrt(cap / size)))
        new_size = _fit(image.size[0], image.size[1], max(64, int(longest * scale)))
        image = image.resize(new_size, Image.Resampling.LANCZOS)
        shrunk = True


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.0f}"


def size_words(count: int) -> str:
    """A byte count as a person reads it: "182 KB", "1.5 MB" (1024-based, as files are shown)."""
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.3g} MB"
    if count >= 1024:
        return f"{count / 1024:.0f} KB"
    return f"{count} bytes"


_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "it is a PDF document"),
    (b"PK\x03\x04", "it is a ZIP archive"),
    (b"\x1f\x8b", "it is gzip-compressed data"),
    (b"\x7fELF", "it is a program"),
)


_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF8", "GIF"),
    (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
)


def _not_an_image(name: str, head: bytes) -> str:
    """Why a file Pillow does not recognise is not an image, as specifically as is cheap."""
    for magic, fmt in _IMAGE_MAGIC:
        if head.startswith(magic):
            return f"{name} is damaged: it starts like a {fmt} image but cannot be read"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return f"{name} is damaged: it starts like a WebP image but cannot be read"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc", b"ftypavif"):
        return (f"{name} is a HEIC/AVIF image, which glm-tui cannot read: "
                "convert it to JPEG or PNG first")
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            return f"{name} is not an image ({what})"
    text = head.lstrip(b"\xef\xbb\xbf")
    if re.match(rb"\s*(<\?xml[^>]*>\s*)?<svg", text):
        return (f"{name} is an SVG drawing, which glm-tui cannot send: "
                "export it as PNG first")
    if looks_like_text(text):
        return f"{name} is not an image (it is text)"
    return f"{name} is not an image in a format glm-tui can read (JPEG, PNG, GIF, WebP, BMP, TIFF)"


def looks_like_text(head: bytes) -> bool:
    """Whether the first bytes of a file are UTF-8 text (a character cut at the end is fine):
    the one test behind "it is text" for a picked file and for an imported data URL."""
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        decoded = head[:exc.start].decode("utf-8") if exc.start > len(head) - 4 else ""
    return bool(decoded) and all(ch.isprintable() or ch in "\t\r\n\f" for ch in decoded)


def _damaged(name: str, exc: BaseException) -> str:
    words = str(exc).strip()
    if "truncated" in words.lower() or isinstance(exc, EOFError):
        return f"{name} is cut short: the file ends before the picture does"
    return f"{name} is damaged and cannot be decoded ({words or type(exc).__name__})"


# ---------------------------------------------------------------------------------------------
# A path pasted or dropped into the prompt

_MAX_PASTED_PATH = 4096


def dropped_image_path(text: str, cwd: Path | None = None) -> Path | None:
    """Text pasted/dropped into the prompt that names one existing image file, else ``None``.

    Terminals paste a dragged file as its path: plain, quoted ('...' or "..."), as a
    ``file://`` URL (percent-encoded), with ``~`` for the home folder, or with spaces and other
    shell characters escaped by a backslash. Relative paths are read from ``cwd`` (default: the
    current folder). Only an existing file whose name ends like an image counts, so ordinary
    text that happens to mention a path is left as text.
    """
    candidate = text.strip()
    if not candidate or len(candidate) > _MAX_PASTED_PATH or "\n" in candidate:
        return None
    if len(candidate) >= 2 and candidate[0] == candidate[-1] and candidate[0] in "'\"":
        candidate = candidate[1:-1]
    elif candidate.lower().startswith("file://"):
        parts = urlsplit(candidate)
        if parts.netloc not in ("", "localhost"):
            return None
        candidate = unquote(parts.path)
    else:
        candidate = re.sub(r"\\(.)", r"\1", candidate)
    if not candidate or "\x00" in candidate:
        return None
    path = Path(candidate).expanduser()
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return None
    try:
        return path if path.is_file() else None
    except OSError:
        return None
