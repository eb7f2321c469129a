"""Where an over-long paragraph may be cut so both halves still read as the whole did.

The scanner cuts a paragraph longer than ``PARAGRAPH_CAP`` so the live tail stays bounded; each
half is then parsed on its own. A cut inside ``[text](url)``, a code span or an emphasis would show
the reader literal brackets, backticks or asterisks, so a cut is only allowed where the text before
it leaves nothing open. The text after the cut has not arrived yet, so "open" is judged from the
prefix alone and errs toward "open": a ``[`` or a backtick that may never be closed forbids every
later cut (the paragraph then stays in the live tail, whose flush interval grows with its size).

This is a conservative reading of CommonMark's inline rules, not a parser: code spans (matching
backtick runs), link text brackets and destinations, autolinks, backslash escapes, and emphasis
delimiter runs (``*``, ``_``, ``~~``) counted per character with the left/right-flanking rules.
A cut is also only made before a letter, in a line that is plainly paragraph text (not a
heading, list item, quote, fence, rule or table line) and follows no quote, list item or table
line (lazy continuation lines and table rows belong to those), so the second half starts as the
same paragraph.
"""

from __future__ import annotations

import re

__all__ = ["safe_cut"]

_LETTER = re.compile(r"[^\W\d_]")
_BLOCK_LINE = re.compile(r" {0,3}(?:#{1,6}(?:[ \t]|$)|`{3}|~{3}|(?:[-_*=][ \t]*)+$)")
_CONTAINER_LINE = re.compile(r" {0,3}(?:>|[-+*](?:[ \t]|$)|\d{1,9}[.)](?:[ \t]|$))")
_AUTOLINK = re.compile(r"<[A-Za-z][A-Za-z0-9.+-]{1,31}:[^\s<>]*>|<[^\s@<>]+@[^\s@<>]+>")
_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_DELIMITERS = "*_~"


def _is_punctuation(character: str) -> bool:
    return not character.isalnum() and not character.isspace()


def _line(text: str, start: int, plain_so_far: bool) -> tuple[bool, bool]:
    """Whether the line at ``start`` is plain paragraph text, and whether later lines can be.

    A quote, list item or table row takes the lines after it (lazy continuation, table rows),
    so after one no line of the block is plain; a heading or rule line only spoils itself.
    """
    if not plain_so_far:
        return False, False
    end = text.find("\n", start)
    line = text[start:] if end < 0 else text[start:end]
    if "|" in line or _CONTAINER_LINE.match(line):
        return False, False
    return _BLOCK_LINE.match(line) is None, True


def _run(text: str, start: int, character: str) -> int:
    end = start
    while end < len(text) and text[end] == character:
        end += 1
    return end - start


def safe_cut(text: str, start: int, low: int) -> int:
    """The last position in ``text[low:-1]`` where the paragraph at ``start`` may be cut, or -1.

    Prefers a cut before a word (after a space or a line end); failing that (one enormous word),
    before any letter. Linear in ``len(text) - start``.
    """
    end = len(text) - 1
    word = anywhere = -1
    ticks = brackets = destination = 0
    open_runs = dict.fromkeys(_DELIMITERS, 0)
    line_ok, later_ok = _line(text, start, True)
    position = start
    while position < end:
        character = text[position]
        if ticks:  # inside a code span: only a run of the same length closes it
            run = _run(text, position, "`") if character == "`" else 1
            if character == "`" and run == ticks:
                ticks = 0
            position += run
            continue
        if character == "\\" and text[position + 1] in _ASCII_PUNCTUATION:
            position += 2
            continue
        if character == "`":
            ticks = _run(text, position, "`")
            position += ticks
            continue
        if character == "<":
            autolink = _AUTOLINK.match(text, position)
            if autolink is not None:
                position = autolink.end()
                continue
        if destination:
            destination += {"(": 1, ")": -1}.get(character, 0)
            position += 1
            continue
        if character in _DELIMITERS:
            position += _delimiter_run(text, position, open_runs)
            continue
        if character == "[":
            brackets += 1
        elif character == "]":
            brackets = max(brackets - 1, 0)
            if text.startswith("(", position + 1):
                destination = 1
                position += 2
                continue
        elif character == "\n":
            line_ok, later_ok = _line(text, position + 1, later_ok)
        clean = not (brackets or any(open_runs.values()))
        if clean and line_ok and position + 1 > low and _LETTER.match(text, position + 1):
            if character in " \n":
                word = position + 1
            elif _LETTER.match(character):
                anywhere = position + 1
        position += 1
    return word if word >= 0 else anywhere


def _delimiter_run(text: str, position: int, open_runs: dict[str, int]) -> int:
    """Count an emphasis delimiter run as opening or closing; return its length."""
    character = text[position]
    run = _run(text, position, character)
    if character == "~" and run < 2:
        return run
    before = text[position - 1] if position > 0 else "\n"
    after = text[position + run] if position + run < len(text) else "\n"
    left = not after.isspace() and (
        not _is_punctuation(after) or before.isspace() or _is_punctuation(before)
    )
    right = not before.isspace() and (
        not _is_punctuation(before) or after.isspace() or _is_punctuation(after)
    )
    if character == "_":
        can_open = left and (not right or _is_punctuation(before))
        can_close = right and (not left or _is_punctuation(after))
    else:
        can_open, can_close = left, right
    if can_close and open_runs[character]:
        closed = min(run, open_runs[character])
        open_runs[character] -= closed
        if can_open:
            open_runs[character] += run - closed
    elif can_open:
        open_runs[character] += run
    return run
