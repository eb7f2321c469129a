"""The client's edge against careless and hostile servers (issue 13): nothing silent, no secrets.

Each case runs against the byte-exact scripted server on loopback.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from email.utils import formatdate
from typing import Any

import pytest

from glm_tui.client.client import ChatClient
from glm_tui.client.errors import REDACTED, redact_secrets, retry_after_seconds
from glm_tui.client.events import ChatEvent, Finished, StreamError, TextDelta
from tests.support.raw_server import RawServer, Script, json_script, sse

KEY = "sk-live-0123456789abcdef"


@pytest.fixture
def server() -> Iterator[RawServer]:
    with RawServer() as raw:
        yield raw


@pytest.fixture
async def client(server: RawServer) -> AsyncIterator[ChatClient]:
    chat_client = ChatClient(server.base_url, KEY, read_timeout=10.0)
    yield chat_client
    await chat_client.aclose()


REQUEST: dict[str, Any] = {"model": "glm-4", "stream": True,
                           "messages": [{"role": "user", "content": "hi"}]}


async def collect(chat_client: ChatClient) -> list[ChatEvent]:
    async with aclosing(chat_client.chat(REQUEST)) as events:
        return [event async for event in events]


def chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


async def test_invalid_json_frames_mid_stream_are_counted_not_silent(
    server: RawServer, client: ChatClient,
) -> None:
    body = sse(chunk("The answer "), b'{"choices": [{"delta": {"content": "is',
               chunk("42."), "}}}not json", chunk("", "stop"))
    server.add(Script(body=body))
    events = await collect(client)
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert finished.text == "The answer 42."
    assert finished.unreadable == 2


async def test_unreadable_count_survives_a_failure(server: RawServer, client: ChatClient) -> None:
    server.add(Script(body=sse(chunk("part"), "garbage", done=False), ending="close"))
    events = await collect(client)
    error = events[-1]
    assert isinstance(error, StreamError)
    assert (error.text, error.unreadable) == ("part", 1)


async def test_a_key_echoed_in_an_error_body_is_never_shown(
    server: RawServer, client: ChatClient,
) -> None:
    body = {"error": {"message": f"Invalid header 'Authorization: Bearer {KEY}' for {KEY}"}}
    server.add(json_script(401, body))
    events = await collect(client)
    error = events[-1]
    assert isinstance(error, StreamError)
    shown = f"{error.message}\n{error.server_detail}"
    assert KEY not in shown and REDACTED in shown
    assert "Invalid header" in shown  # the server's words stay, only the secret goes


async def test_a_bearer_token_of_another_key_is_redacted_mid_stream(
    server: RawServer, client: ChatClient,
) -> None:
    other = "bearer tok_ABCDEFGHIJKLMNOP"
    server.add(Script(body=sse(chunk("x"), {"error": {"message": f"bad auth: {other}"}})))
    events = await collect(client)
    error = events[-1]
    assert isinstance(error, StreamError)
    assert "tok_ABCDEFGHIJKLMNOP" not in f"{error.message}{error.server_detail}"
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["x"]


def test_short_placeholder_keys_and_plain_words_are_left_alone() -> None:
    assert redact_secrets("EMPTY is not a key", "EMPTY") == "EMPTY is not a key"
    assert redact_secrets("the bearer of bad news", None) == "the bearer of bad news"
    assert redact_secrets("Authorization: Bearer abc.def-ghi", None) == \
        f"Authorization: Bearer {REDACTED}"


@pytest.mark.parametrize("header", ["30", "date"])
async def test_429_says_when_to_retry(server: RawServer, client: ChatClient,
                                      header: str) -> None:
    value = "30" if header == "30" else formatdate(time.time() + 30, usegmt=True)
    server.add(Script(status=429, headers=(("Content-Type", "application/json"),
                                           ("Retry-After", value)),
                      body=(b'{"error": {"message": "Rate limit reached"}}',), framing="length"))
    events = await collect(client)
    error = events[-1]
    assert isinstance(error, StreamError)
    assert error.retry_after_s is not None and 25 <= error.retry_after_s <= 31
    assert "wait" in error.message and " s (at " in error.message
    assert "Rate limit reached" in error.message


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"retry-after": "120"}) == 120.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None
    past = formatdate(time.time() - 60, usegmt=True)
    assert retry_after_seconds({"retry-after": past}) == 0.0


@pytest.mark.parametrize("stream", [True, False])
async def test_a_huge_chunk_is_handed_on_in_pieces(server: RawServer, client: ChatClient,
                                                    stream: bool) -> None:
    """One 10 MB delta becomes many small ones, so the screen can draw and read keys between."""
    text = "word " * 2_000_000
    if stream:
        server.add(Script(body=sse(chunk(text), chunk("", "stop"))))
    else:
        body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}]}
        server.add(json_script(200, body))
    request = dict(REQUEST, stream=stream)
    async with aclosing(client.chat(request)) as stream_events:
        events = [event async for event in stream_events]
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 500 and max(map(len, deltas)) <= 16_384
    assert "".join(deltas) == text
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.text == text
    report = events[-2]
    # The sampled estimate of a huge text stays close to the exact count (one token a word).
    assert 1_900_000 <= (report.completion_tokens or 0) <= 2_100_000
