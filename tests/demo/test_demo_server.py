"""The demo server over real loopback HTTP: GLM-4's wire quirks byte for byte, clean OpenAI shapes,
errors, directives, pacing, the request log and auth; and the openai client consuming both.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from glm_tui.chat.tools import WEATHER_TOOL
from glm_tui.demo.directives import parse_directives
from glm_tui.demo.markdown_samples import sized_markdown
from glm_tui.demo.replies import ReplyRequest, plan_reply
from glm_tui.demo.request_text import tokenize
from glm_tui.demo.server import DemoServer
from glm_tui.demo.tool_replies import choose_tool_call
from tests.support.demo import (
    WEATHER_ARGUMENTS,
    WEATHER_QUESTION,
    address,
    chunks,
    data_url,
    image_bytes,
    image_message,
    post_chat,
    raw_request,
    sse_payloads,
    user,
)

CRLF2 = b"\r\n\r\n"
LF2 = b"\n\n"
NASTY = (
    "[bold]x[/] [@click=app.quit]x[/] \x1b[31mred\x1b[0m \x1b]8;;http://e.x\x07link\x1b]8;;\x07 "
    "nul\x00end 你好 👩‍👩‍👧 שלום \u202eRTL \\ \" '"
)
MEOW_SYSTEM = "请在你输出的时候都带上“喵喵喵”三个字，放在开头。"


@pytest.fixture(scope="module")
def glm4() -> Iterator[str]:
    with DemoServer(flavor="glm4", token_rate=0) as url:
        yield url


@pytest.fixture(scope="module")
def oai() -> Iterator[str]:
    with DemoServer(flavor="openai", token_rate=0) as url:
        yield url


def client(url: str, key: str = "EMPTY") -> Any:
    """An openai client without retries (typed loosely: the tests send GLM-only shapes too)."""
    return openai.OpenAI(api_key=key, base_url=url, max_retries=0, timeout=30)


def jstr(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def content_of(url: str, body: dict[str, Any]) -> str:
    response = post_chat(url, body)
    assert response.status == 200, response.body
    return str(response.json()["choices"][0]["message"]["content"])


# -- replies without HTTP ----------------------------------------------------------------------


def test_tokens_join_back_exactly_and_split_cjk_per_character() -> None:
    for text in (NASTY, "Hello, world!\n\n  indented", "你好世界", "", "a" * 17):
        assert "".join(tokenize(text)) == text
    assert tokenize("你好") == ["你", "好"]
    assert max(len(token) for token in tokenize("internationalisation is long")) <= 5


def test_directives_are_parsed_and_removed_from_the_question() -> None:
    directives, question = parse_directives("  Hi [[demo:rate=50]] there [[demo:cut=3]] ")
    assert (directives.rate, directives.cut, question) == (50.0, 3, "Hi  there")
    untouched, same = parse_directives("  [[demo:bogus=1]] keep ")
    assert untouched.cut is None and same == "  [[demo:bogus=1]] keep "


def test_tool_arguments_come_from_the_schema_and_the_question() -> None:
    call = choose_tool_call(WEATHER_QUESTION, [WEATHER_TOOL], "auto")
    assert call is not None and call.name == "get_current_weather"
    assert call.arguments == WEATHER_ARGUMENTS
    other = choose_tool_call("Is it warm in Paris in fahrenheit?", [WEATHER_TOOL], "auto")
    assert other is not None
    assert json.loads(other.arguments) == {"location": "Paris", "format": "fahrenheit"}
    assert choose_tool_call("Tell me a joke", [WEATHER_TOOL], "auto") is None
    assert choose_tool_call(WEATHER_QUESTION, [WEATHER_TOOL], "none") is None
    forced = {"type": "function", "function": {"name": "get_current_weather"}}
    assert choose_tool_call("Tell me a joke", [WEATHER_TOOL], forced) is not None


def test_a_time_zone_argument_is_the_iana_name_in_the_question() -> None:
    """The official MCP time server's tool (its schema as it lists it): the demo model passes
    the zone the person named, so "what time is it in Asia/Tokyo" gets a real answer."""
    time_tool = {"type": "function", "function": {
        "name": "get_current_time", "description": "Get current time in a specific timezone",
        "parameters": {"type": "object", "required": ["timezone"], "properties": {"timezone": {
            "type": "string", "description": "IANA timezone name (e.g., 'America/New_York', "
            "'Europe/London'). Use 'Europe/Paris' as local timezone if no timezone provided "
            "by the user."}}}}}
    convert_tool = {"type": "function", "function": {
        "name": "convert_time", "description": "Convert time between timezones",
        "parameters": {"type": "object", "properties": {"target_timezone": {
            "type": "string", "description": "Target IANA timezone name (e.g., 'Asia/Tokyo', "
            "'America/San_Francisco')."}}}}}
    # What a tool is for outweighs the examples in another tool's parameters.
    call = choose_tool_call("What is the current time in Asia/Tokyo?",
                            [convert_tool, time_tool], "auto")
    assert call is not None and call.name == "get_current_time"
    for question, zone in (("What is the current time in Asia/Tokyo?", "Asia/Tokyo"),
                           ("Current time in America/Argentina/Buenos_Aires",
                            "America/Argentina/Buenos_Aires"),
                           ("And the current time in UTC?", "UTC")):
        call = choose_tool_call(question, [time_tool], "auto")
        assert call is not None and json.loads(call.arguments) == {"timezone": zone}


def test_sized_markdown_is_exact_and_deterministic() -> None:
    text = sized_markdown(20_000)
    assert len(text.encode()) == 20_000 and text == sized_markdown(20_000)
    assert "- item 300 of section 1\n" in text and "```python\n" in text


def test_system_prompt_asking_for_an_opening_phrase_is_followed() -> None:
    plan = plan_reply(ReplyRequest([{"role": "system", "content": MEOW_SYSTEM}, user("你是谁")]))
    assert plan.text.startswith("喵喵喵") and "你是谁" in plan.text
    other = plan_reply(ReplyRequest([{"role": "system", "content": "Be brief."}, user("hi")]))
    assert "Be brief." in other.text


def test_importing_the_server_loads_neither_openai_textual_nor_pillow() -> None:
    code = (
        "import sys, glm_tui.demo.server, glm_tui.demo.replies, glm_tui.demo.image_reading\n"
        "print(sorted(m for m in ('openai', 'textual', 'PIL') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]"


# -- endpoints -------------------------------------------------------------------------------


def test_glm4_models_health_and_unknown_paths(glm4: str) -> None:
    models = raw_request(glm4, "GET", "/v1/models").json()
    assert [m["id"] for m in models["data"]] == ["glm-4", "GLM-4v-9b"]
    assert models["data"][0]["owned_by"] == "owner" and models["object"] == "list"
    health = raw_request(glm4, "GET", "/health")
    assert (health.status, health.body) == (200, b"")
    missing = raw_request(glm4, "GET", "/v1/nothing")
    assert (missing.status, missing.json()) == (404, {"detail": "Not Found"})
    wrong = raw_request(glm4, "GET", "/v1/chat/completions")
    assert (wrong.status, wrong.json()) == (405, {"detail": "Method Not Allowed"})


def test_openai_flavour_models_and_no_health(oai: str) -> None:
    ids = [model.id for model in client(oai).models.list()]
    assert ids == ["glm-4", "GLM-4v-9b", "glm-4.6", "glm-5"]  # two thinking models
    assert raw_request(oai, "GET", "/health").status == 404


# -- glm4 text server: frames ----------------------------------------------------------------


def glm4_text_frame(first: dict[str, Any], content: str, finish: str | None) -> bytes:
    finish_json = "null" if finish is None else jstr(finish)
    return (
        f'data: {{"model":"glm-4","id":"{first["id"]}","object":"chat.completion.chunk",'
        f'"choices":[{{"delta":{{"role":"assistant","content":{jstr(content)},'
        f'"function_call":null}},"finish_reason":{finish_json},"index":0}}],'
        f'"created":{first["created"]},"system_fingerprint":"{first["system_fingerprint"]}"}}'
        "\r\n\r\n"
    ).encode()


def test_glm4_stream_is_byte_exact(glm4: str) -> None:
    text = "Hello, world! 你好 " + NASTY
    response = post_chat(glm4, {"model": "glm-4", "messages": [user(f"[[demo:say={text}]]")],
                                "stream": True, "stream_options": {"include_usage": True}})
    assert response.status == 200 and response.complete
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    first = json.loads(response.body[len(b"data: "):response.body.index(CRLF2)])
    tokens = tokenize(text)
    expected = b"".join(
        glm4_text_frame(first, token, "stop" if k == len(tokens) - 1 else None)
        for k, token in enumerate(tokens)
    ) + b"data: [DONE]\r\n\r\n"
    assert response.body == expected  # no role-only chunk, no usage, \r\n\r\n frames


def test_glm4_stream_with_tools_and_a_text_answer_sends_one_chunk(glm4: str) -> None:
    response = post_chat(glm4, {"model": "glm-4", "messages": [user("Tell me a joke")],
                                "tools": [WEATHER_TOOL], "stream": True})
    first = json.loads(response.body[len(b"data: "):response.body.index(CRLF2)])
    whole = first["choices"][0]["delta"]["content"]
    assert whole.startswith("You asked: “Tell me a joke”")
    assert response.body == glm4_text_frame(first, whole, "stop") + b"data: [DONE]\r\n\r\n"


def test_glm4_streamed_tool_call_frames(glm4: str) -> None:
    response = post_chat(glm4, {"model": "glm-4", "messages": [user(WEATHER_QUESTION)],
                                "tools": [WEATHER_TOOL], "tool_choice": "auto", "stream": True})
    assert response.complete
    assert not response.body.rstrip().endswith(b"[DONE]")
    payloads = sse_payloads(response.body, CRLF2)
    assert "[DONE]" not in payloads
    frames = [json.loads(p) for p in payloads]
    first, *middle, last = frames
    call = first["choices"][0]["delta"]["tool_calls"][0]
    assert first["choices"][0]["delta"]["role"] == "assistant"
    assert call["function"] == {"name": "get_current_weather", "arguments": ""}
    assert call["id"].startswith("call_") and len(call["id"]) == 29
    pieces = []
    for frame in middle:
        delta = frame["choices"][0]["delta"]
        assert (delta["role"], delta["content"], delta["function_call"]) == (None, None, None)
        [fragment] = delta["tool_calls"]
        assert (fragment["id"], fragment["function"]["name"]) == (None, None)
        pieces.append(fragment["function"]["arguments"])
    assert pieces == tokenize(WEATHER_ARGUMENTS)  # one chunk per token of raw argument text
    assert last["choices"][0] == {"delta": {"role": None, "content": None, "function_call": None},
                                  "finish_reason": "tool_calls", "index": 0}
    assert "usage" in last and last["usage"] is None
    assert len({frame["id"] for frame in frames}) == 1


def test_glm4_tool_call_without_streaming(glm4: str) -> None:
    body = post_chat(glm4, {"model": "glm-4", "messages": [user(WEATHER_QUESTION)],
                            "tools": [WEATHER_TOOL]}).json()
    assert list(body) == ["model", "id", "object", "choices", "created", "system_fingerprint",
                          "usage"]
    [choice] = body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] is None and message["function_call"] is None
    [call] = message["tool_calls"]
    assert call["index"] == 0 and call["type"] == "function"
    assert call["function"] == {"name": "get_current_weather", "arguments": WEATHER_ARGUMENTS}


def test_glm4_answers_from_a_tool_result(glm4: str) -> None:
    messages = [
        user(WEATHER_QUESTION),
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "get_current_weather",
                         "arguments": '{"location": "San Francisco, CA", "format": "celsius"}'}}]},
        {"tool_call_id": "call_1", "role": "tool", "name": "get_current_weather",
         "content": "23°C"},
    ]
    body = {"model": "glm-4", "messages": messages, "tools": [WEATHER_TOOL]}
    assert content_of(glm4, body) == "It is 23°C in San Francisco."


def test_glm4_drops_the_system_message_when_tools_are_passed(glm4: str) -> None:
    messages = [{"role": "system", "content": MEOW_SYSTEM}, user("Tell me a joke")]
    assert content_of(glm4, {"model": "glm-4", "messages": messages}).startswith("喵喵喵 ")
    with_tools = content_of(glm4, {"model": "glm-4", "messages": messages,
                                   "tools": [WEATHER_TOOL]})
    assert "喵喵喵" not in with_tools


def test_glm4_all_tools(glm4: str) -> None:
    draw = [user("帮我画一张天空的画画吧")]
    assert content_of(glm4, {"model": "glm-4", "messages": draw,
                             "tools": [{"type": "cogview"}]}) == "cogview\n帮我画一张天空的画画吧"
    streamed = post_chat(glm4, {"model": "glm-4", "messages": draw,
                                "tools": [{"type": "cogview"}], "stream": True})
    assert (streamed.status, streamed.body) == (500, b"Internal Server Error")
    search = content_of(glm4, {"model": "glm-4", "messages": [user("今天黄金的价格")],
                               "tools": [{"type": "simple_browser"}]})
    assert search == 'simple_browser\nsearch("今天黄金的价格", recency_days=7)'
    mixed = content_of(glm4, {"model": "glm-4", "messages": [user(WEATHER_QUESTION)],
                              "tools": [WEATHER_TOOL, {"type": "cogview"}]})
    assert mixed == f"get_current_weather\n{WEATHER_ARGUMENTS}"  # the raw native tool syntax


@pytest.mark.parametrize(
    ("change", "status", "body"),
    [
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}, 422,
         None),
        ({"messages": [user("hi"), {"role": "assistant", "content": "hello"}]}, 400,
         {"detail": "Invalid request"}),
        ({"messages": [{"role": "robot", "content": "hi"}]}, 422, None),
        ({"top_p": 0}, 500, b"Internal Server Error"),
        ({"top_p": 1.5}, 500, b"Internal Server Error"),
        ({"temperature": -0.1}, 500, b"Internal Server Error"),
    ],
    ids=["list-content", "assistant-last", "bad-role", "top_p-0", "top_p-1.5", "negative-temp"],
)
def test_glm4_error_cases(glm4: str, change: dict[str, Any], status: int, body: Any) -> None:
    request = {"model": "glm-4", "messages": [user("hi")], "stream": True, **change}
    response = post_chat(glm4, request)
    assert response.status == status
    if status == 500:
        assert response.headers["content-type"].startswith("text/plain")
        assert response.body == body
    elif body is not None:
        assert response.json() == body
    else:
        detail = response.json()["detail"]
        assert isinstance(detail, list) and detail[0]["loc"][:2] == ["body", "messages"]


def test_glm4_max_tokens_says_length_only_when_streaming(glm4: str) -> None:
    request = {"model": "glm-4", "messages": [user("hello there")], "max_tokens": 3}
    whole = post_chat(glm4, request).json()
    assert whole["choices"][0]["finish_reason"] == "stop"  # never "length" without streaming
    assert whole["usage"]["completion_tokens"] == 3
    frames = chunks(post_chat(glm4, {**request, "stream": True}).body, CRLF2)
    assert [f["choices"][0]["finish_reason"] for f in frames] == [None, None, "length"]


def test_glm4_invalid_json_is_a_422(glm4: str) -> None:
    response = post_chat(glm4, b"{not json")
    assert response.status == 422 and response.json()["detail"][0]["type"] == "json_invalid"


# -- glm4 flavour with a 4v model: the vision server -------------------------------------------


def test_glm4v_describes_a_jpeg_with_the_vision_servers_body(glm4: str) -> None:
    url = data_url(image_bytes((250, 10, 10), (64, 48)))
    messages = [image_message("What’s in this image?", url),
                {"role": "assistant", "content": "A red square."},
                user("Do you think this is a spring or winter photo?")]
    body = post_chat(glm4, {"model": "glm-4v", "messages": messages}).json()
    assert list(body) == ["model", "object", "choices", "created", "usage"]  # no id
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert list(body["choices"][0]) == ["index", "message"]  # no finish_reason
    content = body["choices"][0]["message"]["content"]
    assert "Do you think this is a spring or winter photo?" in content
    assert "64×48 pixels" in content and "dominant colour is red" in content
    assert body["usage"]["completion_tokens"] < 0  # as wrong as the real server's


def test_glm4v_stream_frames(glm4: str) -> None:
    url = data_url(image_bytes((0, 0, 250)))
    response = post_chat(glm4, {"model": "GLM-4v-9b", "stream": True,
                                "messages": [image_message("colour? [[demo:say=Blue.]]", url)]})
    assert response.complete
    expected = [
        {"role": "assistant"}, {"role": "assistant", "content": "Blue"},
        {"role": "assistant", "content": "."}, {"role": "assistant", "content": ""}, {},
    ]
    frames = chunks(response.body, CRLF2)
    assert [frame["choices"] for frame in frames] == [[{"index": 0, "delta": d}] for d in expected]
    assert all(list(frame) == ["model", "object", "choices"] for frame in frames)
    assert b"[DONE]" not in response.body


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "system", "content": "Be brief."}, user("hi")],
        [{"role": "assistant", "content": "hello"}, user("hi")],
        [user("a"), {"role": "assistant", "content": "b"}, {"role": "assistant", "content": "c"},
         user("d")],
        [image_message("png?", data_url(image_bytes((1, 2, 3), fmt="PNG"), "image/png"))],
        [image_message("broken", "data:image/jpeg;base64,!!!notbase64")],
        [image_message("not an image", data_url(b"just some text"))],
    ],
    ids=["system", "assistant-first", "two-assistants", "png-url", "bad-base64", "not-an-image"],
)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_glm4v_refusals_are_bare_500s(glm4: str, messages: list[Any], stream: bool) -> None:
    response = post_chat(glm4, {"model": "glm-4v", "messages": messages, "stream": stream})
    assert (response.status, response.body) == (500, b"Internal Server Error")


# -- openai flavour ---------------------------------------------------------------------------


def test_openai_stream_frames_with_usage(oai: str) -> None:
    response = post_chat(oai, {"model": "glm-4", "messages": [user("[[demo:say=Hi there]]")],
                               "stream": True, "stream_options": {"include_usage": True}})
    payloads = sse_payloads(response.body, LF2)
    assert b"\r\n" not in response.body and payloads[-1] == "[DONE]"
    frames = [json.loads(p) for p in payloads[:-1]]
    assert frames[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(f["choices"][0]["delta"].get("content", "") for f in frames[:-1]) == "Hi there"
    assert frames[-2]["choices"][0]["finish_reason"] == "stop"
    assert frames[-1]["choices"] == [] and frames[-1]["usage"]["completion_tokens"] == len(
        tokenize("Hi there")
    )
    assert all(f["id"] == frames[0]["id"] and isinstance(f["created"], int) for f in frames)


def test_openai_non_stream_usage_and_length(oai: str) -> None:
    body = post_chat(oai, {"model": "glm-4", "messages": [user("hello there")],
                           "max_tokens": 3}).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3
    assert body["choices"][0]["message"]["content"] == "".join(tokenize("You asked: “")[:3])


def test_openai_errors_and_images(oai: str) -> None:
    bad = post_chat(oai, {"model": "glm-4", "messages": [user("hi")], "top_p": 2})
    assert bad.status == 400 and bad.json()["error"]["param"] == "top_p"
    broken = post_chat(oai, {"model": "glm-4",
                             "messages": [image_message("what?", data_url(b"nope", "image/png"))]})
    assert broken.status == 400 and broken.json()["error"]["code"] == "invalid_image"
    png = data_url(image_bytes((0, 200, 0, 255), fmt="PNG", mode="RGBA"), "image/png")
    text = content_of(oai, {"model": "glm-4", "messages": [image_message("what?", png)]})
    assert "mode RGBA (PNG)" in text and "dominant colour is green" in text


# -- the openai client on both flavours ----------------------------------------------------------


@pytest.mark.parametrize("flavour", ["glm4", "oai"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_openai_client_gets_the_question_back_literally(
    flavour: str, stream: bool, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(flavour)
    kwargs: dict[str, Any] = {"model": "glm-4", "messages": [user(NASTY)]}
    if stream:
        parts = [c.choices[0].delta.content or "" for c in
                 client(url).chat.completions.create(stream=True, **kwargs) if c.choices]
        text = "".join(parts)
    else:
        text = client(url).chat.completions.create(**kwargs).choices[0].message.content or ""
    assert text.startswith(f"You asked: “{NASTY}”\n\n")
    assert text == content_of(url, kwargs)  # deterministic, streamed or not


@pytest.mark.parametrize("flavour", ["glm4", "oai"])
def test_openai_client_accumulates_streamed_tool_calls(
    flavour: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(flavour)
    stream = client(url).chat.completions.create(
        model="glm-4", messages=[user(WEATHER_QUESTION)], tools=[WEATHER_TOOL],
        tool_choice="auto", stream=True,
    )
    names, arguments, finish = [], [], None
    for chunk in stream:
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or []:
                assert call.index == 0
                names.append(call.function.name if call.function else None)
                arguments.append(call.function.arguments or "" if call.function else "")
            finish = choice.finish_reason or finish
    assert [n for n in names if n] == ["get_current_weather"]
    assert "".join(arguments) == WEATHER_ARGUMENTS and finish == "tool_calls"


def send_raw(url: str, request: bytes) -> tuple[int, dict[str, str], Any]:
    """Write ``request`` on a bare socket and read the answer to the end (the server closes)."""
    with socket.create_connection(address(url), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, json.loads(body)


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1_0", b""])
def test_a_malformed_content_length_is_a_400_in_each_flavours_form(
    glm4: str, oai: str, length: bytes
) -> None:
    request = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Type: application/json\r\nContent-Length: " + length + b"\r\n\r\n{}")
    status, headers, body = send_raw(glm4, request)
    assert (status, headers["connection"]) == (400, "close")
    assert body == {"detail": "Invalid Content-Length header"}
    status, _, body = send_raw(oai, request)
    assert status == 400
    assert body["error"]["message"] == "Invalid Content-Length header"
    assert body["error"]["type"] == "invalid_request_error"


def test_a_malformed_chunk_size_is_a_400(glm4: str) -> None:
    request = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")
    status, _, body = send_raw(glm4, request)
    assert (status, body) == (400, {"detail": "Invalid chunk size"})


def test_markdown_showcase(oai: str) -> None:
    text = content_of(oai, {"model": "glm-4", "messages": [user("Show me a Markdown demo")]})
    for part in ("# Markdown showcase", "\n- ", "| Language", "```python\n", "```rust\n",
                 "](https://"):
        assert part in text


# -- directives ---------------------------------------------------------------------------------


def test_status_directive_in_each_flavours_error_form(glm4: str, oai: str) -> None:
    def ask(url: str, status: int) -> Any:
        return post_chat(url, {"model": "glm-4", "stream": True,
                               "messages": [user(f"hi [[demo:status={status}]]")]})

    assert ask(glm4, 400).json()["detail"].startswith("The demo server was asked for HTTP 400")
    assert isinstance(ask(glm4, 422).json()["detail"], list)
    assert (ask(glm4, 500).status, ask(glm4, 500).body) == (500, b"Internal Server Error")
    limited = ask(oai, 429)
    assert limited.status == 429
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert ask(oai, 503).json()["error"]["type"] == "server_error"
    with pytest.raises(openai.RateLimitError):
        client(oai).chat.completions.create(model="glm-4",
                                            messages=[user("[[demo:status=429]]")])


@pytest.mark.parametrize("flavour", ["glm4", "oai"])
def test_cut_directive_drops_the_connection(flavour: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(flavour)
    say = "[[demo:say=one two three four five]] [[demo:cut=7]]"
    streamed = post_chat(url, {"model": "glm-4", "messages": [user(say)], "stream": True})
    assert streamed.status == 200 and not streamed.complete
    separator = CRLF2 if flavour == "glm4" else LF2
    frames = chunks(streamed.body, separator)
    text = "".join(f["choices"][0]["delta"].get("content") or "" for f in frames)
    assert text == "one two" and b"[DONE]" not in streamed.body
    assert all(f["choices"][0]["finish_reason"] is None for f in frames)
    whole = post_chat(url, {"model": "glm-4", "messages": [user(say)]})
    assert not whole.complete and whole.body.endswith(b'"content":"one two')
    parts: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in client(url).chat.completions.create(model="glm-4", messages=[user(say)],
                                                         stream=True):
            parts.extend(c.delta.content or "" for c in chunk.choices)
    assert "".join(parts) == "one two"


def test_size_directive(glm4: str) -> None:
    body = {"model": "glm-4", "messages": [user("[[demo:size=30000]]")], "max_tokens": 5}
    text = content_of(glm4, body)
    assert len(text.encode()) == 30_000 and text == sized_markdown(30_000)


def test_rate_and_delay_directives_pace_the_stream(oai: str) -> None:
    words = " ".join(["word"] * 500)  # 500 tokens: "word", then " word" each
    count = len(tokenize(words))
    started = time.monotonic()
    fast = post_chat(oai, {"model": "glm-4", "stream": True,
                           "messages": [user(f"[[demo:say={words}]] [[demo:rate=2000]]")]})
    elapsed = time.monotonic() - started
    assert len(chunks(fast.body, LF2)) == count + 2  # role chunk, tokens, finish chunk
    assert count / 2000 * 0.9 <= elapsed < count / 2000 + 1.5, elapsed
    started = time.monotonic()
    post_chat(oai, {"model": "glm-4", "messages": [user("hi [[demo:delay=0.3]]")],
                    "stream": True})
    assert time.monotonic() - started >= 0.3


def test_default_token_rate_paces_replies() -> None:
    with DemoServer(flavor="glm4", token_rate=200) as url:
        started = time.monotonic()
        response = post_chat(url, {"model": "glm-4", "stream": True,
                                   "messages": [user("[[demo:say=" + "ab " * 40 + "]]")]})
        elapsed = time.monotonic() - started
    tokens = len(chunks(response.body, CRLF2))
    assert tokens == len(tokenize("ab " * 40)) and elapsed >= tokens / 200 * 0.9


# -- logging, auth, lifecycle -----------------------------------------------------------------


def test_request_log_and_api_key(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    secret = "sk-demo-secret-123"
    with DemoServer(flavor="openai", token_rate=0, log_requests=log, api_key=secret) as url:
        with pytest.raises(openai.AuthenticationError):
            client(url, "wrong").models.list()
        refused = post_chat(url, {"model": "glm-4", "messages": [user("x")]})
        assert refused.status == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"
        reply = client(url, secret).chat.completions.create(model="glm-4",
                                                           messages=[user("logged")])
        assert reply.choices[0].message.content
        threads = [threading.Thread(target=post_chat, args=(url, {"model": "glm-4",
                   "messages": [user(f"q{i}")]}), kwargs={"headers": {
                       "authorization": f"Bearer {secret}"}}) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    text = log.read_text(encoding="utf-8")
    assert secret not in text and "wrong" not in text
    entries = [json.loads(line) for line in text.splitlines()]
    assert entries[0] == {"method": "GET", "path": "/v1/models", "body": None}
    posts = [e["body"] for e in entries if e["method"] == "POST"]
    assert len(posts) == 10
    assert {"model": "glm-4", "messages": [user("logged")]} in posts
    with DemoServer(flavor="glm4", token_rate=0, api_key=secret) as url:
        refused = post_chat(url, {"model": "glm-4", "messages": [user("x")]})
        assert refused.status == 401 and "detail" in refused.json()
        assert raw_request(url, "GET", "/health").status == 200


def test_stop_cuts_open_streams_and_frees_the_port() -> None:
    server = DemoServer(flavor="glm4", token_rate=5)
    url = server.start()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1/")
    result: list[Any] = []
    streaming = threading.Event()
    slow = threading.Thread(target=lambda: result.append(post_chat(
        url, {"model": "glm-4", "messages": [user("a long answer please")], "stream": True},
        on_headers=streaming.set)))
    slow.start()
    assert streaming.wait(30), "the stream never started"  # it then runs at 5 tokens/s
    started = time.monotonic()
    server.stop()
    slow.join(timeout=10)
    assert time.monotonic() - started < 5
    assert result and not result[0].complete
    with pytest.raises(OSError), socket.create_connection(address(url), timeout=2):
        pass


def test_run_demo_server_prints_its_url_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "cli.jsonl"
    code = ("import sys; from pathlib import Path; from glm_tui.demo.server import "
            f"run_demo_server; sys.exit(run_demo_server('127.0.0.1', {port}, 'glm4', 400.0, "
            f"Path({str(log)!r})))")
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first.strip() == f"glm-tui demo server (glm4) at http://127.0.0.1:{port}/v1/"
        assert process.stderr.readline().strip() == "Ctrl+C to stop"
        url = f"http://127.0.0.1:{port}/v1/"
        assert raw_request(url, "GET", "/health").status == 200
        taken = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               timeout=60, check=False)
        assert taken.returncode == 1 and "cannot listen" in taken.stderr
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert "GET /health -> 200" in process.stderr.read()
        assert json.loads(log.read_text().splitlines()[0])["path"] == "/health"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_forever_in_a_thread_stops_from_another() -> None:
    server = DemoServer(flavor="openai", token_rate=0)
    urls: list[str] = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"on_ready": urls.append})
    thread.start()
    deadline = time.monotonic() + 30
    while not urls:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert raw_request(urls[0], "GET", "/v1/models").status == 200
    server.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()
