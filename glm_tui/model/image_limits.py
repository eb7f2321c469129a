"""How large an attached image may be once normalised: the ``[images]`` settings' one home.

Declared here, below settings and chat, so the config loader checks the same bounds that
:mod:`glm_tui.chat.image_prep` uses, and the defaults are written once.

Why these defaults:
  * ``max_side`` 1120 px is GLM-4V's own input size (the server resizes every image to 1120×1120),
    so a larger picture only costs bytes on the wire, not detail the model sees.
  * ``max_bytes`` 1 MiB: a 1120-px photo is 150-500 KB at JPEG quality 85-90, so the cap is
    reached only by noisy or very detailed pictures, and then the quality steps down. The cap
    matters because a GLM-4V conversation sends its image again with every question, and base64
    adds a third: 1 MiB is 1.4 MB per request, far under what hosted APIs accept per image
    (Zhipu 5 MB, OpenAI 20 MB) and what local servers take in one body.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_SIDE = 1120
DEFAULT_MAX_BYTES = 1024 * 1024

MAX_SIDE_RANGE = (64, 8192)
"""A longest side below 64 px leaves nothing to see; above 8192 px no server takes it whole."""

MAX_BYTES_RANGE = (16 * 1024, 50 * 1024 * 1024)
"""Under 16 KB even a small picture turns to mush; over 50 MB no server accepts the request."""


@dataclass(frozen=True)
class ImageLimits:
    """The longest side (pixels) and the JPEG byte cap an attached image is normalised to."""

    max_side: int = DEFAULT_MAX_SIDE
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        for name in ("max_side", "max_bytes"):
            problem = limit_problem(name, getattr(self, name))
            if problem:
                raise ValueError(f"{name}: {problem}")


def limit_problem(name: str, value: object) -> str | None:
    """Why ``value`` cannot be ``max_side`` / ``max_bytes``, in words; ``None`` when it can."""
    low, high = MAX_SIDE_RANGE if name == "max_side" else MAX_BYTES_RANGE
    unit = "pixels" if name == "max_side" else "bytes"
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be a whole number of {unit}, not {type(value).__name__}"
    if not low <= value <= high:
        return f"must be between {low} and {high} {unit}, not {value}"
    return None
