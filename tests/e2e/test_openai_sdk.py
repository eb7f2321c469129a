"""The official ``openai`` SDK against the demo server: GLM-4's reference requests, one by one.

GLM-4's basic demo ships a small client that tries its OpenAI-compatible server in a handful of
ways: a chat that must follow a system prompt, a function tool picked with ``tool_choice``, the
built-in "All Tools" (CogView and the browser), and GLM-4V describing a JPEG before answering text
turns about it, each streamed and whole. People point exactly that kind of script at the demo
server, so these tests send the same requests through the SDK (not through glm-tui's own client)
and check both sides: what the server received, read back from its request log, and what the SDK
handed back to the caller.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from glm_tui.demo.server import DemoServer
from tests.support.demo import WEATHER_ARGUMENTS, WEATHER_QUESTION, data_url, image_bytes

# The two sets of sampling values the reference client uses: a sharp one for the tool request,
# a calmer one for plain and image chats.
TOOL_SAMPLING: dict[str, Any] = {"max_tokens": 256, "temperature": 0.9,
                                 "presence_penalty": 1.2, "top_p": 0.1}
CHAT_SAMPLING: dict[str, Any] = {"max_tokens": 256, "temperature": 0.4,
                                 "presence_penalty": 1.2, "top_p": 0.8}

# The system prompt asks for "喵喵喵" at the start of every answer; the question is "who are you".
MEOW_SYSTEM = "请在你输出的时候都带上“喵喵喵”三个字，放在开头。"
WHO_ARE_YOU = "你是谁"

WEATHER_FUNCTION: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string",
                             "description": "The city and state, e.g. San Francisco, CA"},
                "format": {"type": "string", "enum": ["celsius", "fahrenheit"],
                           "description": "The temperature unit to use. Infer this from the "
                                          "users location."},
            },
            "required": ["location", "format"],
        },
    },
}

PHOTO_QUESTION = "What’s in this image?"  # the curly apostrophe is part of the request
SEASON_QUESTION = "Do you think this is a spring or winter photo?"
PHOTO_SIZE = (320, 240)
PHOTO_GREEN = (40, 170, 60)

STREAM_MODES = pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])


@dataclass
class Answer:
    """What the SDK returned, the same shape whether it streamed or not."""

    text: str = ""
    calls: list[tuple[str, str]] = field(default_factory=list)
    finish: str | None = None
    pieces: int = 0  # chunks read (1 for a whole reply)


def create(client: Any, *, stream: bool, **request: Any) -> Answer:
    """Make one ``chat.completions.create`` call and fold its reply (or its chunks) together."""
    reply = client.chat.completions.create(stream=stream, **request)
    if not stream:
        choice = reply.choices[0]
        calls = [(c.function.name, c.function.arguments)
                 for c in choice.message.tool_calls or []]
        return Answer(choice.message.content or "", calls, choice.finish_reason, 1)
    answer = Answer()
    names: dict[int, str] = {}
    arguments: dict[int, str] = {}
    for chunk in reply:
        answer.pieces += 1
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        answer.text += choice.delta.content or ""
        for call in choice.delta.tool_calls or []:
            names[call.index] = names.get(call.index, "") + (call.function.name or "")
            arguments[call.index] = arguments.get(call.index, "") + (call.function.arguments or "")
        answer.finish = choice.finish_reason or answer.finish
    answer.calls = [(names[i], arguments[i]) for i in sorted(names)]
    return answer


def received(log: Path) -> list[dict[str, Any]]:
    """The chat request bodies the demo server logged, oldest first."""
    if not log.exists():
        return []
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return [e["body"] for e in entries
            if e["method"] == "POST" and e["path"].endswith("/chat/completions")]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One GLM-4-flavoured demo server (it answers glm-4 and glm-4v) for the whole module."""
    log = tmp_path_factory.mktemp("sdk") / "requests.jsonl"
    demo = DemoServer(flavor="glm4", token_rate=0, log_requests=log)
    url = demo.start()
    try:
        yield url, log
    finally:
        demo.stop()


@pytest.fixture
def sdk(server: tuple[str, Path]) -> Iterator[tuple[Any, Path]]:
    """An SDK client for the demo server (no retries), and a log that starts empty."""
    import openai

    url, log = server
    log.write_text("", encoding="utf-8")
    client = openai.OpenAI(api_key="EMPTY", base_url=url, max_retries=0)
    try:
        yield client, log
    finally:
        client.close()


@STREAM_MODES
def test_a_chat_with_a_system_prompt_opens_with_the_asked_phrase(
    sdk: tuple[Any, Path], stream: bool
) -> None:
    client, log = sdk
    messages = [{"role": "system", "content": MEOW_SYSTEM},
                {"role": "user", "content": WHO_ARE_YOU}]
    answer = create(client, model="glm-4", messages=messages, stream=stream, **CHAT_SAMPLING)

    assert received(log) == [{"model": "glm-4", "messages": messages, "stream": stream,
                              **CHAT_SAMPLING}]
    assert answer.text.startswith("喵喵喵 你问：“你是谁”")
    assert answer.finish == "stop" and not answer.calls
    assert (answer.pieces > 1) is stream


