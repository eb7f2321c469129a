"""A server that sends a reply of megabytes in ONE chunk (issue 13 item 10).

The key-press figure is a timing one (``tests/benchmarks/bench_huge_chunk.py`` measures it);
these tests check what makes it hold and what a person relies on meanwhile: a 10 MB reply is on
screen, all of it, within seconds while a key typed meanwhile lands in the prompt; past the
Markdown cap the reply is one plain, virtual widget (not a widget per piece) under a note saying
why; every word is drawn once, can be scrolled to, selected and copied; the stored message, the
copy and a reopened session hold exactly what the server sent; and the plain part is as inert
as the rest (no escape sequence, no markup).
"""

from __future__ import annotations

import random
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Offset
from textual.pilot import Pilot
from textual.selection import Selection

from glm_tui.model.session import Message, MessageStatus, Role, Session
from glm_tui.model.text import sanitize_for_display
from glm_tui.ui.markdown.widget import ProseBlock, StreamingMarkdown
from glm_tui.ui.screens.conversation import ConversationScreen
from glm_tui.ui.widgets.huge_text import TAB, HugeNote, HugeText, ReplyCut
from glm_tui.ui.widgets.message_view import AssistantMessageView
from tests.support.hostile import HOSTILE, forbidden_characters
from tests.support.pictures import screen_text
from tests.support.raw_server import RawServer, Script, json_script, sse
from tests.ui.conftest import last_reply, make_app, ready, send, wait_for

SIZE = (120, 40)
START = "STARTOFTHEHUGEREPLY"
END = "ENDOFTHEHUGEREPLY"
WORDS = ["alpha", "beta", "gamma", "delta", "tokens", "stream", "**bold**", "`code`", "lines"]
ON_SCREEN_S = 20.0
"""How long a 10 MB reply may take to be all on screen. Before the plain view it took 36 s on
an idle machine (drawn as Markdown a slice at a time); now about 1 s, so this is generous."""


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


def reply_view(screen: ConversationScreen) -> AssistantMessageView:
    view = screen.messages.views()[-1]
    assert isinstance(view, AssistantMessageView)
    return view


def drawn_source(markdown: StreamingMarkdown) -> str:
    """The Markdown of every piece on screen, in order (frozen pages, then the live tail)."""
    return "".join(block.source for block in markdown.query(ProseBlock))


def drawn_text(view: AssistantMessageView) -> str:
    """What the reply's widgets hold: the Markdown part's pieces, then the plain part."""
    plain = view.plain
    return drawn_source(view.markdown) + ("" if plain is None else plain.text)


def all_drawn(view: AssistantMessageView) -> bool:
    """Nothing written to the reply waits to be drawn (a flush may span several loop turns)."""
    plain = view.plain
    markdown = view.markdown
    return (markdown.undrawn == 0 and not markdown.flushing
            and (plain is None or plain.all_placed))


def stored_reply(screen: ConversationScreen) -> str:
    screen.recorder.flush()  # waits for the background writer
    store = screen.recorder.store
    assert store is not None
    messages = store.load_session(screen.session.id).messages
    return messages[-1].content


def line_text(plain: HugeText, y: int) -> str:
    """Screen line ``y`` of the plain part, as its strip draws it."""
    return "".join(segment.text for segment in plain.render_line(y))


async def test_a_10_mb_reply_is_all_on_screen_soon_and_a_key_typed_meanwhile_lands() -> None:
    text = huge_text(10_000_000, one_line=False)
    with huge_server(text) as raw:
        app = make_app(raw.base_url)
        async with app.run_test(size=SIZE) as pilot:
            screen = await ready(pilot)
            await send(pilot, "Tell me everything.")
            await pilot.press("x")  # typed while the reply arrives and is drawn
            await wait_for(pilot, lambda: screen.prompt.text == "x", timeout=ON_SCREEN_S,
                           what="the key typed meanwhile in the prompt")

            def whole_reply_drawn() -> bool:
                reply = last_reply(screen)
                return (not screen.reply_running and reply is not None
                        and reply.status is MessageStatus.COMPLETE
                        and all_drawn(reply_view(screen)))

            # Before: 10 MB were drawn as Markdown a slice at a time (36 s when idle).
            await wait_for(pilot, whole_reply_drawn, timeout=ON_SCREEN_S,
                           what="the whole reply drawn")
            await pilot.pause()
            assert END in screen_text(pilot)
            view = reply_view(screen)
            # One plain widget under a note, not a widget (or a page) per piece.
            assert view.plain is not None and len(view.query(HugeNote)) == 1
            assert len(view.query("*")) < 80
            assert drawn_text(view) == text
            assert view.copy_text() == text
            assert stored_reply(screen) == text


