"""The inline ``<think>`` splitter on its own: any chunking gives the answer a whole split gives."""

from __future__ import annotations

import random

import pytest

from glm_tui.client.think_tags import CLOSE, OPEN, Piece, ThinkSplitter


def split(pieces: list[str]) -> tuple[str, str, int]:
    """(answer, reasoning, moves) a consumer of the splitter ends up with."""
    splitter = ThinkSplitter()
    answer, reasoning, moves = "", "", 0
    longest_hold = 0
    for piece in pieces:
        for kind, text in splitter.feed(piece):
            if kind is Piece.ANSWER:
                answer += text
            elif kind is Piece.REASONING:
                reasoning += text
            else:
                reasoning, answer, moves = answer + reasoning, "", moves + 1
        longest_hold = max(longest_hold, len(splitter._held.lstrip()))
    for kind, text in splitter.finish():
        if kind is Piece.ANSWER:
            answer += text
        else:
            reasoning += text
    assert longest_hold < len(CLOSE)  # never more than a tag's worth held back
    return answer, reasoning, moves


def reference(whole: str) -> tuple[str, str, int]:
    """The rules applied to the whole text at once."""
    stripped = whole.lstrip()
    if stripped.startswith(OPEN):
        body = stripped[len(OPEN):]
        if CLOSE not in body:
            return "", body, 0
        thought, _, rest = body.partition(CLOSE)
        return rest.lstrip(), thought, 0
    if CLOSE in whole:
        thought, _, rest = whole.partition(CLOSE)
        return rest.lstrip(), thought, 1
    return whole, "", 0


def random_text(rng: random.Random) -> str:
    alphabet = ["a", " ", "\n", "<", ">", "/", "t", "h", "i", "n", "k", OPEN, CLOSE, "</thi",
                "<thin", "世界"]
    head = rng.choice(["", "  ", "\n", OPEN, " " + OPEN, "<th"])
    return head + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))


@pytest.mark.parametrize("seed", range(300))
def test_any_chunking_matches_the_whole_split(seed: int) -> None:
    rng = random.Random(seed)
    whole = random_text(rng)
    cuts = sorted(rng.sample(range(1, len(whole)), min(len(whole) - 1, rng.randint(0, 8))))
    pieces = [whole[a:b] for a, b in zip([0, *cuts], [*cuts, len(whole)], strict=True)]
    assert split(pieces) == reference(whole), (whole, pieces)


def test_a_megabyte_in_tiny_pieces_full_of_angle_brackets() -> None:
    thought = "x < y </thin z <" * 65_536
    pieces = [OPEN, *(thought[i:i + 3] for i in range(0, len(thought), 3)), CLOSE, "done"]
    assert split(pieces) == ("done", thought, 0)


def test_text_that_only_looks_like_a_tag_start_is_handed_on_at_the_end() -> None:
    assert split(["  <thi"]) == ("  <thi", "", 0)
    assert split(["answer </thi"]) == ("answer </thi", "", 0)
    assert split([OPEN, "thinking </thi"]) == ("", "thinking </thi", 0)
    assert split(["\n\n"]) == ("\n\n", "", 0)


def test_endless_leading_whitespace_is_answer_after_a_while() -> None:
    answer, reasoning, _ = split([" "] * 10_000 + [OPEN, "x"])
    assert reasoning == "" and answer == " " * 10_000 + OPEN + "x"
