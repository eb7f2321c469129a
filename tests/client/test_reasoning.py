"""Reasoning against a byte-exact scripted server: every shape a thinking model's reply takes.

The reasoning must arrive as :class:`ReasoningDelta` and never in the answer's
:class:`TextDelta` (nor the answer in the reasoning), whichever way the server sends it: beside
the content (``reasoning_content`` / ``reasoning``, streamed or whole) or inline as
``<think>...</think>`` in the content, with tags cut anywhere by chunk boundaries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from glm_tui.client.client import ChatClient
from glm_tui.client.events import (
    AnswerWasReasoning,
    ChatEvent,
    Finished,
    ReasoningDelta,
    StreamError,
    TextDelta,
    UsageReport,
)
from tests.client.test_client import chunk, collect, request
from tests.support.raw_server import RawServer, Script, json_script, sse, stream_script


@pytest.fixture
def server() -> Iterator[RawServer]:
    with RawServer() as raw:
        yield raw


@pytest.fixture
async def client(server: RawServer) -> AsyncIterator[ChatClient]:
    chat_client = ChatClient(server.base_url, "sk-test", read_timeout=10.0)
    yield chat_client
    await chat_client.aclose()


def answer_of(events: list[ChatEvent]) -> str:
    """The answer as a consumer that follows the events builds it (moves included)."""
    text = ""
    for event in events:
        if isinstance(event, TextDelta):
            text += event.text
        elif isinstance(event, AnswerWasReasoning):
            text = ""
    return text


def reasoning_of(events: list[ChatEvent]) -> str:
    text = ""
    for event in events:
        if isinstance(event, ReasoningDelta):
            text += event.text
        elif isinstance(event, AnswerWasReasoning):
            text = event.text + text
    return text


def finished(events: list[ChatEvent]) -> Finished:
    end = events[-1]
    assert isinstance(end, Finished), end
    return end


def content_chunks(*pieces: str) -> list[dict[str, Any]]:
    return [*(chunk({"content": piece}) for piece in pieces), chunk({}, finish="stop")]


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_reasoning_beside_the_content_streams_as_its_own_events(
        server: RawServer, client: ChatClient, field: str) -> None:
    server.add(stream_script([
        chunk({"role": "assistant"}),
        chunk({field: "The user says hi. "}),
        chunk({field: "Answer briefly.", "content": None}),
        chunk({"content": "Hello!"}),
        chunk({}, finish="stop"),
    ]))
    events = await collect(client)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["Connected", "ReasoningDelta", "ReasoningDelta", "TextDelta",
                     "UsageReport", "Finished"]
    assert reasoning_of(events) == "The user says hi. Answer briefly."
    assert answer_of(events) == "Hello!"
    end = finished(events)
    assert (end.text, end.reasoning) == ("Hello!", "The user says hi. Answer briefly.")


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_a_whole_message_keeps_its_reasoning_apart(
        server: RawServer, client: ChatClient, field: str) -> None:
    server.add(json_script(200, {
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "42",
                                 field: "Six times seven."}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 9,
                  "completion_tokens_details": {"reasoning_tokens": 4}},
    }))
    events = await collect(client, request(stream=False))
    end = finished(events)
    assert (end.text, end.reasoning) == ("42", "Six times seven.")
    usage = next(e for e in events if isinstance(e, UsageReport))
    assert (usage.completion_tokens, usage.reasoning_tokens, usage.estimated) == (9, 4, False)


async def test_both_fields_in_one_chunk_same_text_is_taken_once(
        server: RawServer, client: ChatClient) -> None:
    server.add(stream_script([
        chunk({"reasoning_content": "Think once. ", "reasoning": "Think once. "}),
        chunk({"reasoning_content": "A", "reasoning": "B", "content": "Done."}),
        chunk({}, finish="stop"),
    ]))
    events = await collect(client)
    assert reasoning_of(events) == "Think once. AB"
    assert answer_of(events) == "Done."


async def test_reasoning_after_the_answer_started_stays_reasoning(
        server: RawServer, client: ChatClient) -> None:
    server.add(stream_script([
        chunk({"reasoning": "First thought."}),
        chunk({"content": "The answer"}),
        chunk({"reasoning": " A late thought."}),
        chunk({"content": " goes on."}),
        chunk({}, finish="stop"),
    ]))
    events = await collect(client)
    end = finished(events)
    assert end.text == "The answer goes on."
    assert end.reasoning == "First thought. A late thought."


async def test_inline_think_tags_are_split_out(server: RawServer, client: ChatClient) -> None:
    server.add(stream_script(content_chunks(
        "<think>", "Let me think", " about it.", "</think>", "\n\nIt is ", "blue.")))
    events = await collect(client)
    assert reasoning_of(events) == "Let me think about it."
    assert answer_of(events) == "It is blue."
    end = finished(events)
    assert (end.text, end.reasoning) == ("It is blue.", "Let me think about it.")


async def test_inline_tags_split_at_every_point_never_leak(
        server: RawServer, client: ChatClient) -> None:
    whole = "  <think>a < b, so </thin is not a tag</think>\n\nThe answer: a<b </think>"
    for cut in range(1, len(whole)):
        server.add(stream_script(content_chunks(whole[:cut], whole[cut:])))
        events = await collect(client)
        assert reasoning_of(events) == "a < b, so </thin is not a tag", cut
        assert answer_of(events) == "The answer: a<b </think>", cut
        assert finished(events).text == "The answer: a<b </think>", cut


async def test_a_stream_that_starts_mid_thought_moves_its_text_to_reasoning(
        server: RawServer, client: ChatClient) -> None:
    server.add(stream_script(content_chunks(
        "The user wants", " a colour.", "</th", "ink>", "Blue.")))
    events = await collect(client)
    moved = [e for e in events if isinstance(e, AnswerWasReasoning)]
    assert moved == [AnswerWasReasoning("The user wants a colour.")]
    assert reasoning_of(events) == "The user wants a colour."
    assert answer_of(events) == "Blue."
    end = finished(events)
    assert (end.text, end.reasoning) == ("Blue.", "The user wants a colour.")


async def test_think_never_closed_the_whole_reply_was_thinking(
        server: RawServer, client: ChatClient) -> None:
    server.add(stream_script(content_chunks("<think>Still ", "thinking when the limit came")))
    events = await collect(client)
    assert not any(isinstance(e, TextDelta) for e in events)
    end = finished(events)
    assert (end.text, end.reasoning) == ("", "Still thinking when the limit came")


async def test_a_later_think_tag_is_answer_text(server: RawServer, client: ChatClient) -> None:
    server.add(stream_script(content_chunks("Use ", "<think> tags like this.")))
    events = await collect(client)
    assert reasoning_of(events) == ""
    assert answer_of(events) == "Use <think> tags like this."


async def test_a_parsed_reasoning_field_makes_the_content_literal(
        server: RawServer, client: ChatClient) -> None:
    server.add(stream_script([
        chunk({"reasoning_content": "Parsed by the server."}),
        chunk({"content": "Literal </think> in the answer."}),
        chunk({}, finish="stop"),
    ]))
    events = await collect(client)
    assert reasoning_of(events) == "Parsed by the server."
    assert answer_of(events) == "Literal </think> in the answer."


async def test_markup_and_escapes_in_reasoning_are_kept_literally(
        server: RawServer, client: ChatClient) -> None:
    nasty = "[bold red]x[/] \x1b]52;c;SGVsbG8=\x07 \x1b[2J $(rm -rf) <b>"
    server.add(stream_script([chunk({"reasoning_content": nasty}), chunk({"content": "ok"}),
                              chunk({}, finish="stop")]))
    events = await collect(client)
    assert finished(events).reasoning == nasty


async def test_a_megabyte_of_reasoning_arrives_whole_and_paced(
        server: RawServer, client: ChatClient) -> None:
    thought = ("Consider the next step carefully. " * 32_000)[:1_000_000]
    pieces = [thought[i:i + 250_000] for i in range(0, len(thought), 250_000)]
    server.add(stream_script([*(chunk({"reasoning_content": p}) for p in pieces),
                              chunk({"content": "Done."}), chunk({}, finish="stop")]))
    events = await collect(client)
    deltas = [e for e in events if isinstance(e, ReasoningDelta)]
    assert max(len(e.text) for e in deltas) <= 16_384  # handed on in pieces, the loop free
    assert reasoning_of(events) == thought
    assert finished(events).text == "Done."


async def test_a_broken_stream_keeps_its_reasoning(server: RawServer, client: ChatClient) -> None:
    body = sse(chunk({"content": "<think>Half a thought"}), done=False)
    server.add(Script(body=body, ending="close"))
    events = await collect(client)
    failure = events[-1]
    assert isinstance(failure, StreamError)
    assert (failure.text, failure.reasoning) == ("", "Half a thought")