async def test_a_reply_that_is_one_huge_line_is_readable_and_selectable_throughout() -> None:
    text = huge_text(1_000_000, one_line=True)
    with huge_server(text) as raw:
        app = make_app(raw.base_url)
        async with app.run_test(size=SIZE) as pilot:
            screen = await ready(pilot)
            await send(pilot, "One line, please.")
            await wait_for(pilot, lambda: not screen.reply_running, timeout=120,
                           what="the reply to arrive")
            view = reply_view(screen)
            await wait_for(pilot, lambda: all_drawn(view), timeout=120, what="all of it drawn")
            blocks = list(view.markdown.query(ProseBlock))
            # The Markdown part of a line that never ends is still cut into bounded pieces.
            assert max(len(block.source) for block in blocks) <= StreamingMarkdown.FLUSH_CHARS
            assert drawn_text(view) == text
            assert stored_reply(screen) == text
            plain = view.plain
            assert plain is not None
            width = plain.size.width
            assert plain.line_count > len(plain.text) // width  # wrapped, not one long row
            # The plain part is drawn where it is scrolled to (and the reply's start too).
            await pilot.pause()
            assert END in screen_text(pilot)
            screen.messages.release_anchor()
            screen.messages.scroll_to_widget(view.query_one(HugeNote), top=True, animate=False)
            first_line = line_text(plain, 0).strip()
            await wait_for(pilot, lambda: first_line in screen_text(pilot)
                           and "shown as plain text" in screen_text(pilot),
                           what="the note and the plain part's first line on screen")
            screen.messages.scroll_home(animate=False)
            await wait_for(pilot, lambda: START in screen_text(pilot),
                           what="the start of the reply on screen")
            # A mouse selection copies the words under it as written (no line breaks added).
            first_segment = next(iter(plain.render_line(5)))
            assert first_segment.style is not None
            assert first_segment.style.meta["offset"] == (0, 5)
            chosen = plain.get_selection(Selection(Offset(3, 5), Offset(10, 40)))
            assert chosen is not None
            start, end = plain.line_span(5)[0] + 3, plain.line_span(40)[0] + 10
            assert chosen[0] == plain.text[start:end]
            assert plain.get_selection(Selection(None, None)) == (plain.text, "\n")


class ReplyApp(App[None]):
    """One stored reply on its own, scrolling (as a reopened session draws it)."""

    CSS = "AssistantMessageView { height: auto; }"

    def __init__(self, message: Message) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield AssistantMessageView(self.message)


async def opened(pilot: Pilot[Any]) -> AssistantMessageView:
    view = pilot.app.query_one(AssistantMessageView)
    await wait_for(pilot, lambda: all_drawn(view), timeout=60, what="the stored reply drawn")
    return view


async def test_a_stored_huge_reply_is_cut_where_it_was_cut_while_streaming() -> None:
    text = huge_text(600_000, one_line=False)
    formatted, plain_part = ReplyCut().route(text)
    app = ReplyApp(Message(Role.ASSISTANT, content=text, status=MessageStatus.COMPLETE))
    async with app.run_test(size=SIZE) as pilot:
        view = await opened(pilot)
        assert view.plain is not None
        assert drawn_source(view.markdown) == formatted
        assert view.plain.text == plain_part


async def test_the_plain_part_draws_hostile_text_inertly_and_whole() -> None:
    corpus = "\n".join(f"{name}: {value}" for name, value in HOSTILE.items())
    corpus += "\n[bold red]not markup[/] [@click=app.quit]no action[/]\ttabbed"
    text = "word " * 60_000 + "\n" + corpus
    app = ReplyApp(Message(Role.ASSISTANT, content=text, status=MessageStatus.COMPLETE))
    async with app.run_test(size=SIZE) as pilot:
        view = await opened(pilot)
        plain = view.plain
        assert plain is not None
        shown = sanitize_for_display(text[len(text) - len(corpus) - 1:]).replace("\t", TAB)
        assert plain.text.endswith(shown)
        lines = [line_text(plain, y) for y in range(plain.line_count)]
        assert forbidden_characters("\n".join(lines)) == []
        assert any("[bold red]not markup[/] [@click=app.quit]no action[/]" in line
                   for line in lines)
        for y in range(plain.line_count - 50, plain.line_count):
            for segment in plain.render_line(y):
                assert segment.style is None or "@click" not in segment.style.meta


