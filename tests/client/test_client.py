"""ChatClient against a byte-exact scripted server on loopback: each server quirk is a test."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import pytest

from glm_tui.chat.request import build_request
from glm_tui.chat.tools import WEATHER_TOOL
from glm_tui.client.client import ChatClient
from glm_tui.client.errors import ClientError
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
from glm_tui.client.sse import EventStream
from glm_tui.client.tokens import estimate_tokens
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Message, Role, Session, ToolCall
from tests.support.raw_server import (
    BlackHole,
    Pause,
    RawServer,
    Script,
    closed_port,
    json_script,
    sse,
    stream_script,
)


@pytest.fixture
def server() -> Iterator[RawServer]:
    with RawServer() as raw:
        yield raw


@pytest.fixture
async def client(server: RawServer) -> AsyncIterator[ChatClient]:
    chat_client = ChatClient(server.base_url, "sk-test", read_timeout=10.0)
    yield chat_client
    await chat_client.aclose()


def request(*, stream: bool = True, tools: bool = False, question: str = "hi") -> dict[str, Any]:
    session = Session(model="glm-4", messages=[Message(Role.USER, question)])
    if tools:
        session.tools = [WEATHER_TOOL]
        session.tool_choice = "auto"
    return build_request(session, ServerKind.GLM4, stream=stream)


async def collect(chat_client: ChatClient, req: dict[str, Any] | None = None) -> list[ChatEvent]:
    async with aclosing(chat_client.chat(req or request())) as events:
        return [event async for event in events]


def text_of(events: list[ChatEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def types_of(events: list[ChatEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def last(events: list[ChatEvent]) -> Any:
    return events[-1]


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None,
          **extra: Any) -> dict[str, Any]:
    """An OpenAI-shaped chunk with one choice."""
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}


def glm_chunk(content: str, finish: str | None = None) -> dict[str, Any]:
    """GLM-4 text server: role on every chunk, no id, no created."""
    return {
        "model": "glm-4",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": content},
                     "finish_reason": finish}],
    }


def tool_fragment(index: int, *, id: str | None = None, name: str | None = None,
                  arguments: str = "") -> dict[str, Any]:
    return {"index": index, "id": id, "type": "function",
            "function": {"name": name, "arguments": arguments}}


# --- the ordinary stream ----------------------------------------------------------------------


async def test_openai_shaped_stream_gives_events_in_order(server: RawServer,
                                                         client: ChatClient) -> None:
    server.add(stream_script([
        {"id": "c1", "created": 1, "choices": [{"index": 0, "delta": {"role": "assistant"}}]},
        chunk({"content": "Hello"}, id="c1"),
        chunk({"content": ", world"}, id="c1"),
        chunk({}, finish="stop", id="c1"),
    ]))
    events = await collect(client)
    assert types_of(events) == ["Connected", "TextDelta", "TextDelta", "UsageReport", "Finished"]
    assert events[0] == Connected(model="glm-4")
    assert last(events) == Finished(reason="stop", text="Hello, world")
    usage = events[-2]
    assert usage.estimated and usage.completion_tokens == estimate_tokens("Hello, world")
    assert isinstance(usage.prompt_tokens, int) and usage.prompt_tokens > 0


async def test_glm4_stream_role_on_every_chunk_crlf_separators(server: RawServer,
                                                              client: ChatClient) -> None:
    server.add(stream_script(
        [glm_chunk("你好"), glm_chunk("，我是"), glm_chunk("GLM-4", finish="stop")],
        sep=b"\r\n\r\n",
    ))
    events = await collect(client)
    assert text_of(events) == "你好，我是GLM-4"
    assert last(events) == Finished(reason="stop", text="你好，我是GLM-4")


async def test_missing_id_created_finish_reason_usage_and_done(server: RawServer,
                                                              client: ChatClient) -> None:
    server.add(stream_script([{"choices": [{"delta": {"content": "a"}}]},
                              {"choices": [{"delta": {"content": "b"}}]}], done=False))
    events = await collect(client)
    assert last(events) == Finished(reason=None, text="ab")
    assert events[-2].estimated


def test_event_stream_parser_survives_any_split_point() -> None:
    """TCP may cut a frame anywhere: inside CRLF, inside a UTF-8 character, inside JSON."""
    body = b"".join(sse(glm_chunk("héllo 世界"), glm_chunk("!", "stop"), sep=b"\r\n\r\n"))
    whole = EventStream().feed(body)
    assert len(whole) == 3 and whole[-1] == b"[DONE]"
    for cut in range(1, len(body)):
        parser = EventStream()
        payloads = parser.feed(body[:cut]) + parser.feed(body[cut:]) + parser.finish()
        assert payloads == whole, cut


def test_event_stream_parser_line_endings_and_fields() -> None:
    parser = EventStream()
    body = b": comment\revent: message\rid: 7\rdata: {\"a\":\rdata: 1}\r\rretry: 5\n\ndata: x"
    assert parser.feed(body) == [b'{"a":\n1}']
    assert parser.finish() == [b"x"]  # the last event, even without its blank line


# --- tool calls ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["complete", "close"])
async def test_glm4_streamed_tool_call_without_done(server: RawServer, client: ChatClient,
                                                    ending: str) -> None:
    """GLM-4: id+name first, then raw argument tokens with id/name null, then the connection
    ends with no [DONE] (cleanly, or cut after finish_reason)."""
    fragments = ['{"location"', ': "Bei', 'jing"}']
    server.add(stream_script(
        [chunk({"role": "assistant", "content": None,
                "tool_calls": [tool_fragment(0, id="call_abc", name="get_current_weather")]})]
        + [chunk({"role": "assistant", "tool_calls": [tool_fragment(0, arguments=f)]})
           for f in fragments]
        + [chunk({"role": "assistant"}, finish="tool_calls")],
        done=False, ending=ending,  # type: ignore[arg-type]
    ))
    events = await collect(client, request(tools=True))
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [d.arguments_fragment for d in deltas] == ["", *fragments]
    assert deltas[0].call.name == "get_current_weather" and deltas[0].call.id == "call_abc"
    assert deltas[2].call.arguments == '{"location": "Bei'
    expected = ToolCall("call_abc", "get_current_weather", '{"location": "Beijing"}')
    assert last(events) == Finished(reason="tool_calls", text="", tool_calls=(expected,))
    assert server.requests[0].json()["tools"] == [WEATHER_TOOL]


async def test_lm_studio_later_parts_have_empty_id_and_name(server: RawServer,
                                                           client: ChatClient) -> None:
    server.add(stream_script([
        chunk({"tool_calls": [tool_fragment(0, id="123", name="get_current_weather")]}),
        chunk({"tool_calls": [tool_fragment(0, id="", name="", arguments='{"location":')]}),
        chunk({"tool_calls": [tool_fragment(0, id="", name="", arguments='"Paris"}')]}),
        chunk({}, finish="tool_calls"),
    ]))
    events = await collect(client, request(tools=True))
    (call,) = last(events).tool_calls
    assert call == ToolCall("123", "get_current_weather", '{"location":"Paris"}')


async def test_ollama_whole_tool_call_in_one_chunk(server: RawServer, client: ChatClient) -> None:
    whole = {"id": "call_x1", "index": 0, "type": "function",
             "function": {"name": "get_current_weather", "arguments": '{"location":"Oslo"}'}}
    server.add(stream_script([chunk({"role": "assistant", "content": "", "tool_calls": [whole]}),
                              chunk({"role": "assistant", "content": ""}, finish="tool_calls")]))
    events = await collect(client, request(tools=True))
    (delta,) = [e for e in events if isinstance(e, ToolCallDelta)]
    assert delta.call == ToolCall("call_x1", "get_current_weather", '{"location":"Oslo"}')
    assert last(events).tool_calls == (delta.call,)


async def test_zhipu_tool_calls_whole_in_the_finishing_chunk(server: RawServer,
                                                            client: ChatClient) -> None:
    calls = [
        {"id": "call_1", "index": 0, "type": "function",
         "function": {"name": "get_current_weather", "arguments": '{"location":"A"}'}},
        {"id": "call_2", "index": 1, "type": "function",
         "function": {"name": "get_current_weather", "arguments": '{"location":"B"}'}},
    ]
    server.add(stream_script([
        chunk({"role": "assistant", "tool_calls": calls}, finish="tool_calls",
              usage={"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52}),
    ]))
    events = await collect(client, request(tools=True))
    finished = last(events)
    assert [c.id for c in finished.tool_calls] == ["call_1", "call_2"]
    assert [c.arguments for c in finished.tool_calls] == ['{"location":"A"}', '{"location":"B"}']
    assert events[-2] == UsageReport(40, 12, estimated=False)


async def test_tool_call_arguments_as_object_and_without_id(server: RawServer,
                                                           client: ChatClient) -> None:
    """A server that sends arguments as a JSON object and no id still gives a usable call."""
    server.add(stream_script([
        chunk({"tool_calls": [{"function": {"name": "get_current_weather",
                                            "arguments": {"location": "Rome"}}}]}, finish="stop"),
    ]))
    (call,) = last(await collect(client, request(tools=True))).tool_calls
    assert call.name == "get_current_weather" and json.loads(call.arguments) == {"location": "Rome"}
    assert call.id.startswith("call_")


async def test_finished_reply_is_not_held_by_a_server_that_never_ends(
    server: RawServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """finish_reason, then neither [DONE] nor the end of the body: the reply still finishes
    promptly, not after the (long) read timeout."""
    monkeypatch.setattr("glm_tui.client.client._AFTER_FINISH_SECONDS", 0.3)
    server.add(Script(body=sse(glm_chunk("Done.", finish="stop"), done=False), ending="hang"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with ChatClient(server.base_url, "", read_timeout=60.0) as chat_client:
        events = await collect(chat_client)
    assert last(events) == Finished(reason="stop", text="Done.")
    assert loop.time() - started < 30
    assert await asyncio.to_thread(server.wait_disconnected, 0, 10.0)


# --- usage --------------------------------------------------------------------------------------


async def test_vllm_usage_chunk_with_empty_choices(server: RawServer, client: ChatClient) -> None:
    server.add(stream_script([
        chunk({"role": "assistant", "content": ""}, usage=None),
        chunk({"content": "Hi!"}, usage=None),
        chunk({}, finish="stop", usage=None),
        {"id": "x", "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3,
                                             "total_tokens": 15}},
    ]))
    events = await collect(client)
    assert types_of(events) == ["Connected", "TextDelta", "UsageReport", "Finished"]
    assert events[-2] == UsageReport(12, 3, estimated=False)


async def test_llamacpp_usage_in_the_final_stop_chunk(server: RawServer,
                                                     client: ChatClient) -> None:
    server.add(stream_script([
        chunk({"content": "Sure."}),
        chunk({}, finish="stop", usage={"prompt_tokens": 7, "completion_tokens": 2}),
    ]))
    events = await collect(client)
    assert events[-2] == UsageReport(7, 2, estimated=False)
    assert last(events).text == "Sure."


async def test_nonsense_usage_counts_are_replaced_by_an_estimate(server: RawServer,
                                                                client: ChatClient) -> None:
    server.add(stream_script([
        chunk({"content": "four words right here"}, finish="stop",
              usage={"prompt_tokens": 20, "completion_tokens": -5}),
    ]))
    usage = (await collect(client))[-2]
    assert usage.estimated and usage.completion_tokens == estimate_tokens("four words right here")
    server.add(stream_script([chunk({"content": "text"}, finish="stop",
                                    usage={"prompt_tokens": 0, "completion_tokens": 0})]))
    assert (await collect(client))[-2].estimated


# --- odd servers ----------------------------------------------------------------------------------


async def test_one_buffered_chunk_after_a_long_silence(server: RawServer) -> None:
    """GLM-4 with tools passed streams nothing, then the whole answer in one chunk."""
    answer = "The weather tool is not needed: hello!"
    server.add(Script(body=[Pause(1.0), *sse(glm_chunk(answer, finish="stop"))]))
    async with ChatClient(server.base_url, "", read_timeout=5.0) as chat_client:
        events = await collect(chat_client, request(tools=True))
    assert [e.text for e in events if isinstance(e, TextDelta)] == [answer]
    assert last(events).text == answer


async def test_unknown_chunk_shapes_are_skipped(server: RawServer, client: ChatClient) -> None:
    body = [
        b": keep-alive\n\n",
        b"event: ping\ndata: {}\n\n",
        b"data: not json at all\n\n",
        b"data: [1, 2, 3]\n\n",
        *sse({"object": "chat.completion.chunk"},  # no choices at all
             {"choices": None},
             {"choices": []},
             {"choices": "nope"},
             {"choices": ["x", None]},
             {"choices": [{"index": 0}]},
             {"choices": [{"delta": None, "finish_reason": None}]},
             chunk({"content": None}),
             chunk({"content": ""}),
             chunk({"role": "assistant"}, usage={"prompt_tokens": -1, "completion_tokens": 3}),
             chunk({"content": "still "}),
             chunk({"content": [{"type": "text", "text": "fine"}]}),
             chunk({"tool_calls": [None, "x"]}),
             chunk({}, finish="stop"), done=True),
    ]
    server.add(Script(body=body))
    events = await collect(client)
    assert not any(isinstance(e, StreamError) for e in events)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["still ", "fine"]
    # Two pieces were not JSON objects: the reply says text may be missing (issue 13, item 8).
    assert last(events) == Finished(reason="stop", text="still fine", unreadable=2)
    assert events[-2].estimated


async def test_glm4v_stream_without_id_finish_reason_or_done(server: RawServer,
                                                            client: ChatClient) -> None:
    server.add(stream_script([
        {"model": "glm-4v", "choices": [{"index": 0, "delta": {"role": "assistant"}}]},
        {"model": "glm-4v", "choices": [{"index": 0, "delta": {"content": "A cat."}}]},
        {"model": "glm-4v", "choices": [{"index": 0, "delta": {"content": ""}}]},
        {"model": "glm-4v", "choices": [{"index": 0, "delta": {}}]},
    ], done=False, framing="close"))
    events = await collect(client)
    assert types_of(events) == ["Connected", "TextDelta", "UsageReport", "Finished"]
    assert last(events) == Finished(reason=None, text="A cat.")


async def test_web_page_instead_of_a_reply_names_the_base_url(server: RawServer,
                                                             client: ChatClient) -> None:
    server.add(json_script(200, "<!doctype html><html><title>Open WebUI</title></html>",
                           "text/html; charset=utf-8"))
    error = last(await collect(client))
    assert error.kind is ErrorKind.PROTOCOL and "/v1" in error.message
    assert "web page" in error.message


async def test_empty_reply_is_an_error_not_a_silent_success(server: RawServer,
                                                           client: ChatClient) -> None:
    server.add(Script(body=[]))
    error = last(await collect(client))
    assert isinstance(error, StreamError) and error.kind is ErrorKind.PROTOCOL
    assert "without sending anything" in error.message


async def test_only_done_is_an_empty_reply(server: RawServer, client: ChatClient) -> None:
    server.add(stream_script([]))
    assert last(await collect(client)) == Finished(reason=None, text="")


# --- non-streaming ------------------------------------------------------------------------------


def completion(message: dict[str, Any], finish: str | None = "stop",
               usage: dict[str, int] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": "chatcmpl-1", "object": "chat.completion", "model": "glm-4",
                            "choices": [{"index": 0, "message": message,
                                         "finish_reason": finish}]}
    if usage is not None:
        body["usage"] = usage
    return body


async def test_non_streaming_reply_gives_the_same_events(server: RawServer,
                                                        client: ChatClient) -> None:
    server.add(json_script(200, completion(
        {"role": "assistant", "content": "Whole answer."},
        usage={"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12})))
    events = await collect(client, request(stream=False))
    assert types_of(events) == ["Connected", "TextDelta", "UsageReport", "Finished"]
    assert events[-2] == UsageReport(9, 3, estimated=False)
    assert last(events) == Finished(reason="stop", text="Whole answer.")
    assert server.requests[0].json()["stream"] is False


async def test_non_streaming_tool_call_with_null_content(server: RawServer,
                                                        client: ChatClient) -> None:
    call = {"index": 0, "id": "call_9", "type": "function",
            "function": {"name": "get_current_weather", "arguments": '{"location":"Lima"}'}}
    server.add(json_script(200, completion(
        {"role": "assistant", "content": None, "tool_calls": [call]}, finish="tool_calls")))
    events = await collect(client, request(stream=False, tools=True))
    assert types_of(events) == ["Connected", "ToolCallDelta", "UsageReport", "Finished"]
    assert last(events).tool_calls == (
        ToolCall("call_9", "get_current_weather", '{"location":"Lima"}'),)


async def test_glm4v_non_streaming_without_id_and_negative_usage(server: RawServer,
                                                                client: ChatClient) -> None:
    body = {"model": "glm-4v", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "A dog."}}],
            "usage": {"prompt_tokens": 1610, "completion_tokens": -1598, "total_tokens": 12}}
    server.add(json_script(200, body))
    events = await collect(client, request(stream=False))
    assert last(events) == Finished(reason=None, text="A dog.")
    assert events[-2].estimated


async def test_server_that_ignores_stream_and_answers_json(server: RawServer,
                                                          client: ChatClient) -> None:
    server.add(json_script(200, completion({"role": "assistant", "content": "Not streamed."})))
    events = await collect(client, request(stream=True))
    assert last(events) == Finished(reason="stop", text="Not streamed.")


# --- what is sent -------------------------------------------------------------------------------


async def test_request_reaches_the_server_as_built(server: RawServer, client: ChatClient) -> None:
    req = request(tools=True) | {"repetition_penalty": 1.1, "max_tokens": 256}
    server.add(stream_script([glm_chunk("ok", "stop")]))
    await collect(client, req)
    (sent,) = server.requests
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == "Bearer sk-test"
    body = sent.json()
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["repetition_penalty"] == 1.1  # a field the SDK has no parameter for
    assert body["max_tokens"] == 256 and body["stream"] is True
    assert body["tool_choice"] == "auto"


# --- failures -----------------------------------------------------------------------------------


async def test_nothing_listening_is_unreachable() -> None:
    base = f"http://127.0.0.1:{closed_port()}/v1"
    async with ChatClient(base, "") as chat_client:
        events = await collect(chat_client)
    assert len(events) == 1
    error = events[0]
    assert error.kind is ErrorKind.UNREACHABLE
    assert error.message == (f"Cannot reach the server at {base}: connection refused. "
                             "Is it running? (glm-tui --demo starts a built-in one)")


async def test_connect_timeout_names_itself_and_its_seconds() -> None:
    hole = BlackHole()
    try:
        async with ChatClient(hole.base_url, "", connect_timeout=0.5) as chat_client:
            events = await collect(chat_client)
    finally:
        hole.close()
    error = last(events)
    assert error.kind is ErrorKind.TIMEOUT
    assert "connect timeout" in error.message and "0.5 s" in error.message


async def test_idle_read_timeout_mid_stream_keeps_the_text(server: RawServer) -> None:
    server.add(Script(body=[*sse(glm_chunk("partial "), done=False), Pause(60)]))
    async with ChatClient(server.base_url, "", read_timeout=0.5) as chat_client:
        events = await collect(chat_client)
    error = last(events)
    assert error.kind is ErrorKind.TIMEOUT and error.text == "partial "
    assert "read timeout" in error.message and "0.5 s" in error.message
    assert "middle of the reply" in error.message
    assert await asyncio.to_thread(server.wait_disconnected, 0, 10.0)


async def test_read_timeout_before_any_answer(server: RawServer) -> None:
    server.add(Script(header_delay=60))
    async with ChatClient(server.base_url, "", read_timeout=0.5) as chat_client:
        events = await collect(chat_client)
    assert types_of(events) == ["StreamError"]
    assert events[0].kind is ErrorKind.TIMEOUT
    assert "sent no answer for 0.5 s (read timeout)" in events[0].message


@pytest.mark.parametrize(
    ("status", "body", "content_type", "detail", "words"),
    [
        (400, {"detail": "Invalid request"}, "application/json", "Invalid request",
         ["HTTP 400 Bad Request"]),
        (422, {"detail": [{"loc": ["body", "messages", 0, "content"],
                           "msg": "Input should be a valid string", "type": "string_type"},
                          {"loc": ["body", "top_p"], "msg": "Input should be a number"}]},
         "application/json",
         "messages[0].content: Input should be a valid string; top_p: Input should be a number",
         ["HTTP 422"]),
        (500, "Internal Server Error", "text/plain; charset=utf-8", "Internal Server Error",
         ["HTTP 500", "sampling"]),
        (401, {"error": {"code": "1000", "message": "身份验证失败。"}}, "application/json",
         "身份验证失败。 (code 1000)", ["API key"]),
        (404, {"detail": "Not Found"}, "application/json", "Not Found",
         ["base URL", "/v1", "'glm-4'"]),
        (429, {"error": {"message": "Rate limit reached", "type": "requests"}},
         "application/json", "Rate limit reached", ["try again"]),
    ],
)
async def test_http_errors_carry_status_and_the_servers_words(
    server: RawServer, client: ChatClient, status: int, body: object, content_type: str,
    detail: str, words: list[str],
) -> None:
    server.add(json_script(status, body, content_type))
    events = await collect(client)
    assert len(events) == 1
    error = events[0]
    assert (error.kind, error.status, error.server_detail) == (ErrorKind.HTTP, status, detail)
    assert detail in error.message and server.base_url in error.message
    for word in words:
        assert word in error.message
    assert len(server.requests) == 1  # no retries behind the user's back


@pytest.mark.parametrize("ending", ["close", "reset"])
async def test_stream_breaking_mid_reply_is_interrupted_with_the_text(
    server: RawServer, client: ChatClient, ending: str,
) -> None:
    server.add(Script(body=sse(glm_chunk("Once upon"), glm_chunk(" a time"), done=False),
                      ending=ending))  # type: ignore[arg-type]
    events = await collect(client)
    assert text_of(events) == "Once upon a time"
    error = last(events)
    assert error.kind is ErrorKind.INTERRUPTED and error.text == "Once upon a time"
    assert "middle of the reply" in error.message and "kept" in error.message
    assert len(server.requests) == 1


async def test_broken_tool_call_stream_keeps_the_partial_call(server: RawServer,
                                                             client: ChatClient) -> None:
    server.add(Script(body=sse(
        chunk({"tool_calls": [tool_fragment(0, id="call_1", name="get_current_weather")]}),
        chunk({"tool_calls": [tool_fragment(0, arguments='{"loc')]}), done=False),
        ending="close"))
    error = last(await collect(client, request(tools=True)))
    assert error.kind is ErrorKind.INTERRUPTED
    assert error.tool_calls == (ToolCall("call_1", "get_current_weather", '{"loc'),)


async def test_connection_dropped_before_any_answer(server: RawServer,
                                                   client: ChatClient) -> None:
    server.add(Script(drop=True))
    (error,) = await collect(client)
    assert error.kind is ErrorKind.INTERRUPTED and "without answering" in error.message


@pytest.mark.parametrize("error_chunk", [
    {"error": {"message": "CUDA out of memory", "code": 500}},
    {"object": "error", "message": "CUDA out of memory", "type": "InternalServerError",
     "code": 500},  # vLLM's form
])
async def test_error_object_inside_the_stream(server: RawServer, client: ChatClient,
                                              error_chunk: dict[str, Any]) -> None:
    server.add(stream_script([glm_chunk("Half"), error_chunk], done=False))
    events = await collect(client)
    error = last(events)
    assert error.kind is ErrorKind.HTTP and error.text == "Half"
    assert error.server_detail == "CUDA out of memory (code 500)"
    assert "CUDA out of memory" in error.message


# --- stopping early -----------------------------------------------------------------------------


def slow_stream() -> Script:
    return Script(body=[*sse(glm_chunk("first"), done=False), Pause(60),
                        *sse(glm_chunk("never"))])


async def test_breaking_out_closes_the_http_stream(server: RawServer,
                                                   client: ChatClient) -> None:
    server.add(slow_stream())
    async with aclosing(client.chat(request())) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                break
    assert await asyncio.to_thread(server.wait_disconnected, 0, 10.0)


async def test_abandoned_generator_still_closes_the_http_stream(server: RawServer,
                                                               client: ChatClient) -> None:
    """Without aclosing(), asyncio's async-generator finaliser closes it soon after."""
    server.add(slow_stream())
    async for event in client.chat(request()):
        if isinstance(event, TextDelta):
            break
    assert await asyncio.to_thread(server.wait_disconnected, 0, 10.0)


