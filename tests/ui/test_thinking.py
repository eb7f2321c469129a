"""A thinking model's reply in the real app, from a real HTTP server on loopback.

The server is the byte-exact scripted one (tests/support/raw_server.py): it sends
``reasoning_content`` deltas as the hosted GLM API and DeepSeek-style servers do, and a
:class:`~tests.support.raw_server.Gate` holds the answer back until the test has looked at the
screen, so "the reasoning is on screen before the answer starts" is checked, not hoped for.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import MessageStatus
from glm_tui.ui.app import GlmTuiApp
from glm_tui.ui.screens.conversation import ConversationScreen
from glm_tui.ui.widgets.huge_text import HugeNote, HugeText
from glm_tui.ui.widgets.message_view import AssistantMessageView
from glm_tui.ui.widgets.thinking_block import ThinkingBlock
from tests.support.raw_server import Gate, RawServer, Script, json_script, sse
from tests.ui.conftest import (
    click,
    last_reply,
    make_app,
    ready,
    send,
    settings_for,
    wait_for,
    wait_reply_done,
)

SIZE = (100, 30)
MODELS = json_script(200, {"object": "list", "data": [{"id": "glm-4.7", "object": "model"}]})
REASONING = ["The user asks about ", "[bold red]tea[/] and ", "\x1b]52;c;aGk=\x07 ",
             "brewing times. Let me recall: green tea at 80 degrees."]
REASONING_TEXT = "".join(REASONING)
ANSWER = ["Steep green tea ", "for two minutes ", "at 80 °C."]


def chunk(**delta: Any) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "glm-4.7",
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def final(reason: str = "stop", usage: dict[str, Any] | None = None) -> dict[str, Any]:
    done = {**chunk(), "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}
    if usage is not None:
        done["usage"] = usage
    return done


def thinking_reply(gate: Gate | None = None, *, answer: list[str] = ANSWER,
                   usage: dict[str, Any] | None = None) -> Script:
    """Reasoning deltas, then (once ``gate`` opens) the answer."""
    head = sse(chunk(role="assistant"), *(chunk(reasoning_content=r) for r in REASONING),
               done=False)
    tail = sse(*(chunk(content=a) for a in answer), final(usage=usage))
    body: list[Any] = [*head, *([gate] if gate is not None else []), *tail]
    return Script(body=body)


def screen_text(app: GlmTuiApp) -> str:
    return "\n".join(strip.text.rstrip() for strip in app.screen._compositor.render_strips())


def block_of(screen: ConversationScreen) -> ThinkingBlock:
    reply = last_reply(screen)
    assert reply is not None
    view = screen.messages.get_view(reply)
    assert isinstance(view, AssistantMessageView) and view.thinking is not None
    return view.thinking


async def start(pilot: Pilot[Any], raw: RawServer) -> ConversationScreen:
    screen = await ready(pilot)
    await wait_for(pilot, lambda: len(raw.requests) >= 1, what="the models check")
    return screen


async def test_reasoning_streams_live_then_folds_to_one_line_when_the_answer_starts() -> None:
    gate = Gate()
    with RawServer() as raw:
        raw.add(MODELS, thinking_reply(gate))
        app = make_app(raw.base_url, kind=ServerKind.ZHIPU)
        async with app.run_test(size=SIZE) as pilot:
            screen = await start(pilot, raw)
            await send(pilot, "How long do I steep tea?")
            await wait_for(pilot, lambda: "Let me recall" in screen_text(app),
                           what="the reasoning on screen while the answer is held back")
            text = screen_text(app)
            assert "Thinking…" in text
            assert "Steep green tea" not in text
            reply = last_reply(screen)
            assert reply is not None and reply.content == ""
            # Markup and escape sequences in the reasoning are drawn as the model wrote them.
            assert "[bold red]tea[/]" in text
            assert "\x1b" not in text
            gate.opened.set()
            reply = await wait_reply_done(pilot)
            await wait_for(pilot, lambda: "at 80 °C." in screen_text(app), what="the answer")
            await wait_for(pilot, lambda: "Let me recall" not in screen_text(app),
                           what="the reasoning folded away")
            assert "▸ Thought for" in screen_text(app)
            assert reply.content == "".join(ANSWER)
            assert reply.reasoning == REASONING_TEXT


async def test_the_key_and_a_click_open_and_fold_the_reasoning() -> None:
    with RawServer() as raw:
        raw.add(MODELS, thinking_reply())
        app = make_app(raw.base_url, kind=ServerKind.ZHIPU)
        async with app.run_test(size=SIZE) as pilot:
            screen = await start(pilot, raw)
            await send(pilot, "How long do I steep tea?")
            await wait_reply_done(pilot)
            block = block_of(screen)
            await wait_for(pilot, lambda: not block.expanded, what="folded after the answer")
            await pilot.press("ctrl+l")
            await wait_for(pilot, lambda: "Let me recall" in screen_text(app),
                           what="the reasoning opened by the key")
            assert "▾ Thought for" in screen_text(app)
            await pilot.press("ctrl+l")
            await wait_for(pilot, lambda: "Let me recall" not in screen_text(app),
                           what="folded again by the key")
            await click(pilot, "ThinkingSummary")
            await wait_for(pilot, lambda: "Let me recall" in screen_text(app),
                           what="opened by a click")
            await click(pilot, "ThinkingSummary")
            await wait_for(pilot, lambda: "Let me recall" not in screen_text(app),
                           what="folded by a click")


async def test_a_cancelled_reply_keeps_its_reasoning_on_screen() -> None:
    gate = Gate()
    with RawServer() as raw:
        raw.add(MODELS, thinking_reply(gate))
        app = make_app(raw.base_url, kind=ServerKind.ZHIPU)
        async with app.run_test(size=SIZE) as pilot:
            await start(pilot, raw)
            await send(pilot, "How long do I steep tea?")
            await wait_for(pilot, lambda: "Let me recall" in screen_text(app),
                           what="the reasoning")
            await pilot.press("escape")
            reply = await wait_reply_done(pilot)
            assert reply.status is MessageStatus.CANCELLED
            assert reply.reasoning == REASONING_TEXT
            await wait_for(pilot, lambda: "Thinking stopped (cancelled)" in screen_text(app),
                           what="the one line saying it stopped")
            assert "Let me recall" in screen_text(app)
            gate.opened.set()


async def test_a_reply_that_was_all_thinking_says_so() -> None:
    with RawServer() as raw:
        raw.add(MODELS, thinking_reply(answer=[]))
        app = make_app(raw.base_url, kind=ServerKind.ZHIPU)
        async with app.run_test(size=SIZE) as pilot:
            await start(pilot, raw)
            await send(pilot, "How long do I steep tea?")
            reply = await wait_reply_done(pilot)
            assert reply.content == "" and reply.reasoning == REASONING_TEXT
            await wait_for(pilot, lambda: "the reply was all thinking" in screen_text(app),
                           what="the words for a reply that was all thinking")
            assert "Let me recall" in screen_text(app)  # the reasoning stays open


async def test_the_status_bar_counts_reasoning_tokens_apart() -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52,
             "completion_tokens_details": {"reasoning_tokens": 31}}
    with RawServer() as raw:
        raw.add(MODELS, thinking_reply(usage=usage))
        app = make_app(raw.base_url, kind=ServerKind.ZHIPU)
        async with app.run_test(size=SIZE) as pilot:
            screen = await start(pilot, raw)
            await send(pilot, "How long do I steep tea?")
            await wait_reply_done(pilot)
            await wait_for(pilot, lambda: "31 thinking" in screen.status.plain,
                           what="the server's reasoning count in the status bar")
            assert "12→40 tok" in screen.status.plain
            assert "31 tokens" in block_of(screen).summary


async def test_reasoning_comes_back_folded_on_resume(tmp_path: Path) -> None:
    with RawServer() as raw:
        raw.add(MODELS, thinking_reply(), MODELS)
        app = make_app(raw.base_url, kind=ServerKind.ZHIPU)
        async with app.run_test(size=SIZE) as pilot:
            await start(pilot, raw)
            await send(pilot, "How long do I steep tea?")
            await wait_reply_done(pilot)
        resumed = make_app(raw.base_url, kind=ServerKind.ZHIPU, resume="last")
        async with resumed.run_test(size=SIZE) as pilot:
            screen = await ready(pilot)
            await wait_for(pilot, lambda: "at 80 °C." in screen_text(resumed),
                           what="the stored answer")
            block = block_of(screen)
            assert not block.expanded
            assert "▸ Thought for" in screen_text(resumed)
            assert "Let me recall" not in screen_text(resumed)
            await pilot.press("ctrl+l")
            await wait_for(pilot, lambda: "Let me recall" in screen_text(resumed),
                           what="the stored reasoning, opened")
            assert "[bold red]tea[/]" in screen_text(resumed)




# -- against the demo server's thinking models (real HTTP, every shape) -----------------------


def thinking_app(url: str, kind: ServerKind, **kwargs: Any) -> GlmTuiApp:
    """The app on a demo server, talking to its thinking model ``glm-4.6``."""
    settings = settings_for(url, kind=kind, **kwargs)
    profile = replace(settings.profile, model="glm-4.6")
    return GlmTuiApp(replace(settings, servers={**settings.servers, profile.name: profile}))


@pytest.mark.parametrize("fixture, kind", [
    ("openai_server", ServerKind.OPENAI),  # reasoning_content
    ("vllm_server", ServerKind.VLLM),  # reasoning
    ("inline_server", ServerKind.VLLM),  # <think> in the content
])
async def test_every_shape_of_a_demo_thinking_reply_is_drawn_apart(
        request: pytest.FixtureRequest, fixture: str, kind: ServerKind) -> None:
    url = request.getfixturevalue(fixture)
    app = thinking_app(url, kind)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await send(pilot, "Why is the sky blue?")
        reply = await wait_reply_done(pilot)
        assert reply.reasoning.startswith("The user asks:")
        assert "<think>" not in reply.content and "The user asks:" not in reply.content
        block = block_of(screen)
        await wait_for(pilot, lambda: "▸ Thought for" in screen_text(app)
                       and "Why is the sky blue?" in screen_text(app), what="folded, answered")
        assert "I am the demo model" not in screen_text(app)
        assert not block.expanded


async def test_a_reply_that_starts_mid_thought_moves_its_text_out_of_the_answer(
        inline_server: str) -> None:
    app = thinking_app(inline_server, ServerKind.VLLM)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await send(pilot, "[[demo:think=unopened]] Why is the sky blue?")
        reply = await wait_reply_done(pilot)
        assert reply.reasoning.startswith("The user asks:") and "</think>" not in reply.content
        view = screen.messages.get_view(reply)
        assert isinstance(view, AssistantMessageView)
        await wait_for(pilot, lambda: "I am the demo model" not in view.markdown.text
                       and view.markdown.text == reply.content, what="the answer alone")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: "I am the demo model" in screen_text(app),
                       what="the moved text in the reasoning")


async def test_hide_draws_one_line_only_until_asked(config_path: Path) -> None:
    config_path.write_text('thinking_display = "hide"\n', encoding="utf-8")
    gate = Gate()
    with RawServer() as raw:
        raw.add(MODELS, thinking_reply(gate))
        app = make_app(raw.base_url, kind=ServerKind.ZHIPU)
        async with app.run_test(size=SIZE) as pilot:
            screen = await start(pilot, raw)
            await send(pilot, "How long do I steep tea?")
            await wait_for(pilot, lambda: "▸ Thinking…" in screen_text(app)
                           and "[thinking…]" in screen_text(app), what="the live line only")
            assert block_of(screen).body is None  # the reasoning is not drawn at all
            assert "Let me recall" not in screen_text(app)
            gate.opened.set()
            await wait_reply_done(pilot)
            await wait_for(pilot, lambda: "▸ Thought for" in screen_text(app)
                           and "at 80 °C." in screen_text(app), what="the line and the answer")
            assert "Let me recall" not in screen_text(app)
            await pilot.press("ctrl+l")
            await wait_for(pilot, lambda: "Let me recall" in screen_text(app),
                           what="the reasoning, asked for")


async def test_show_keeps_the_reasoning_open_after_the_answer(openai_server: str,
                                                              config_path: Path) -> None:
    config_path.write_text('thinking_display = "show"\n', encoding="utf-8")
    app = thinking_app(openai_server, ServerKind.OPENAI)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await send(pilot, "Why is the sky blue?")
        await wait_reply_done(pilot)
        await wait_for(pilot, lambda: "I am the demo model" in screen_text(app)
                       and "▾ Thought for" in screen_text(app), what="open after the answer")


async def test_a_megabyte_of_reasoning_streams_and_folds(openai_server: str) -> None:
    app = thinking_app(openai_server, ServerKind.OPENAI)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await send(pilot, "[[demo:rate=0]] [[demo:reasoning=1048576]] [[demo:say=Done.]]")
        reply = await wait_reply_done(pilot)
        assert len(reply.reasoning) == 1_048_576 and reply.content == "Done."
        await wait_for(pilot, lambda: "Done." in screen_text(app)
                       and "▸ Thought for" in screen_text(app), what="the answer, folded")
        await pilot.press("ctrl+l")
        block = block_of(screen)
        await wait_for(pilot, lambda: block.body is not None and block.body.undrawn == 0
                       and "answering." in screen_text(app), timeout=60,
                       what="the end of a megabyte of reasoning, opened")


async def test_reasoning_after_the_answer_started_joins_the_folded_block() -> None:
    script = Script(body=sse(chunk(reasoning_content="First thought. "),
                             chunk(content="The answer "),
                             chunk(reasoning_content="A late thought."),
                             chunk(content="goes on."), final()))
    with RawServer() as raw:
        raw.add(MODELS, script)
        app = make_app(raw.base_url, kind=ServerKind.ZHIPU)
        async with app.run_test(size=SIZE) as pilot:
            screen = await start(pilot, raw)
            await send(pilot, "Go")
            reply = await wait_reply_done(pilot)
            assert reply.content == "The answer goes on."
            assert reply.reasoning == "First thought. A late thought."
            await wait_for(pilot, lambda: "The answer goes on." in screen_text(app),
                           what="the answer, whole")
            assert "A late thought" not in screen_text(app)  # folded with the rest
            assert block_of(screen).text == reply.reasoning
            await pilot.press("ctrl+l")
            await wait_for(pilot, lambda: "First thought. A late thought." in screen_text(app),
                           what="all the reasoning in the block")


async def test_reasoning_of_megabytes_in_one_piece_is_drawn_plain_past_the_cap() -> None:
    """A server that sends 3 MB of reasoning in ONE chunk: the open block formats the first
    256 KB and draws the rest plain under a note, as an answer's (before, the block formatted
    all of it, 10 MB for half a minute, keys waiting). The end is on screen soon, a key typed
    meanwhile lands, folding drops the drawing, opening again cuts where it was, and the
    stored reasoning is what the server sent."""
    thought = "".join(f"Step {n}: weigh **option {n}** against `the rest`.\n\n"
                      for n in range(60_000)) + "LASTTHOUGHT"
    assert len(thought) > 3_000_000
    gate = Gate()
    body = [*sse(chunk(role="assistant"), chunk(reasoning_content=thought), done=False), gate,
            *sse(chunk(content="Option 7."), final())]
    with RawServer() as raw:
        raw.add(MODELS, Script(body=body))
        app = make_app(raw.base_url, kind=ServerKind.ZHIPU)
        async with app.run_test(size=SIZE) as pilot:
            screen = await start(pilot, raw)
            await send(pilot, "Which option?")
            await pilot.press("x")  # typed while the reasoning arrives and is drawn
            await wait_for(pilot, lambda: "LASTTHOUGHT" in screen_text(app), timeout=20,
                           what="the reasoning's end on screen (the view follows it)")
            await wait_for(pilot, lambda: screen.prompt.text == "x", what="the key typed")
            block = block_of(screen)
            [plain] = block.query_children(HugeText)
            [note] = block.query_children(HugeNote)
            assert "The rest of this reasoning is shown as plain text" in str(note.render())
            assert block.body is not None
            assert len(block.body.text) + len(plain.text) == len(thought)
            assert thought.endswith(plain.text) and len(block.body.text) < 300_000
            gate.opened.set()
            reply = await wait_reply_done(pilot)
            await wait_for(pilot, lambda: "Option 7." in screen_text(app)
                           and not block.query_children(HugeText), what="folded, dropped")
            assert reply.reasoning == thought
            await pilot.press("ctrl+l")
            await wait_for(pilot, lambda: len(block.query_children(HugeText)) == 1,
                           what="opened again")
            assert block.query_children(HugeText).first().text == plain.text
            screen.recorder.flush()
            store = screen.recorder.store
            assert store is not None
            assert store.load_session(screen.session.id).messages[-1].reasoning == thought
