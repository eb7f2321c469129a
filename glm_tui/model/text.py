"""Make model and user text safe to put on a terminal screen.

Text from a model is data. Before it is drawn, every character that a terminal
would act on instead of print (C0/C1 controls such as ESC, BEL, NUL, CR, the
8-bit CSI 0x9B, DEL) is replaced by a visible stand-in, so no escape sequence can
reach the terminal and the user can still see that something odd was sent.

Choices, so they are easy to review:

- Newline and tab are kept: they are layout, and the renderer handles them.
- ``\\r\\n`` becomes ``\\n`` (Windows line ends are layout too); a lone ``\\r``
  is shown as U+240D.
- C0 controls become the Unicode "control pictures" (U+2400 + code, e.g. ESC ->
  U+241B, NUL -> U+2400) and DEL becomes U+2421.
- C1 controls (0x80-0x9F) have no control pictures; they become ``⟨9B⟩`` style
  hex tags so a raw CSI is obvious.
- Bidi embedding/override/isolate controls (U+202A-U+202E, U+2066-U+2069) are
  NEUTRALISED: replaced by visible tags such as ``⟨RLO⟩``. Left in, they can make
  a terminal that implements bidi show text in a different order than it was
  written ("Trojan Source"). Implicit marks (LRM/RLM/ALM) and the RTL letters
  themselves are kept, so Arabic or Hebrew text reads as intended.
- U+2028/U+2029 (line/paragraph separator) become ``\\n``: Python's
  ``str.splitlines`` and the code highlighter split on them, which would make
  line counts disagree between layers.
- Lone surrogates (possible after ``surrogateescape`` decoding) become U+FFFD:
  writing them to the terminal raises ``UnicodeEncodeError``.
- Everything else (CJK, emoji with ZWJ / variation selectors / tag characters,
  combining marks) is kept unchanged.

The function is linear in the text length (one ``str.translate`` pass plus a
regex pass that only runs when a surrogate is present), so it is safe on each
streamed fragment and on a 100 KB single line.
"""

from __future__ import annotations

import re

__all__ = ["BIDI_CONTROL_TAGS", "sanitize_for_display"]

BIDI_CONTROL_TAGS: dict[int, str] = {
    0x202A: "LRE",
    0x202B: "RLE",
    0x202C: "PDF",
    0x202D: "LRO",
    0x202E: "RLO",
    0x2066: "LRI",
    0x2067: "RLI",
    0x2068: "FSI",
    0x2069: "PDI",
}
"""Explicit bidi formatting controls and the short names shown in their place."""


def _build_table() -> dict[int, str]:
    """Build the code point -> replacement table used by ``str.translate``."""
    table: dict[int, str] = {}
    for code in range(0x20):
        if code not in (0x09, 0x0A):
            table[code] = chr(0x2400 + code)
    table[0x7F] = "\u2421"
    for code in range(0x80, 0xA0):
        table[code] = f"\u27e8{code:02X}\u27e9"
    for code, name in BIDI_CONTROL_TAGS.items():
        table[code] = f"\u27e8{name}\u27e9"
    table[0x2028] = "\n"
    table[0x2029] = "\n"
    return table


_TABLE = _build_table()
_SURROGATE = re.compile("[\ud800-\udfff]")


def sanitize_for_display(text: str) -> str:
    """Return ``text`` with every terminal-active character made visible.

    The result is meant for drawing only; keep the original for storage,
    copying and sending back to the model.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    text = text.translate(_TABLE)
    if _SURROGATE.search(text) is not None:
        text = _SURROGATE.sub("\ufffd", text)
    return text


def title_from_question(text: str, limit: int = 60) -> str:
    """A session title from the first question: its first line, whitespace folded, shortened."""
    line = " ".join(text.strip().split("\n", 1)[0].split())
    if not line:
        return "New chat"
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