async def test_cancelling_the_task_closes_the_http_stream(server: RawServer,
                                                          client: ChatClient) -> None:
    server.add(slow_stream())
    first_text = asyncio.Event()
    seen: list[ChatEvent] = []

    async def consume() -> None:
        async for event in client.chat(request()):
            seen.append(event)
            if isinstance(event, TextDelta):
                first_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_text.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(server.wait_disconnected, 0, 10.0)
    assert not any(isinstance(e, StreamError) for e in seen)


async def test_client_is_reusable_after_a_cancelled_stream(server: RawServer,
                                                          client: ChatClient) -> None:
    server.add(slow_stream(), stream_script([glm_chunk("again", "stop")]))
    async with aclosing(client.chat(request())) as events:
        async for _ in events:
            break
    assert last(await collect(client)).text == "again"


# --- models -------------------------------------------------------------------------------------


async def test_list_models(server: RawServer, client: ChatClient) -> None:
    server.add(json_script(200, {"object": "list", "data": [
        {"id": "glm-4", "object": "model", "created": 1, "owned_by": "owner"}]}))
    assert await client.list_models() == ["glm-4"]
    assert server.requests[0].path == "/v1/models"
    assert server.requests[0].headers["authorization"] == "Bearer sk-test"


async def test_list_models_failures_are_worded_for_a_person(server: RawServer,
                                                            client: ChatClient) -> None:
    server.add(json_script(401, {"error": {"message": "Invalid API key", "code": "401"}}))
    with pytest.raises(ClientError) as refused:
        await client.list_models()
    assert refused.value.status == 401 and "API key" in refused.value.message
    server.add(json_script(200, "<html>hello</html>", "text/html"))
    with pytest.raises(ClientError) as not_a_list:
        await client.list_models()
    assert "/v1" in not_a_list.value.message
    base = f"http://127.0.0.1:{closed_port()}/v1"
    async with ChatClient(base, "") as nowhere:
        with pytest.raises(ClientError) as unreachable:
            await nowhere.list_models()
    assert "connection refused" in unreachable.value.message
    assert unreachable.value.kind is ErrorKind.UNREACHABLE


