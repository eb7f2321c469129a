"""Thinking replies against the demo server over real HTTP: every shape, the switch, send-back.

Each test runs the one chat turn (prepare_turn / Turn.run) with a real ChatClient on loopback,
and reads what was sent from the demo server's request log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from glm_tui.chat.tools import WEATHER_TOOL
from glm_tui.chat.turn import ChatSource, Link, Turn, TurnOutcome, prepare_turn
from glm_tui.client.client import ChatClient
from glm_tui.model.sampling import SamplingParams, Thinking
from glm_tui.model.server_kind import ServerKind, detect_kind
from glm_tui.model.session import Message, MessageStatus, Role, Session

SHAPES = [("openai_server", ServerKind.ZHIPU), ("vllm_server", ServerKind.VLLM),
          ("inline_server", ServerKind.VLLM)]


class Quiet:
    """A TurnView that keeps what it was handed."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.thoughts: list[str] = []
        self.text = self.texts.append
        self.reasoning = self.thoughts.append

    def answer_was_reasoning(self, text: str) -> None:
        self.texts.clear()
        self.thoughts.insert(0, text)

    def state(self) -> None: ...
    def link(self, state: Link, detail: str) -> None: ...
    def stats(self, *_: object) -> None: ...
    def save(self) -> None: ...
    def finished(self, outcome: TurnOutcome) -> None: ...


def chat_bodies(log: Path) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return [e["body"] for e in entries if e["path"].endswith("/chat/completions")]


async def reply_to(session: Session, url: str, kind: ServerKind) -> tuple[Message, Quiet]:
    """Run one turn; the reply is appended to the session, as the app does."""
    client = ChatClient(url, "EMPTY", connect_timeout=10, read_timeout=60)
    turn = Turn(prepare_turn(session, kind), Message(Role.ASSISTANT), save_interval=1.0)

    async def connect() -> ChatSource:
        return client

    view = Quiet()
    try:
        outcome = await turn.run(connect, view)
    finally:
        await client.aclose()
    session.messages.append(outcome.reply)
    return outcome.reply, view


def ask(question: str, **fields: Any) -> Session:
    return Session(model="glm-5", messages=[Message(Role.USER, question)], **fields)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize(("server", "kind"), SHAPES, ids=["reasoning_content", "reasoning",
                                                          "inline"])
