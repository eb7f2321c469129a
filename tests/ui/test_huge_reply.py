"""A server that sends a reply of megabytes in ONE chunk (issue 13 item 10).

The freeze itself is a timing figure (``tests/benchmarks/bench_huge_chunk.py`` measures it);
these tests check what makes it go away and what a person relies on meanwhile: a key typed
while the reply is drawn lands in the prompt before the drawing is over (the reply is drawn a
slice at a time, the app answering between slices), no part of the screen holds megabytes to
re-wrap (a reply that is one huge line is cut like any paragraph), and nothing is lost: what is
drawn is the whole text, and the stored message equals what the server sent.
"""

from __future__ import annotations

import random
from typing import Any

from textual.pilot import Pilot

from glm_tui.model.session import MessageStatus
from glm_tui.ui.markdown.widget import ProseBlock, StreamingMarkdown
from glm_tui.ui.screens.conversation import ConversationScreen
from glm_tui.ui.widgets.message_view import AssistantMessageView
from tests.support.raw_server import RawServer, Script, json_script, sse
from tests.ui.conftest import last_reply, make_app, ready, send, wait_for

SIZE = (120, 40)
START = "STARTOFTHEHUGEREPLY"
END = "ENDOFTHEHUGEREPLY"
WORDS = ["alpha", "beta", "gamma", "delta", "tokens", "stream", "**bold**", "`code`", "lines"]


def huge_text(size: int, *, one_line: bool) -> str:
    """About ``size`` characters of Markdown prose (or one line of it), ending with END."""
    rng = random.Random(10)
    parts: list[str] = []
    total = 0
    while total < size:
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120)))
        piece = words + (" " if one_line else ".\n\n")
        parts.append(piece)
        total += len(piece)
    return START + " " + "".join(parts) + END


def huge_server(text: str) -> RawServer:
    """A RawServer answering the chat request with ``text`` as ONE SSE frame, then stop."""
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "glm-4",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    stream = Script(body=[b"".join(sse(chunk({"role": "assistant", "content": text}),
                                       chunk({}, "stop")))])
    models = json_script(200, {"object": "list", "data": [{"id": "glm-4"}]})
    raw = RawServer()
    raw.add(*[lambda request: stream if request.method == "POST" else models] * 4)
    return raw


def reply_markdown(screen: ConversationScreen) -> StreamingMarkdown:
    view = screen.messages.views()[-1]
    assert isinstance(view, AssistantMessageView)
    return view.markdown


def drawn_source(markdown: StreamingMarkdown) -> str:
    """The Markdown of every piece on screen, in order (frozen pages, then the live tail)."""
    return "".join(block.source for block in markdown.query(ProseBlock))


async def wait_drawn(pilot: Pilot[Any], markdown: StreamingMarkdown) -> None:
    await wait_for(pilot, lambda: markdown.undrawn == 0 and END in drawn_source(markdown),
                   timeout=120, what="the whole reply drawn")


def stored_reply(screen: ConversationScreen) -> str:
    screen.recorder.flush()  # waits for the background writer
    store = screen.recorder.store
    assert store is not None
    messages = store.load_session(screen.session.id).messages
    return messages[-1].content


async def test_a_key_typed_while_a_huge_reply_is_drawn_lands_before_the_drawing_ends() -> None:
    text = huge_text(2_000_000, one_line=False)
    with huge_server(text) as raw:
        app = make_app(raw.base_url)
        async with app.run_test(size=SIZE) as pilot:
            screen = await ready(pilot)
            await send(pilot, "Tell me everything.")
            await wait_for(pilot, lambda: not screen.reply_running
                           and (r := last_reply(screen)) is not None
                           and r.status is MessageStatus.COMPLETE,
                           timeout=120, what="the reply to arrive")
            markdown = reply_markdown(screen)
            screen.prompt.focus()
            await pilot.press("x")
            await wait_for(pilot, lambda: screen.prompt.text == "x", what="the key in the prompt")
            # Before: the whole 2 MB was taken in one flush, so nothing was left to draw by
            # the time any key got through.
            assert markdown.undrawn > 0, "the key waited until the whole reply was drawn"
            await wait_drawn(pilot, markdown)
            assert drawn_source(markdown) == text
            assert stored_reply(screen) == text


async def test_a_reply_that_is_one_huge_line_is_drawn_in_pieces_and_stays_readable() -> None:
    text = huge_text(1_000_000, one_line=True)
    with huge_server(text) as raw:
        app = make_app(raw.base_url)
        async with app.run_test(size=SIZE) as pilot:
            screen = await ready(pilot)
            await send(pilot, "One line, please.")
            await wait_for(pilot, lambda: not screen.reply_running, timeout=120,
                           what="the reply to arrive")
            markdown = reply_markdown(screen)
            await wait_drawn(pilot, markdown)
            blocks = list(markdown.query(ProseBlock))
            # Before: the line never ended, so the live tail held (and re-wrapped) all of it.
            assert max(len(block.source) for block in blocks) <= StreamingMarkdown.FLUSH_CHARS
            assert drawn_source(markdown) == text
            assert stored_reply(screen) == text
            # A piece that scrolled past unseen is drawn when it comes into view.
            assert START not in app.export_screenshot()
            screen.messages.release_anchor()
            screen.messages.scroll_home(animate=False)
            await wait_for(pilot, lambda: START in app.export_screenshot(),
                           what="the start of the reply on screen")