HOSTILE = "retitled \x1b]0;PWNED\x07 then cleared \x1b[2J"
HOSTILE_SHOWN = "retitled \u241b]0;PWNED\u2407 then cleared \u241b[2J"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [({"detail": HOSTILE}, "application/json"), (HOSTILE, "text/plain; charset=utf-8"),
     ({"error": {"message": HOSTILE, "code": "x"}}, "application/json")],
    ids=["json-detail", "plain-text", "openai-error"],
)
async def test_escape_sequences_in_an_error_body_never_reach_the_terminal(
    server: RawServer, client: ChatClient, body: object, content_type: str,
) -> None:
    server.add(json_script(500, body, content_type))
    [error] = await collect(client)
    assert isinstance(error, StreamError)
    assert "\x1b" not in error.message and "\x07" not in error.message
    assert error.server_detail is not None and "\x1b" not in error.server_detail
    assert HOSTILE_SHOWN in error.message  # shown literally, not dropped


async def test_escape_sequences_in_a_models_failure_never_reach_the_terminal(
    server: RawServer, client: ChatClient,
) -> None:
    server.add(json_script(500, HOSTILE, "text/plain"))
    with pytest.raises(ClientError) as failed:
        await client.list_models()
    assert "\x1b" not in failed.value.message and HOSTILE_SHOWN in failed.value.message
    server.add(json_script(200, HOSTILE, "text/plain"))  # not a model list: quoted back
    with pytest.raises(ClientError) as not_a_list:
        await client.list_models()
    assert "\x1b" not in not_a_list.value.message and "PWNED" in not_a_list.value.message