async def test_a_narrower_terminal_wraps_the_plain_part_again_keeping_every_word() -> None:
    text = huge_text(700_000, one_line=False)
    app = ReplyApp(Message(Role.ASSISTANT, content=text, status=MessageStatus.COMPLETE))
    async with app.run_test(size=SIZE) as pilot:
        view = await opened(pilot)
        plain = view.plain
        assert plain is not None
        wide = plain.line_count
        await pilot.resize_terminal(70, 30)
        await wait_for(pilot, lambda: plain.all_placed and plain.size.width <= 70
                       and plain.line_count > wide, what="the lines placed at the new width")
        spans = [plain.line_span(y) for y in range(plain.line_count)]
        assert "".join(plain.text[start:end] for start, end in spans).replace(" ", "") == \
            plain.text.replace("\n", "").replace(" ", "")
        assert all(end - start <= plain.size.width + 1 for start, end in spans)


async def test_a_session_with_a_huge_reply_reopens_whole(tmp_path: Any) -> None:
    text = huge_text(2_000_000, one_line=False)
    with huge_server(text) as raw:
        app = make_app(raw.base_url)
        async with app.run_test(size=SIZE) as pilot:
            screen = await ready(pilot)
            await send(pilot, "Tell me everything.")
            await wait_for(pilot, lambda: not screen.reply_running and all_drawn(
                reply_view(screen)), timeout=60, what="the reply drawn")
            session: Session = screen.session
            assert stored_reply(screen) == text
            store = screen.recorder.store
            assert store is not None
            # Searchable afterwards: the sessions screen's search finds its last word.
            assert [hit.session_id for hit in store.search(END)] == [session.id]
        again = make_app(raw.base_url, resume=session.id)
        async with again.run_test(size=SIZE) as pilot:
            screen = await ready(pilot)
            view = reply_view(screen)
            await wait_for(pilot, lambda: all_drawn(view), timeout=60, what="the reply drawn")
            assert drawn_text(view) == text
            await pilot.pause()
            assert END in screen_text(pilot)


async def test_dragging_the_mouse_over_the_plain_part_selects_the_words_as_written() -> None:
    tail = ("ALPHA beta gamma delta epsilon zeta eta theta iota kappa lambda mu\n"
            "nu xi omicron pi rho sigma tau upsilon\n")
    app = ReplyApp(Message(Role.ASSISTANT, content="word " * 60_000 + "\n" + tail,
                           status=MessageStatus.COMPLETE))
    async with app.run_test(size=(60, 20)) as pilot:
        await opened(pilot)
        app.query_one(VerticalScroll).scroll_end(animate=False, immediate=True)
        await wait_for(pilot, lambda: "ALPHA" in screen_text(pilot), what="the last lines")
        row = next(y for y, line in enumerate(screen_text(pilot).split("\n")) if "ALPHA" in line)
        # The line wraps after "kappa"; the drag ends on cell 10 of the line after it (the
        # cell under the pointer is selected too), and the wrap adds no line break.
        await pilot.mouse_down(offset=(0, row))
        await pilot.hover(offset=(10, row + 2))
        await pilot.mouse_up(offset=(10, row + 2))
        await wait_for(pilot, lambda: app.screen.get_selected_text() is not None,
                       what="a selection")
        assert app.screen.get_selected_text() == tail[:tail.index("nu xi") + 11]


async def test_a_huge_answer_that_turns_out_to_be_reasoning_leaves_no_plain_part() -> None:
    """A reply that began mid-thought: its 'answer' so far moves to the reasoning at
    ``</think>``, so the plain part goes with it and the real answer starts as Markdown."""
    app = ReplyApp(Message(Role.ASSISTANT, content="", status=MessageStatus.STREAMING))
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(AssistantMessageView)
        thought = huge_text(400_000, one_line=False)
        view.write(thought)
        await wait_for(pilot, lambda: view.query(HugeText), what="the plain part")
        view.answer_was_reasoning(thought)
        view.write("The **answer**.")
        await view.finish()
        # The answer's own plain part is gone (the reasoning's block may draw one of its own).
        await wait_for(pilot, lambda: not view.query_children(HugeText)
                       and not view.query_children(HugeNote), what="the plain part gone")
        assert view.plain is None
        assert drawn_source(view.markdown) == "The **answer**."
