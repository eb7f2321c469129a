"""The token estimate shown when a server reports no usage."""

from __future__ import annotations

import time

import pytest

from glm_tui.client.tokens import estimate_tokens

PROSE = (
    "Harlequin is a SQL IDE for your terminal. It is fast, it looks great, and it works with "
    "many databases. Streaming goes through a time-based buffer, in an async worker, so that "
    "the cost stays linear in reply length: long lists and long code blocks are the known trap."
)


def test_empty_text_is_zero_tokens() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("   ") == 0


def test_cjk_is_about_one_token_per_character() -> None:
    assert estimate_tokens("你好世界") == 4
    assert estimate_tokens("你好，世界！") == 6  # full-width punctuation counts like a character
    assert estimate_tokens("こんにちは") == 5
    assert estimate_tokens("안녕하세요") == 5


def test_english_prose_is_about_four_characters_per_token() -> None:
    estimate = estimate_tokens(PROSE)
    assert 0.8 * len(PROSE) / 4 <= estimate <= 1.25 * len(PROSE) / 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 1),
        ("a", 1),
        ("internationalization", 5),
        ("123", 1),
        ("1234567", 3),
        ("!", 1),
        ("line\nline", 3),
    ],
)
def test_word_pieces(text: str, expected: int) -> None:
    assert estimate_tokens(text) == expected


def test_mixed_text_adds_its_parts() -> None:
    assert estimate_tokens("GLM-4 说你好") == estimate_tokens("GLM-4 ") + estimate_tokens("说你好")


def test_longer_text_never_estimates_fewer_tokens() -> None:
    text = ""
    previous = 0
    for piece in ["Hello", ", ", "世界", "\n", "```python\n", "x = 1", "\n```"] * 20:
        text += piece
        current = estimate_tokens(text)
        assert current >= previous
        previous = current


def test_deterministic_and_fast_on_a_megabyte() -> None:
    text = (PROSE + " 中文的句子也在这里。\n") * 3700
    assert len(text) > 1_000_000
    start = time.perf_counter()
    first = estimate_tokens(text)
    elapsed = time.perf_counter() - start
    assert first == estimate_tokens(text)
    assert elapsed < 2.0  # about 0.1 s on one core; generous for a loaded machine
