"""Screen lines of a huge plain reply (ui/widgets/plain_lines.py), and where a reply is cut.

What a reader relies on: every character of the text is on exactly one line, in order; no line
is wider than the screen; a word is only split when it is longer than a line; wide (CJK)
characters and emoji sequences are never cut or pushed past the edge; and the lines found while
the text streams in are the lines found for the whole text at once (nothing jumps).
"""

from __future__ import annotations

import itertools
import random

import pytest
from rich.cells import cell_len

from glm_tui.ui.widgets.huge_text import CUT_SLACK, MARKDOWN_CAP, ReplyCut
from glm_tui.ui.widgets.plain_lines import LineStarts

WORDS = ["alpha", "be", "gamma-delta", "x", "tokens", "streaming", "a" * 30, "中文字符", "👨‍👩‍👧",
         "e\u0301te\u0301", "", "  "]


def sample_text(seed: int, size: int) -> str:
    rng = random.Random(seed)
    parts: list[str] = []
    while sum(map(len, parts)) < size:
        roll = rng.random()
        if roll < 0.08:
            parts.append("\n" * rng.randint(1, 3))
        elif roll < 0.1:
            parts.append("w" * rng.randint(50, 300))  # longer than a line
        else:
            parts.append(rng.choice(WORDS) + " ")
    return "".join(parts)


def all_lines(text: str, width: int, *, budget: int = 1 << 30) -> list[str]:
    """Every screen line of the complete ``text`` (without its line end)."""
    lines = LineStarts(width)
    while not lines.advance(text, budget, complete=True):
        pass
    drawn = []
    for index in range(lines.committed):
        start, end = lines.line_span(index, len(text))
        drawn.append(text[start:end])
    assert lines.open_start == len(text), "a complete text leaves nothing open"
    return drawn


def shown(line: str) -> str:
    """A line as it shows: its line end and the space a wrap broke at are not drawn."""
    return line.removesuffix("\n").removesuffix(" ")


@pytest.mark.parametrize("width", [1, 2, 3, 7, 40, 117])
@pytest.mark.parametrize("seed", range(6))
def test_every_character_is_on_one_line_and_no_line_is_too_wide(seed: int, width: int) -> None:
    text = sample_text(seed, 4_000)
    lines = all_lines(text, width)
    assert "".join(lines) == text
    for line in lines:
        # A character wider than the whole line (width 1, a CJK character) still gets a line.
        assert cell_len(shown(line)) <= max(width, 2), line
        assert "\n" not in line[:-1]


@pytest.mark.parametrize("seed", range(6))
def test_words_are_split_only_when_longer_than_a_line(seed: int) -> None:
    width = 40
    text = sample_text(seed, 4_000)
    lines = all_lines(text, width)
    for line, after in itertools.pairwise(lines):
        if line.endswith(("\n", " ")) or not after or after[0] in " \n":
            continue
        # Cut inside a run of letters: only when the line had no space to break at.
        assert " " not in line, (line, after)


def test_wide_characters_and_emoji_sequences_stay_whole() -> None:
    family = "👨‍👩‍👧"
    text = ("中" * 25 + family * 5) * 20
    for width in (5, 11, 40):
        for line in all_lines(text, width):
            assert cell_len(line) <= width
            assert line.count("\u200d") == 2 * line.count("👨"), "an emoji family was cut"


@pytest.mark.parametrize("seed", range(4))
def test_lines_found_while_streaming_are_the_lines_of_the_whole_text(seed: int) -> None:
    text = sample_text(seed, 6_000)
    rng = random.Random(seed)
    streamed = LineStarts(30)
    end = 0
    while end < len(text):
        end = min(len(text), end + rng.randint(1, 400))
        while not streamed.advance(text[:end], rng.randint(1, 500), complete=False):
            pass
    while not streamed.advance(text, 1 << 30, complete=True):
        pass
    whole = LineStarts(30)
    whole.advance(text, 1 << 30, complete=True)
    assert list(streamed.starts) == list(whole.starts)


def test_the_budget_bounds_each_call_and_work_resumes() -> None:
    text = "word " * 20_000
    lines = LineStarts(80)
    calls = 0
    while not lines.advance(text, 10_000, complete=True):
        calls += 1
        assert lines.open_start <= calls * 10_000 + 80
    assert calls >= 9
    assert lines.open_start == len(text)


def test_a_huge_text_without_any_line_end_is_placed_in_linear_time() -> None:
    text = "y" * 3_000_000  # no space and no line end: every line is a hard cut
    lines = LineStarts(100)
    assert lines.advance(text, 1 << 30, complete=True)
    assert lines.committed == 30_000


# -- where a reply is cut ----------------------------------------------------------------------


def route_all(text: str, sizes: list[int]) -> tuple[str, str]:
    cut = ReplyCut()
    formatted: list[str] = []
    plain: list[str] = []
    start = 0
    for size in sizes:
        part, rest = cut.route(text[start:start + size])
        formatted.append(part)
        plain.append(rest)
        start += size
    part, rest = cut.route(text[start:])
    return "".join(formatted) + part, "".join(plain) + rest


@pytest.mark.parametrize("shape", ["paragraphs", "one line", "no space"])
def test_a_reply_is_cut_at_the_same_place_however_it_arrived(shape: str) -> None:
    body = {"paragraphs": "some words here.\n\n", "one line": "some words here ",
            "no space": "x"}[shape]
    text = body * ((MARKDOWN_CAP + 3 * CUT_SLACK) // len(body) + 1)
    whole = route_all(text, [])
    rng = random.Random(3)
    for _ in range(5):
        sizes = [rng.choice([1, 7, 4096, 16_384, 100_000]) for _ in range(60)]
        assert route_all(text, sizes) == whole
    formatted, plain = whole
    assert formatted + plain == text
    assert MARKDOWN_CAP <= len(formatted) <= MARKDOWN_CAP + 2 * CUT_SLACK
    if shape == "paragraphs":
        assert formatted.endswith("\n")
    elif shape == "one line":
        assert formatted.endswith(" ")


def test_a_reply_under_the_cap_is_never_cut() -> None:
    text = "word " * (MARKDOWN_CAP // 5)
    assert route_all(text, [1000] * 200) == (text, "")