async def test_models_listed_twice_are_offered_once_in_the_servers_order(
    server: RawServer, client: ChatClient,
) -> None:
    server.add(json_script(200, {"data": [{"id": "glm-4"}, {"id": "b"}, {"id": "glm-4"},
                                          {"id": "a"}, {"id": "b"}]}))
    assert await client.list_models() == ["glm-4", "b", "a"]


# --- start-up cost ------------------------------------------------------------------------------


def test_importing_the_client_does_not_import_openai() -> None:
    code = ("import sys, glm_tui.client.client, glm_tui.client.tokens; "
            "print('openai' in sys.modules, 'httpx2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.split() == ["False", "False"]


async def test_aclose_without_use_and_twice() -> None:
    chat_client = ChatClient("http://127.0.0.1:9/v1", "")
    await chat_client.aclose()
    await chat_client.aclose()



# --- against the project's demo server ------------------------------------------------------


@pytest.fixture(params=["glm4", "openai"])
def demo(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(flavour, base URL) of a running demo server, unpaced."""
    from glm_tui.demo.server import DemoServer

    with DemoServer(flavor=request.param, token_rate=0) as url:
        yield request.param, url


def demo_request(question: str, *, tools: bool = False, stream: bool = True) -> dict[str, Any]:
    req = request(question=question, tools=tools, stream=stream)
    if stream:
        req["stream_options"] = {"include_usage": True}  # honoured by openai, ignored by glm4
    return req


async def test_demo_server_plain_reply(demo: tuple[str, str]) -> None:
    flavor, url = demo
    async with ChatClient(url, "") as chat_client:
        events = await collect(chat_client, demo_request("Hello there"))
        whole = await collect(chat_client, demo_request("Hello there", stream=False))
    finished = last(events)
    assert finished.reason == "stop" and "Hello there" in finished.text
    assert text_of(events) == finished.text == last(whole).text
    assert len([e for e in events if isinstance(e, TextDelta)]) > 5
    usage = events[-2]
    assert isinstance(usage, UsageReport) and (usage.completion_tokens or 0) > 0
    assert usage.estimated is (flavor == "glm4")  # GLM-4 never sends usage in a stream
    assert not whole[-2].estimated  # both send usage in a whole reply


async def test_demo_server_streamed_tool_call(demo: tuple[str, str]) -> None:
    async with ChatClient(demo[1], "") as chat_client:
        events = await collect(
            chat_client, demo_request("What's the weather in San Francisco?", tools=True))
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert len(deltas) > 2  # the arguments arrive in fragments
    finished = last(events)
    assert finished.reason == "tool_calls"
    (call,) = finished.tool_calls
    assert call.name == "get_current_weather" and call.id
    assert json.loads(call.arguments) == {"location": "San Francisco", "format": "celsius"}
    assert deltas[-1].call == call


async def test_demo_server_cut_stream_keeps_the_text(demo: tuple[str, str]) -> None:
    async with ChatClient(demo[1], "") as chat_client:
        events = await collect(chat_client, demo_request("Tell me a story [[demo:cut=20]]"))
    error = last(events)
    assert error.kind is ErrorKind.INTERRUPTED
    assert len(error.text) == 20 and error.text == text_of(events)


async def test_demo_server_error_status_and_models(demo: tuple[str, str]) -> None:
    async with ChatClient(demo[1], "") as chat_client:
        (error,) = await collect(chat_client, demo_request("x [[demo:status=500]]"))
        models = await chat_client.list_models()
        assert models[:2] == ["glm-4", "GLM-4v-9b"]  # the openai flavour adds thinking models
        assert models[2:] == ([] if demo[0] == "glm4" else ["glm-4.6", "glm-5"])
    assert error.kind is ErrorKind.HTTP and error.status == 500 and error.server_detail