async def test_every_shape_keeps_reasoning_and_answer_apart(
        server: str, kind: ServerKind, stream: bool, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(server)
    reply, view = await reply_to(ask("Why is the sky blue?", stream=stream), url, kind)
    assert reply.status is MessageStatus.COMPLETE
    assert reply.reasoning.startswith("The user asks: “Why is the sky blue?”")
    assert reply.content.startswith("You asked: “Why is the sky blue?”")
    for text in (reply.content, reply.reasoning):
        assert "<think>" not in text and "</think>" not in text
    assert "You asked" not in reply.reasoning and "I think first" not in reply.content
    if stream:  # the view got each apart, as it arrived
        assert "".join(view.thoughts) == reply.reasoning
        assert "".join(view.texts) == reply.content


@pytest.mark.parametrize(("server", "kind"), SHAPES, ids=["reasoning_content", "reasoning",
                                                          "inline"])
async def test_thinking_then_a_tool_call_then_an_answer(
        server: str, kind: ServerKind, request: pytest.FixtureRequest,
        request_log: Path) -> None:
    url = request.getfixturevalue(server)
    session = ask("What is the weather in Paris?", tools=[WEATHER_TOOL], tool_choice="auto")
    call_reply, _ = await reply_to(session, url, kind)
    [call] = call_reply.tool_calls
    assert call.name == "get_current_weather" and "Paris" in call.arguments
    assert call_reply.reasoning.startswith("The question needs the tool get_current_weather")
    assert call_reply.content == ""
    session.messages.append(Message(Role.TOOL, '{"temperature": 21, "sky": "clear"}',
                                    tool_call_id=call.id, name=call.name))
    answer, _ = await reply_to(session, url, kind)
    assert answer.reasoning.startswith("The tool has answered.")
    assert "21" in answer.content

    # The reply that called the tool goes back with its reasoning, with the tool result.
    sent = chat_bodies(request_log)[1]["messages"]
    calling = next(m for m in sent if m.get("tool_calls"))
    assert calling["reasoning_content"] == call_reply.reasoning

    # The next question: earlier turns' reasoning is not sent again...
    session.messages.append(Message(Role.USER, "And in Rome?"))
    await reply_to(session, url, kind)
    third = chat_bodies(request_log)[2]["messages"]
    assert not [m for m in third if "reasoning_content" in m]
    # ...unless the session preserves thinking: then all of it is.
    session.preserve_thinking = True
    session.messages.append(Message(Role.USER, "And in Oslo?"))
    await reply_to(session, url, kind)
    fourth = chat_bodies(request_log)[3]["messages"]
    assert [m["reasoning_content"] for m in fourth if "reasoning_content" in m] == [
        m.reasoning for m in session.messages[:-2] if m.reasoning]


@pytest.mark.parametrize("switch", [Thinking.ON, Thinking.OFF, None])
@pytest.mark.parametrize(("server", "kind", "field"), [
    ("openai_server", ServerKind.ZHIPU, "thinking"),
    ("vllm_server", ServerKind.VLLM, "chat_template_kwargs"),
    ("inline_server", ServerKind.VLLM, "chat_template_kwargs"),
], ids=["zhipu", "vllm", "inline"])
async def test_the_switch_reaches_each_kind_in_its_own_field(
        server: str, kind: ServerKind, field: str, switch: Thinking | None,
        request: pytest.FixtureRequest, request_log: Path) -> None:
    url = request.getfixturevalue(server)
    session = ask("Hello", sampling=SamplingParams(thinking=switch))
    reply, _ = await reply_to(session, url, kind)
    [body] = chat_bodies(request_log)
    expected = {
        None: None,
        Thinking.ON: {"type": "enabled"} if field == "thinking" else {"enable_thinking": True},
        Thinking.OFF: {"type": "disabled"} if field == "thinking" else {"enable_thinking": False},
    }[switch]
    assert body.get(field) == expected
    other = "chat_template_kwargs" if field == "thinking" else "thinking"
    assert other not in body
    # The server honours it: off means no reasoning at all, and the answer as usual.
    assert bool(reply.reasoning) is (switch is not Thinking.OFF)
    assert reply.content.startswith("You asked: “Hello”")


async def test_an_unknown_server_gets_no_guess_and_the_person_is_told(
        openai_server: str, request_log: Path) -> None:
    session = ask("Hello", sampling=SamplingParams(thinking=Thinking.OFF))
    prepared = prepare_turn(session, ServerKind.GENERIC)
    [note] = prepared.notes
    assert "thinking switch (off) is not sent" in note and 'kind = "vllm"' in note
    reply, _ = await reply_to(session, openai_server, ServerKind.GENERIC)
    [body] = chat_bodies(request_log)
    assert "thinking" not in body and "chat_template_kwargs" not in body
    assert reply.reasoning  # the server's default: it thought


async def test_vllm_is_told_apart_by_its_model_list(vllm_server: str,
                                                    openai_server: str) -> None:
    for url, kind in ((vllm_server, ServerKind.VLLM), (openai_server, ServerKind.GENERIC)):
        async with ChatClient(url, "EMPTY") as client:
            models = await client.list_models()
            assert "glm-5" in models
            assert detect_kind(models, url, owners=client.model_owners) is kind


async def test_a_limit_reached_while_thinking_leaves_an_all_thinking_reply(
        inline_server: str) -> None:
    session = ask("Tell me everything", sampling=SamplingParams(max_tokens=5))
    reply, view = await reply_to(session, inline_server, ServerKind.VLLM)
    assert reply.all_thinking and reply.content == "" and view.texts == []
    assert reply.reasoning == "The user asks:"  # 5 tokens: <think> and 4, never closed


async def test_a_reply_that_starts_mid_thought(inline_server: str) -> None:
    reply, view = await reply_to(ask("Hi [[demo:think=unopened]]"), inline_server,
                                 ServerKind.VLLM)
    assert reply.reasoning.startswith("The user asks: “Hi”")
    assert reply.content.startswith("You asked: “Hi”")
    assert "".join(view.texts) == reply.content  # the view was told to move the early text
    assert "".join(view.thoughts) == reply.reasoning
