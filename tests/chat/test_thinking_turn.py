"""A thinking reply through one turn: the view is told the reasoning apart, the reply keeps it.

Scripted client events (the sequences the client emits for reasoning) go through the same
:class:`Turn` as the app and ``ask``, with a fake clock, so the timing figures are exact.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from glm_tui.chat.turn import ALL_THINKING, ChatSource, Link, Turn, prepare_turn
from glm_tui.client.events import (
    AnswerWasReasoning,
    ChatEvent,
    Connected,
    Finished,
    ReasoningDelta,
    TextDelta,
    UsageReport,
)
from glm_tui.client.tokens import estimate_tokens
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Message, MessageStatus, Role
from tests.chat.test_turn import FakeClock, Recorder, Script, question, run


async def test_reasoning_reaches_the_view_apart_from_the_answer_and_is_kept() -> None:
    clock = FakeClock()
    events: list[ChatEvent] = [
        Connected(), ReasoningDelta("Think"), ReasoningDelta(""), ReasoningDelta("ing."),
        TextDelta("Answer"), UsageReport(3, 9, estimated=False, reasoning_tokens=6),
        Finished("stop", "Answer", reasoning="Thinking."),
    ]
    turn, view = await run(question(), Script(events, clock, step=0.5), clock=clock)
    assert view.thoughts == ["Think", "ing."] and view.texts == ["Answer"]
    # The link is "streaming" from the first reasoning, once.
    assert view.kinds("link") == [(Link.WAITING, ""), (Link.STREAMING, "")]
    outcome = turn.outcome
    assert outcome is not None
    reply = outcome.reply
    assert (reply.content, reply.reasoning) == ("Answer", "Thinking.")
    assert reply.reasoning_seconds == pytest.approx(1.0)  # two pieces, two steps of 0.5 s apart
    assert outcome.stats is not None
    assert (outcome.stats.reasoning_tokens, outcome.stats.reasoning_estimated) == (6, False)
    assert reply.usage is not None and reply.usage.reasoning_tokens == 6
    assert not outcome.all_thinking


async def test_without_the_servers_figure_the_reasoning_is_counted() -> None:
    thought = "Let me count the words in this sentence carefully."
    events: list[ChatEvent] = [ReasoningDelta(thought), TextDelta("Nine."),
                               Finished("stop", "Nine.", reasoning=thought)]
    turn, _ = await run(question(), Script(events))
    assert turn.outcome is not None and turn.outcome.stats is not None
    stats = turn.outcome.stats
    assert (stats.reasoning_tokens, stats.reasoning_estimated) == (estimate_tokens(thought), True)
    usage = turn.outcome.reply.usage
    assert usage is not None and usage.reasoning_tokens == estimate_tokens(thought)


async def test_an_answer_that_was_reasoning_is_moved_and_the_view_is_told() -> None:
    events: list[ChatEvent] = [
        TextDelta("Hmm, the user "), TextDelta("asks."), AnswerWasReasoning("Hmm, the user asks."),
        TextDelta("Yes."), Finished("stop", "Yes.", reasoning="Hmm, the user asks."),
    ]
    turn, view = await run(question(), Script(events))
    assert ("moved", "Hmm, the user asks.") in view.log
    assert view.texts == ["Yes."] and view.thoughts == ["Hmm, the user asks."]
    outcome = turn.outcome
    assert outcome is not None
    assert (outcome.reply.content, outcome.reply.reasoning) == ("Yes.", "Hmm, the user asks.")
    assert outcome.written == len("Yes.") and outcome.tail == ""


async def test_a_reply_that_is_only_thinking_says_so() -> None:
    events: list[ChatEvent] = [ReasoningDelta("Thinking and thinking"),
                               Finished("length", "", reasoning="Thinking and thinking")]
    turn, _ = await run(question(), Script(events))
    outcome = turn.outcome
    assert outcome is not None and outcome.all_thinking and outcome.reply.all_thinking
    assert outcome.reply.status is MessageStatus.COMPLETE
    assert "all thinking" in ALL_THINKING


async def test_autosave_sees_the_reasoning_as_it_grows() -> None:
    clock = FakeClock()
    saved: list[str] = []
    events: list[ChatEvent] = [ReasoningDelta(f"step {i}. ") for i in range(6)]
    events.append(Finished("stop", "", reasoning="".join(f"step {i}. " for i in range(6))))
    turn = Turn(prepare_turn(question(), ServerKind.GLM4), Message(Role.ASSISTANT),
                save_interval=1.0, clock=clock)
    view = Recorder()

    def save() -> None:
        saved.append(turn.reply.reasoning)

    view.save = save  # type: ignore[method-assign]

    async def connect() -> ChatSource:
        return Script(events, clock, step=0.6)

    await turn.run(connect, view)
    assert saved[0].startswith("step 0. step 1.") and len(saved) >= 2
    assert all(b.startswith(a) for a, b in itertools.pairwise(saved))


async def test_cancelling_while_thinking_keeps_the_reasoning() -> None:
    started = asyncio.Event()

    class Slow:
        async def chat(self, request: dict[str, Any]) -> AsyncGenerator[ChatEvent, None]:
            yield ReasoningDelta("half a ")
            yield ReasoningDelta("thought")
            started.set()
            await asyncio.sleep(3600)
            yield TextDelta("never")

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
    reply = view.outcome.reply
    assert reply.status is MessageStatus.CANCELLED
    assert (reply.content, reply.reasoning) == ("", "half a thought")
