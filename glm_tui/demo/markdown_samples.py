"""The Markdown documents the demo server sends: the showcase, and exactly N bytes for benchmarks.

The showcase shows a person how replies render; the sized document is built from what makes
Markdown rendering slow (long lists, long fenced code), for the ``[[demo:size=N]]`` directive.
"""

from __future__ import annotations

SHOWCASE = """# Markdown showcase

Everything below is **Markdown** the demo server sends so you can see how it renders: *emphasis*,
`inline code`, ~~strike-through~~ and a [link to the CommonMark help](https://commonmark.org/help/).

## Lists

- A bullet point
- Another one, with a nested list:
  1. first step
  2. second step
- The last bullet

## A table

| Language | Typing  | First released |
|----------|:-------:|---------------:|
| Python   | dynamic |           1991 |
| Rust     | static  |           2015 |
| Go       | static  |           2009 |

## Code

```python
def fibonacci(n: int) -> list[int]:
    numbers = [0, 1]
    while len(numbers) < n:
        numbers.append(numbers[-1] + numbers[-2])
    return numbers[:n]
```

```rust
fn main() {
    let squares: Vec<u32> = (1..=5).map(|n| n * n).collect();
    println!("{squares:?}");
}
```

> A block quote, to finish.
"""


def sized_markdown(size: int) -> str:
    """Exactly ``size`` bytes (ASCII) of mixed Markdown: paragraphs, a 300-item list, long code.

    Long lists and long fenced code blocks are what makes Markdown rendering slow, so the document
    is built from them, in a fixed order, and cut at ``size``.
    """
    pieces: list[str] = []
    total = 0
    section = 0
    while total < size:
        section += 1
        block = _sized_section(section)
        pieces.append(block)
        total += len(block)
    return "".join(pieces)[:size]


def _sized_section(number: int) -> str:
    lines = [f"## Section {number}\n\n"]
    for paragraph in range(3):
        lines.append(
            f"Paragraph {paragraph + 1} of section {number}. This text is deterministic filler "
            "with **bold**, *italic* and `code` so that inline styles are measured too. "
            "It keeps going for a while to make a realistic paragraph of a long answer.\n\n"
        )
    lines.extend(f"- item {item} of section {number}\n" for item in range(1, 301))
    lines.append("\n```python\n")
    lines.extend(
        f"def step_{number}_{index}(value: int) -> int:\n    return value * {index} + {number}\n"
        for index in range(60)
    )
    lines.append("```\n\n```json\n[\n")
    lines.extend(f'  {{"section": {number}, "row": {row}}},\n' for row in range(60))
    lines.append('  {"end": true}\n]\n```\n\n')
    return "".join(lines)
