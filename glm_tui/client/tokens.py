"""A fast, deterministic token estimate for when a server reports no usage.

Many servers (the GLM-4 demo server, LM Studio, most streams without ``stream_options``) send no
token counts, yet the status bar should still say roughly how long a reply or a prompt is. Loading a
real tokenizer would cost start-up time and would be wrong for most models anyway, so this counts
the way BPE tokenizers behave on average:

- each CJK character (Han, kana, Hangul, CJK and full-width punctuation) is about one token;
- a run of other letters is about one token per four characters (at least one);
- a run of digits is about one token per three digits (tokenizers split numbers in groups of 3);
- a run of punctuation/symbols is about one token per two characters;
- each run of line breaks is a token; other whitespace is folded into the following word.

The result is an estimate (shown as such); it is linear in the text length and does not allocate
per character. A text over :data:`SAMPLED_ABOVE` characters is estimated from evenly spaced
windows instead of read whole, so that one huge reply (a 10 MB chunk from a careless server)
costs tens of milliseconds, not seconds of a frozen screen.
"""

from __future__ import annotations

import re

_CJK_RANGES = (
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3000-\u303f"  # CJK symbols and punctuation
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u31ff"  # Bopomofo, Hangul compatibility jamo, Kanbun, Katakana extension
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\ua960-\ua97f"  # Hangul jamo extended A
    "\uac00-\ud7ff"  # Hangul syllables and jamo extended B
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\ufe30-\ufe4f"  # CJK compatibility forms
    "\uff00-\uffef"  # half-width and full-width forms
    "\U00020000-\U0003134f"  # CJK extensions B to G
)

_CJK = re.compile(f"[{_CJK_RANGES}]")
_LETTERS = re.compile(f"[^\\W\\d_{_CJK_RANGES}]+")
_DIGITS = re.compile(f"[^\\D{_CJK_RANGES}]+")
_SYMBOLS = re.compile(f"(?:[^\\w\\s{_CJK_RANGES}]|_)+")
_LINE_BREAKS = re.compile(r"\n+")


SAMPLED_ABOVE = 1_000_000
"""Texts longer than this (in characters) are estimated from :data:`_WINDOWS` samples."""
_WINDOWS = 32
_WINDOW = 8192


def estimate_tokens(text: str) -> int:
    """Roughly how many tokens ``text`` is for a typical BPE tokenizer (0 for empty text)."""
    if len(text) > SAMPLED_ABOVE:
        return _estimate_sampled(text)
    return _estimate_whole(text)


def _estimate_sampled(text: str) -> int:
    """Tokens per character measured on evenly spaced windows, scaled to the whole length."""
    step = (len(text) - _WINDOW) // (_WINDOWS - 1)
    sampled = sum(_estimate_whole(text[i * step: i * step + _WINDOW]) for i in range(_WINDOWS))
    return round(sampled * len(text) / (_WINDOWS * _WINDOW))


def _estimate_whole(text: str) -> int:
    if not text:
        return 0
    total = len(_CJK.findall(text))
    for word in _LETTERS.findall(text):
        total += (len(word) + 2) // 4 or 1
    for number in _DIGITS.findall(text):
        total += (len(number) + 2) // 3
    for symbols in _SYMBOLS.findall(text):
        total += (len(symbols) + 1) // 2
    total += len(_LINE_BREAKS.findall(text))
    return total
