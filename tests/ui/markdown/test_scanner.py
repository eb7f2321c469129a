"""The block scanner, fed at many split points, draws what one parse of the whole reply shows.

Each text is fed in pieces (small ones split at every offset and fed one character at a time;
large ones at a few hundred random offsets with a fixed seed, and in 4-character tokens as a
stream arrives). Whatever the split, the pieces must join back to exactly the text, and drawing
them one by one must show the same blocks as parsing the whole text at once.
"""

from __future__ import annotations

import random

import pytest

from glm_tui.demo.replies import SHOWCASE, sized_markdown
from glm_tui.ui.markdown.scanner import PARAGRAPH_CAP, SEGMENT_CHARS
from tests.ui.markdown.blocks import Scan, blocks_of_pieces, blocks_of_whole, scan

CORNER_CASES: dict[str, str] = {
    "fence in a paragraph": "Some text\n```python\nx = 1\n```\nafter\n",
    "nested fences": "````markdown\n```python\nx = 1\n```\n````\n\nafter\n",
    "longer closer": "```\ncode\n`````\n\ntext\n",
    "shorter closer does not close": "````\ncode\n```\nstill code\n````\ntext\n",
    "tildes": "~~~ruby\nputs 1\n~~~\n\n~~~\n```\nnot a closer\n~~~~\n",
    "backticks in a backtick info string": "``` not `a fence`\ntext\n",
    "indented fence": "  ```\n  indented\n    more\n no\n  ```\n",
    "closer indented three spaces": "```\ncode\n   ```\nafter\n",
    "unclosed fence": "text\n\n```js\nlet a = 1\nlet b = 2",
    "empty fence": "```\n```\n\n```\n\n```\n",
    "fence in a list": "- item\n\n  ```\n  code\n\n  more\n  ```\n- next\n",
    "indented code": "para\n\n    code line\n\n\n    more code\n\nafter\n",
    "lists with lazy continuation": "- one\nlazy line\n- two\n\n  continued\n\n3. three\n4. four\n",
    "loose and tight lists": "1. a\n\n2. b\n\n10. c\n\n- x\n- y\n\n* z\n",
    "list ends at a paragraph": "- a\n- b\n\nparagraph\n\n- c\n",
    "list item at low indent": "- a\n\n b\n",
    "block quotes": "> quote\nlazy\n\n> second\n> > nested\n\n>\n\nafter\n",
    "tables": "| a | b |\n|:--|--:|\n| 1 | 2 |\n\nx | y\n--|--\n1 | 2\n",
    "setext headings": "Title\n=====\n\nSub\n---\n\nText\n-\n",
    "atx headings": "# One\n## Two ##\n###### Six\n####### seven\n#no\n",
    "thematic breaks": "para\n\n***\n---\n___\n\n- - -\n",
    "html blocks": "<div>\n*not html here*\n</div>\n\n<!-- comment -->\n\ntext\n",
    "reference definition after use": (
        "See [the docs][docs] and [x].\n\n[docs]: https://a.b/c\n[x]: /x\n"
    ),
    "reference definition before use": "[docs]: https://a.b/c 'Title'\n\nSee [docs].\n",
    "emphasis across lines": (
        "*emphasis\nacross lines* and **strong\nacross** and ~~strike\nthrough~~\n"
    ),
    "code span across lines": "a `code\nspan` b\n\n``double ` tick``\n",
    "links": "[text](https://a.b/(x)) ![img](i.png \"t\") <https://auto.link> https://bare.link\n",
    "cjk": "# 标题\n\n你好，世界。这是**粗体**和`代码`。\n\n- 一\n- 二\n\n> 引用\n",
    "hard breaks": "line one  \nline two\\\nline three\n",
    "blank lines and spaces": "\n\n   \npara\n \n\t\nend",
    "crlf free text with tabs": "-\tone\n-\ttwo\n\n\tcode\n",
    "no trailing newline": "# Heading\n\nlast paragraph",
}

_WORDS = ["the", "model", "streams", "tokens", "into", "a", "terminal", "widget", "while", "reads"]


def _long_paragraph(seed: int, size: int) -> str:
    """One paragraph of about ``size`` characters full of inline constructs."""
    rng = random.Random(seed)
    words: list[str] = []
    total = 0
    while total < size:
        word = rng.choice(_WORDS)
        kind = rng.randrange(8)
        if kind == 0:
            word = f"[{word} link](https://example.com/{word}_path?q=a b)".replace(" b)", "b)")
        elif kind == 1:
            word = f"`{word} code`"
        elif kind == 2:
            word = f"*{word} emphasis*"
        elif kind == 3:
            word = f"**{word} strong text**"
        elif kind == 4:
            word = f"[{word} `code` link](<https://example.com/a b>)"
        words.append(word)
        total += len(word) + 1
        if rng.random() < 0.05:
            words.append("\n")
    return " ".join(words).replace(" \n ", "\n")


LARGE: dict[str, str] = {
    "showcase": SHOWCASE,
    "demo size=20000": sized_markdown(20_000),
    "demo size=100000": sized_markdown(100_000),
    "very long paragraph": _long_paragraph(1, 5 * PARAGRAPH_CAP) + "\n\nafter\n",
    "very long cjk paragraph": "这是一个很长的段落，" * 2_000 + "\n",
    "one enormous word": "x" * (3 * PARAGRAPH_CAP) + " tail\n",
    "long paragraph after an unclosed backtick": "a ` b\n" + _long_paragraph(2, 3 * PARAGRAPH_CAP),
    "long lazy lines of a quote in a paragraph": (
        "Intro line\n> quoted\n" + _long_paragraph(3, 2 * PARAGRAPH_CAP) + "\n\nafter\n"
    ),
    "long paragraph under a heading": "# Title\n" + _long_paragraph(4, 2 * PARAGRAPH_CAP),
    "many paragraphs": "\n\n".join(
        _long_paragraph(seed, 500) for seed in range(3 * SEGMENT_CHARS // 500)
    ),
    "long list": "\n".join(f"{n}. item [{n}](https://x.y/{n}) *{n}*" for n in range(1, 200)) + "\n",
}


def _check(text: str, result: Scan, where: str) -> None:
    assert "".join(result.sources) == text, f"pieces do not join back to the source ({where})"
    expected = blocks_of_whole(text)
    drawn = blocks_of_pieces(result.pieces)
    if drawn != expected:
        for index, (want, got) in enumerate(zip(expected, drawn, strict=False)):
            assert got == want, f"block {index} differs ({where})"
        assert len(drawn) == len(expected), f"{len(drawn)} blocks, not {len(expected)} ({where})"


@pytest.mark.parametrize("name", sorted(CORNER_CASES))
def test_corner_case_at_every_split(name: str) -> None:
    text = CORNER_CASES[name]
    for offset in range(len(text) + 1):
        _check(text, scan(text, [offset]), f"split at {offset}")
    _check(text, scan(text, range(len(text))), "one character at a time")


@pytest.mark.parametrize("name", sorted(LARGE))
def test_large_reply_at_random_splits(name: str) -> None:
    text = LARGE[name]
    rng = random.Random(8)
    for run in range(10):
        cuts = sorted(rng.sample(range(len(text)), 30))
        _check(text, scan(text, cuts), f"run {run}, cuts {cuts}")
    _check(text, scan(text, range(0, len(text), 4)), "4-character tokens")
