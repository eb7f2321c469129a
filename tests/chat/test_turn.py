"""One turn, without a terminal: what is sent, and what a front end is told while it arrives.

Most tests feed scripted client events (the exact sequences the client emits) through a fake
clock, so the cadence of figures and saves is checked to the tick; the last ones run a real
ChatClient against the demo server on loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any

import pytest

from glm_tui.chat.reply_tracker import ReplyStats
from glm_tui.chat.tools import WEATHER_TOOL
from glm_tui.chat.turn import (
    STATS_INTERVAL_S,
    ChatSource,
    Link,
    Turn,
    TurnOutcome,
    prepare_turn,
)
from glm_tui.client.events import (
    ChatEvent,
    Connected,
    ErrorKind,
    Finished,
    StreamError,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)
from glm_tui.model.sampling import SamplingParams
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Message, MessageStatus, Role, Session, ToolCall


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Script:
    """A ChatSource replaying events; ``step`` advances the fake clock before each one."""

    def __init__(self, events: Sequence[ChatEvent], clock: FakeClock | None = None,
                 step: float = 0.0) -> None:
        self.events = events
        self.clock = clock
        self.step = step
        self.requests: list[dict[str, Any]] = []

    async def chat(self, request: dict[str, Any]) -> AsyncGenerator[ChatEvent, None]:
        self.requests.append(request)
        for event in self.events:
            if self.clock is not None:
                self.clock.now += self.step
            yield event


class Recorder:
    """A TurnView that writes down every update, in order."""

    def __init__(self) -> None:
        self.log: list[tuple[str, object]] = []
        self.texts: list[str] = []
        self.text = self.texts.append
        self.thoughts: list[str] = []
        self.reasoning = self.thoughts.append
        self.outcome: TurnOutcome | None = None

    def answer_was_reasoning(self, text: str) -> None:
        self.log.append(("moved", text))
        self.texts.clear()
        self.thoughts.insert(0, text)

    def state(self) -> None:
        self.log.append(("state", len(self.texts)))

    def link(self, state: Link, detail: str) -> None:
        self.log.append(("link", (state, detail)))

    def stats(self, stats: ReplyStats) -> None:
        self.log.append(("stats", stats.completion_tokens))

    def save(self) -> None:
        self.log.append(("save", len(self.texts)))

    def finished(self, outcome: TurnOutcome) -> None:
        self.log.append(("finished", outcome.reply.status))
        self.outcome = outcome

    def kinds(self, name: str) -> list[object]:
        return [value for kind, value in self.log if kind == name]


def question(text: str = "Hi", **fields: Any) -> Session:
    session = Session(model="glm-4", **fields)
    session.messages.append(Message(Role.USER, text))
    return session


async def run(session: Session, source: ChatSource, *, kind: ServerKind = ServerKind.GLM4,
              clock: FakeClock | None = None, save_interval: float = 0.5,
              base_url: str = "http://x/v1/") -> tuple[Turn, Recorder]:
    turn = Turn(prepare_turn(session, kind), Message(Role.ASSISTANT), save_interval=save_interval,
                base_url=base_url, clock=clock or FakeClock())

    async def connect() -> ChatSource:
        return source

    view = Recorder()
    await turn.run(connect, view)
    return turn, view


def finished(text: str, calls: tuple[ToolCall, ...] = ()) -> Finished:
    return Finished("tool_calls" if calls else "stop", text, calls)


# -- prepare ---------------------------------------------------------------------------------


def test_all_tools_on_glm4_are_not_streamed_and_the_person_is_told_why() -> None:
    session = question(tools=[{"type": "cogview"}], tool_choice="auto")
    prepared = prepare_turn(session, ServerKind.GLM4)
    assert prepared.stream is False and prepared.request["stream"] is False
    assert prepared.request["tools"] == [{"type": "cogview"}]
    [note] = prepared.notes
    assert "cogview" in note and "without streaming" in note
    elsewhere = prepare_turn(session, ServerKind.OPENAI)
    assert elsewhere.stream is True and elsewhere.notes == ()


def test_values_the_server_refuses_are_named_before_sending() -> None:
    session = question(sampling=SamplingParams(temperature=0.0, top_p=1.0))
    fields = [w.field for w in prepare_turn(session, ServerKind.ZHIPU).warnings]
    assert fields == ["temperature", "top_p"]
    assert prepare_turn(session, ServerKind.GLM4).warnings == ()


def test_the_request_follows_the_kind() -> None:
    session = question(system_prompt="Be brief.")
    assert prepare_turn(session, ServerKind.GLM4).request["messages"][0]["role"] == "system"
    folded = prepare_turn(session, ServerKind.GLM4V).request["messages"]
    assert folded == [{"role": "user", "content": "Be brief.\n\nHi"}]


# -- run -------------------------------------------------------------------------------------


async def test_every_text_delta_reaches_the_view_in_order_and_the_end_is_reported() -> None:
    deltas = ["Hel", "", "lo ", "wor", "ld"]
    events: list[ChatEvent] = [Connected(), *(TextDelta(d) for d in deltas),
                               UsageReport(3, 4, estimated=False), finished("Hello world")]
    turn, view = await run(question(), Script(events))
    assert view.texts == ["Hel", "lo ", "wor", "ld"]  # empty deltas change nothing
    assert view.kinds("link") == [(Link.WAITING, ""), (Link.STREAMING, "")]
    assert view.log[-1] == ("finished", MessageStatus.COMPLETE)
    outcome = turn.outcome
    assert outcome is not None and outcome is view.outcome
    assert outcome.reply.content == "Hello world" and outcome.tail == ""
    assert (outcome.link, outcome.error, outcome.written) == (Link.READY, None, 11)
    assert outcome.reply.usage is not None and outcome.reply.usage.completion_tokens == 4
    # "waiting…" turns to "streaming…" at the first text, not before.
    assert ("state", 1) in view.log


async def test_a_buffered_reply_hands_its_text_over_at_the_end() -> None:
    turn, view = await run(question(), Script([Connected(), finished("all at once")]))
    assert view.texts == []
    assert turn.outcome is not None and turn.outcome.tail == "all at once"


async def test_figures_and_saves_follow_the_cadence_of_the_clock() -> None:
    clock = FakeClock()
    step = 0.05
    events = [TextDelta("x")] * 60 + [finished("x" * 60)]
    turn = Turn(prepare_turn(question(), ServerKind.GLM4), Message(Role.ASSISTANT),
                save_interval=0.5, clock=clock)
    view = Recorder()
    times: dict[str, list[float]] = {"stats": [], "save": []}
    view.stats = lambda stats: times["stats"].append(clock.now)  # type: ignore[method-assign]
    view.save = lambda: times["save"].append(clock.now)  # type: ignore[method-assign]

    async def connect() -> ChatSource:
        return Script(events, clock, step=step)

    await turn.run(connect, view)
    for name, every in (("stats", STATS_INTERVAL_S), ("save", 0.5)):
        gaps = [b - a for a, b in zip(times[name], times[name][1:], strict=False)]
        assert len(times[name]) >= int(60 * step / (every + step)), name
        assert all(every - 1e-9 <= gap <= every + step + 1e-9 for gap in gaps), (name, gaps)


async def test_tool_call_fragments_are_drawn_with_the_figures_not_each_one() -> None:
    clock = FakeClock()
    call = ToolCall("call_1", "get_current_weather", '{"location": "Paris"}')
    fragments = [ToolCallDelta(0, "x", ToolCall("call_1", "get_current_weather", "{" * i))
                 for i in range(1, 21)]
    events: list[ChatEvent] = [Connected(), *fragments, finished("", (call,))]
    _, view = await run(question(), Script(events, clock, step=0.01), clock=clock)
    states = view.kinds("state")
    assert 1 <= len(states) <= 4  # 20 fragments in 0.2 s: about one redraw, plus the end
    assert view.outcome is not None and view.outcome.reply.tool_calls == [call]


async def test_glms_raw_call_text_is_adopted_as_the_call() -> None:
    raw = 'get_current_weather\n{"location": "Paris"}'
    turn, _ = await run(question(tools=[WEATHER_TOOL], tool_choice="auto"),
                        Script([TextDelta(raw), finished(raw)]))
    outcome = turn.outcome
    assert outcome is not None and outcome.adopted_note
    [call] = outcome.reply.tool_calls
    assert (call.name, call.arguments) == ("get_current_weather", '{"location": "Paris"}')
    assert outcome.reply.content == raw  # the text stays as the model wrote it
    plain, _ = await run(question(), Script([TextDelta(raw), finished(raw)]))
    assert plain.outcome is not None and not plain.outcome.reply.tool_calls


async def test_a_server_error_is_worded_once_and_sets_the_link() -> None:
    error = StreamError(ErrorKind.HTTP, "The server answered HTTP 500.", status=500,
                        server_detail="boom")
    turn, _ = await run(question(), Script([Connected(), error]))
    outcome = turn.outcome
    assert outcome is not None
    assert outcome.reply.status is MessageStatus.FAILED
    assert outcome.reply.error == "The server answered HTTP 500.\nServer said: boom"
    assert (outcome.link, outcome.link_detail) == (Link.ERROR, "HTTP 500")


async def test_nothing_listening_reports_the_url() -> None:
    error = StreamError(ErrorKind.UNREACHABLE, "Nothing answers.")
    turn, _ = await run(question(), Script([error]), base_url="http://127.0.0.1:9/v1/")
    assert turn.outcome is not None
    assert (turn.outcome.link, turn.outcome.link_detail) == (Link.UNREACHABLE,
                                                               "http://127.0.0.1:9/v1/")


async def test_cancelling_keeps_the_text_and_still_finishes() -> None:
    started = asyncio.Event()

    class Slow:
        async def chat(self, request: dict[str, Any]) -> AsyncGenerator[ChatEvent, None]:
            yield TextDelta("partial ")
            started.set()
            await asyncio.sleep(3600)
            yield finished("never")

    turn = Turn(prepare_turn(question(), ServerKind.GLM4), Message(Role.ASSISTANT),
                save_interval=0.5)
    view = Recorder()

    async def connect() -> ChatSource:
        return Slow()

    task = asyncio.create_task(turn.run(connect, view))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert view.outcome is not None
    assert view.outcome.reply.status is MessageStatus.CANCELLED
    assert view.outcome.reply.content == "partial "
    assert view.outcome.link is Link.READY


async def test_a_bug_of_glm_tuis_fails_the_reply_with_the_reason_and_is_raised() -> None:
    class Broken:
        async def chat(self, request: dict[str, Any]) -> AsyncGenerator[ChatEvent, None]:
            yield TextDelta("so far")
            raise RuntimeError("oops")

    turn = Turn(prepare_turn(question(), ServerKind.GLM4), Message(Role.ASSISTANT),
                save_interval=0.5)
    view = Recorder()

    async def connect() -> ChatSource:
        return Broken()

    with pytest.raises(RuntimeError):
        await turn.run(connect, view)
    outcome = view.outcome
    assert outcome is not None and outcome.internal_error
    assert outcome.reply.status is MessageStatus.FAILED
    assert "glm-tui failed while reading the reply: RuntimeError('oops')" in str(
        outcome.reply.error)
    assert (outcome.link, outcome.link_detail) == (Link.ERROR, "glm-tui error")


# -- against the demo server -----------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
async def test_a_real_turn_against_the_demo_server(glm4_server: str, request_log: Path,
                                                   stream: bool) -> None:
    import json

    from glm_tui.client.client import ChatClient

    client = ChatClient(glm4_server, "EMPTY", connect_timeout=10, read_timeout=60)
    session = question("What is the capital of France?", stream=stream)
    try:
        turn, view = await run(session, client, base_url=glm4_server)
    finally:
        await client.aclose()
    outcome = turn.outcome
    assert outcome is not None and outcome.reply.status is MessageStatus.COMPLETE
    assert "".join(view.texts) + outcome.tail == outcome.reply.content
    assert "capital of France" in outcome.reply.content
    [line] = request_log.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["body"] == turn.prepared.request
