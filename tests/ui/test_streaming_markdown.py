"""StreamingMarkdown in a real (headless) app: what the user sees on screen."""

from __future__ import annotations

import asyncio
import time

import pytest
from textual.app import App, ComposeResult

from glm_tui.ui.markdown.widget import (
    CodeChunk,
    FrozenPage,
    ProseBlock,
    StreamingMarkdown,
)
from tests.support.waiting import wait_for


class _App(App[None]):
    def __init__(self, markdown: str = "") -> None:
        super().__init__()
        self.markdown = markdown
        self.links: list[str] = []

    def compose(self) -> ComposeResult:
        yield StreamingMarkdown(self.markdown)

    def on_streaming_markdown_link_clicked(self, event: StreamingMarkdown.LinkClicked) -> None:
        self.links.append(event.href)


def _screen_lines(app: App[None]) -> list[str]:
    return [strip.text.rstrip() for strip in app.screen._compositor.render_strips()]


async def _stream(widget: StreamingMarkdown, text: str, size: int = 7) -> None:
    for start in range(0, len(text), size):
        widget.write(text[start : start + size])
        await asyncio.sleep(0)
    await widget.finish()


DOC = """# Release notes

Some *emphasis*, **strong** and `inline code` in a paragraph.

- first bullet
- second bullet
  - nested bullet

1. one
2. two

> a quote

| name | value |
|------|-------|
| a    | 1     |
"""


async def test_streamed_markdown_renders_blocks() -> None:
    app = _App()
    async with app.run_test(size=(80, 60)) as pilot:
        widget = app.query_one(StreamingMarkdown)
        await _stream(widget, DOC)
        await pilot.pause()
        lines = _screen_lines(app)
        screen = "\n".join(lines)
        assert widget.text == DOC
        assert "Release notes" in screen
        assert "Some emphasis, strong and inline code in a paragraph." in screen
        assert any(line.strip() == "• first bullet" for line in lines)
        assert any(line.strip() == "▪ nested bullet" for line in lines)
        assert any(line.strip() == "1. one" for line in lines)
        assert any("▌ a quote" in line for line in lines)
        assert any("name │ value" in line for line in lines)
        assert "*" not in screen and "`" not in screen


async def test_text_appears_before_finish() -> None:
    app = _App()
    async with app.run_test(size=(80, 20)):
        widget = app.query_one(StreamingMarkdown)
        widget.write("Hello ")
        widget.write("streaming world")
        await wait_for(None, lambda: any("Hello streaming world" in line
                                         for line in _screen_lines(app)), what="the text")


async def test_long_code_block_is_chunked_but_reads_as_one_block() -> None:
    code = "\n".join(f"value_{number} = {number}  # line {number}" for number in range(200))
    text = f"Intro.\n\n```python\n{code}\n```\n\nAfter.\n"
    app = _App()
    async with app.run_test(size=(80, 260)) as pilot:
        widget = app.query_one(StreamingMarkdown)
        await _stream(widget, text, size=40)
        await pilot.pause()
        chunks = list(widget.query(CodeChunk))
        assert len(chunks) >= 3
        assert chunks[0].has_class("-first") and not chunks[0].has_class("-last")
        assert chunks[-1].has_class("-last") and not chunks[-1].has_class("-first")
        assert all(not c.has_class("-first") and not c.has_class("-last") for c in chunks[1:-1])
        lines = _screen_lines(app)
        rows = [
            next(i for i, line in enumerate(lines) if line.strip().startswith(f"value_{n} ="))
            for n in range(200)
        ]
        assert rows == list(range(rows[0], rows[0] + 200)), "chunks must join without gaps"
        assert widget.last_code_block() == code


async def test_last_code_block_is_raw_and_none_without_code() -> None:
    app = _App("no code here")
    async with app.run_test(size=(60, 10)):
        widget = app.query_one(StreamingMarkdown)
        assert widget.last_code_block() is None
        widget.write("\n\n```\nfirst\n```\n\n- item\n\n  ```sh\n  echo \x1b[1m\n  ```\n")
        await widget.finish()
        assert widget.last_code_block() == "echo \x1b[1m"