@STREAM_MODES
def test_a_weather_question_with_the_weather_tool_is_answered_by_a_call(
    sdk: tuple[Any, Path], stream: bool
) -> None:
    client, log = sdk
    messages = [{"role": "user", "content": WEATHER_QUESTION}]
    answer = create(client, model="glm-4", messages=messages, tools=[WEATHER_FUNCTION],
                    tool_choice="auto", stream=stream, **TOOL_SAMPLING)

    assert received(log) == [{"model": "glm-4", "messages": messages, "tools": [WEATHER_FUNCTION],
                              "tool_choice": "auto", "stream": stream, **TOOL_SAMPLING}]
    assert answer.calls == [("get_current_weather", WEATHER_ARGUMENTS)]
    assert answer.finish == "tool_calls" and answer.text == ""


@STREAM_MODES
def test_the_tool_result_turn_is_answered_in_words(sdk: tuple[Any, Path], stream: bool) -> None:
    client, log = sdk
    call = {"id": "call_weather_1", "type": "function",
            "function": {"name": "get_current_weather",
                         "arguments": '{"location": "San Francisco, CA", "format": "celsius"}'}}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": WEATHER_QUESTION},
        {"role": "assistant", "content": None, "function_call": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_weather_1", "name": "get_current_weather",
         "content": "23°C"},
    ]
    answer = create(client, model="glm-4", messages=messages, stream=stream, max_tokens=256)

    [body] = received(log)
    assert body["messages"] == messages  # the SDK passes the tool turns through as given
    assert answer.text == "It is 23°C in San Francisco."
    assert answer.finish == "stop"


@STREAM_MODES
def test_glm4v_describes_a_jpeg_and_then_answers_the_follow_up(
    sdk: tuple[Any, Path], stream: bool
) -> None:
    client, log = sdk
    photo = data_url(image_bytes(PHOTO_GREEN, PHOTO_SIZE, fmt="JPEG"))
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": PHOTO_QUESTION},
                                     {"type": "image_url", "image_url": {"url": photo}}]},
        {"role": "assistant", "content": "A plain green picture: no people, no text."},
        {"role": "user", "content": SEASON_QUESTION},
    ]
    answer = create(client, model="glm-4v", messages=messages, stream=stream, **CHAT_SAMPLING)

    [body] = received(log)
    assert body == {"model": "glm-4v", "messages": messages, "stream": stream, **CHAT_SAMPLING}
    assert body["messages"][0]["content"][1]["image_url"]["url"] == photo  # every byte arrived
    assert SEASON_QUESTION in answer.text  # the last text turn is what is answered ...
    assert "320×240 pixels" in answer.text  # ... about the image of the first turn
    assert "dominant colour is green" in answer.text
    assert answer.finish is None  # GLM-4V's server never says why it stopped


@pytest.mark.parametrize(
    ("tool", "question", "expected"),
    [
        ("cogview", "帮我画一张天空的画画吧", "cogview\n帮我画一张天空的画画吧"),
        ("simple_browser", "今天黄金的价格",
         'simple_browser\nsearch("今天黄金的价格", recency_days=7)'),
    ],
    ids=["cogview", "simple_browser"],
)
def test_all_tools_answer_whole_but_refuse_to_stream(
    sdk: tuple[Any, Path], tool: str, question: str, expected: str
) -> None:
    """GLM-4's server answers All Tools with the model's raw text, and fails (HTTP 500) when
    asked to stream them: the reason glm-tui turns streaming off for All Tools."""
    import openai

    client, log = sdk
    request: dict[str, Any] = {"model": "glm-4",
                               "messages": [{"role": "user", "content": question}],
                               "tools": [{"type": tool}], "tool_choice": "auto", **TOOL_SAMPLING}
    answer = create(client, stream=False, **request)
    assert answer.text == expected and not answer.calls

    with pytest.raises(openai.InternalServerError):
        create(client, stream=True, **request)
    assert received(log) == [{**request, "stream": False}, {**request, "stream": True}]


def test_a_separate_serve_demo_process_answers_the_sdk(tmp_path: Path) -> None:
    """``glm-tui serve-demo`` as its own program (what a user starts before running their own
    script) answers the SDK and logs what it got."""
    import openai

    log = tmp_path / "served.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "glm_tui", "serve-demo", "--port", "0", "--token-rate", "5000",
         "--log-requests", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = _announced_url(process)
        messages = [{"role": "system", "content": MEOW_SYSTEM},
                    {"role": "user", "content": WHO_ARE_YOU}]
        with openai.OpenAI(api_key="EMPTY", base_url=url, max_retries=0) as client:
            answer = create(client, model="glm-4", messages=messages, stream=True,
                            **CHAT_SAMPLING)
        assert answer.text.startswith("喵喵喵")
        assert received(log) == [{"model": "glm-4", "messages": messages, "stream": True,
                                  **CHAT_SAMPLING}]
    finally:
        process.terminate()
        process.wait(timeout=30)


def _announced_url(process: subprocess.Popen[str], timeout: float = 30.0) -> str:
    """The base URL a ``serve-demo`` process prints once its port is bound."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    for line in process.stderr:
        found = re.search(r"at (http://127\.0\.0\.1:\d+/v1/)", line)
        if found:
            # Keep reading its access log so the server never blocks on a full pipe.
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return found.group(1)
        assert time.monotonic() < deadline, "serve-demo did not say where it listens"
    raise AssertionError(f"serve-demo exited ({process.wait()}) before listening")