async def test_long_list_streams_in_groups_without_gaps() -> None:
    items = "\n".join(f"{n}. item number {n}" for n in range(1, 151))
    app = _App()
    async with app.run_test(size=(60, 200)) as pilot:
        widget = app.query_one(StreamingMarkdown)
        await _stream(widget, f"{items}\n\nDone.\n", size=50)
        await pilot.pause()
        lines = _screen_lines(app)
        rows = [
            next(i for i, line in enumerate(lines) if line.strip() == f"{n}. item number {n}")
            for n in range(1, 151)
        ]
        assert rows == list(range(rows[0], rows[0] + 150))
        assert len(widget.query(ProseBlock)) > 2, "the list was frozen in groups"


async def test_link_click_posts_message_and_never_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    app = _App("Read [the docs](https://example.com/a?b='c') now.\n")
    async with app.run_test(size=(60, 10)) as pilot:
        monkeypatch.setattr(app, "open_url", lambda url, **_: opened.append(url))
        await pilot.pause()
        lines = _screen_lines(app)
        row = next(i for i, line in enumerate(lines) if "the docs" in line)
        await pilot.click(offset=(lines[row].index("the docs") + 2, row))
        await wait_for(None, lambda: bool(app.links), what="the link")
        assert app.links == ["https://example.com/a?b='c'"]
        assert opened == []


NASTY = (
    "Markup [bold]not bold[/] and [@click=app.quit]quit[/] and [link=x]y[/link]\n\n"
    "Escapes: \x1b[2J\x1b]0;title\x07 \x9b31m NUL\x00 DEL\x7f CR\rX\n\n"
    "```\n[@click=app.quit]in code[/] \x1b[31m\n```\n\n"
    "Bidi: abc\u202edcba\u202c, RTL שלום, CJK 中文, family 👨‍👩‍👧\n\n"
    "<b>html stays text</b>\n"
)


async def test_nasty_input_renders_literally_and_clicks_do_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[str] = []
    app = _App()
    async with app.run_test(size=(100, 40)) as pilot:
        monkeypatch.setattr(app, "open_url", lambda url, **_: opened.append(url))
        widget = app.query_one(StreamingMarkdown)
        await _stream(widget, NASTY, size=3)
        await pilot.pause()
        lines = _screen_lines(app)
        screen = "\n".join(lines)
        assert "[bold]not bold[/]" in screen
        assert "[@click=app.quit]quit[/]" in screen
        assert "[@click=app.quit]in code[/] ␛[31m" in screen
        assert "␛[2J␛]0;title␇ ⟨9B⟩31m NUL␀ DEL␡ CR␍X" in screen
        assert "⟨RLO⟩" in screen and "שלום" in screen and "中文" in screen
        assert "👨\u200d👩\u200d👧" in widget.text
        assert "<b>html stays text</b>" in screen
        for char in "\x1b\x07\x00\x7f\x9b\u202e":
            assert char not in screen
        row = next(i for i, line in enumerate(lines) if "quit[/]" in line)
        await pilot.click(offset=(lines[row].index("quit[/]") + 1, row))
        await pilot.pause()
        assert app.is_running
        assert app.links == [] and opened == []
        assert widget.text == NASTY


async def test_huge_single_line_streams_and_wraps() -> None:
    line = " ".join(f"w{n:05d}" for n in range(15_000))  # ~105 KB, no newline
    app = _App()
    async with app.run_test(size=(80, 30)):
        widget = app.query_one(StreamingMarkdown)
        started = time.process_time()
        for start in range(0, len(line), 4_000):
            widget.write(line[start : start + 4_000])
            await asyncio.sleep(0.01)
        await widget.finish()
        assert time.process_time() - started < 30
        assert widget.text == line
        shown = "".join(block.source for block in widget.query(ProseBlock))
        assert shown.split() == line.split()


async def test_finishing_while_a_timed_flush_mounts_loses_nothing() -> None:
    """The reply ends (``finish``) while the timer's flush is still mounting what it took.

    Stopping the timer cancels its running callback; the pieces that flush had taken from the
    backlog were then never mounted, and thousands of words vanished from the screen (seen
    under load as ``test_huge_single_line_streams_and_wraps`` failing)."""
    line = " ".join(f"w{n:05d}" for n in range(15_000))
    app = _App()
    async with app.run_test(size=(80, 30)):
        widget = app.query_one(StreamingMarkdown)
        widget.write(line[:60_000])
        await wait_for(None, lambda: widget.flushing, what="a timed flush to start", poll=0)
        widget.write(line[60_000:])
        await widget.finish()
        shown = "".join(block.source for block in widget.query(ProseBlock))
        assert shown.split() == line.split()


async def test_huge_line_without_spaces_inside_code() -> None:
    blob = "A" * 100_000
    app = _App()
    async with app.run_test(size=(80, 30)) as pilot:
        widget = app.query_one(StreamingMarkdown)
        widget.write(f"```\n{blob}\n```\n")
        await widget.finish()
        await pilot.pause()
        assert widget.last_code_block() == blob
        assert all(len(line) <= 80 for line in _screen_lines(app))


async def test_resume_renders_complete_text_once() -> None:
    text = DOC + "\n```python\nprint('x')\n```\n"
    app = _App(text)
    async with app.run_test(size=(80, 60)) as pilot:
        await pilot.pause()
        widget = app.query_one(StreamingMarkdown)
        assert widget.flushes == 1
        assert any("print('x')" in line for line in _screen_lines(app))


class _SmallPages(StreamingMarkdown):
    PAGE_SIZE = 2


class _SmallPagesApp(_App):
    def compose(self) -> ComposeResult:
        yield _SmallPages(self.markdown)


async def test_released_pages_render_again_when_seen() -> None:
    code = "\n".join(f"row_{number} = {number}" for number in range(400))
    paragraphs = "\n\n".join(f"Paragraph {n} " + "text " * 200 for n in range(6))
    text = f"{paragraphs}\n\n```python\n{code}\n```\n\nTail.\n"
    app = _SmallPagesApp()
    async with app.run_test(size=(100, 40)) as pilot:
        widget = app.query_one(StreamingMarkdown)
        await _stream(widget, text, size=500)
        await pilot.pause()
        pages = list(widget.query(FrozenPage))
        assert len(pages) >= 4, "enough pages that early ones were released"
        # Show everything at once: released pieces must render again.
        await pilot.resize_terminal(100, 700)
        await pilot.pause()
        lines = _screen_lines(app)
        rows = [
            next(i for i, line in enumerate(lines) if line.strip() == f"row_{n} = {n}")
            for n in range(400)
        ]
        assert rows == list(range(rows[0], rows[0] + 400))
        assert all(any(f"Paragraph {n} text" in line for line in lines) for n in range(6))


async def test_long_paragraph_is_never_cut_inside_a_link_code_span_or_emphasis() -> None:
    sentence = (
        "see [the docs for item {n}](https://example.com/items/{n}) and `code {n} here` "
        "and *stress {n} here* then\n"
    )
    paragraph = "".join(sentence.format(n=n) for n in range(250)) + "done.\n"  # ~26 KB, 251 lines
    app = _App()
    async with app.run_test(size=(120, 40)) as pilot:
        widget = app.query_one(StreamingMarkdown)
        for start in range(0, len(paragraph), 1_500):  # one flush per piece, as a stream arrives
            flushes = widget.flushes
            widget.write(paragraph[start : start + 1_500])
            await wait_for(None, lambda: widget.flushes > flushes, what="a flush")  # noqa: B023
        await widget.finish()
        assert len(widget.query(ProseBlock)) > 4, "the paragraph was cut into pieces"
        await pilot.resize_terminal(120, 400)
        await wait_for(None, lambda: any("done." in line for line in _screen_lines(app)),
                       what="the end of the paragraph")
        screen = "\n".join(_screen_lines(app))
        for literal in ("[", "]", "(https", "`", "*"):
            assert literal not in screen, f"literal {literal!r} on screen: a cut split a construct"
        words = " ".join(screen.split())
        assert all(f"the docs for item {n} and code {n} here" in words for n in range(250))
