"""The GLM-4 repository's own client script, unchanged, against the demo server on port 8000.

``tests/fixtures/openai_api_request.py`` is a verbatim copy of the reference client (the seed). It
hardcodes ``http://127.0.0.1:8000/v1/``, so the demo server listens there; if something else holds
port 8000 the tests are skipped rather than talking to it. The script's functions only print, so the
tests watch its client's ``create`` calls (without changing what they do) to check the answers.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from glm_tui.demo.server import DemoServer
from tests.support.demo import WEATHER_ARGUMENTS, image_bytes

REFERENCE_PORT = 8000
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "fixtures" / "openai_api_request.py"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    demo = DemoServer(port=REFERENCE_PORT, flavor="glm4", token_rate=0)
    try:
        url = demo.start()
    except OSError as error:
        pytest.skip(f"port {REFERENCE_PORT} is taken ({error}); the reference script needs it")
    try:
        yield url
    finally:
        demo.stop()


@pytest.fixture
def reference(server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[Any]]]:
    """The reference module, with every response its client receives recorded as it passes."""
    from tests.fixtures import openai_api_request as module

    seen: list[Any] = []
    completions = module.client.chat.completions
    original = completions.create

    def watch(*args: Any, **kwargs: Any) -> Any:
        response = original(*args, **kwargs)
        if not kwargs.get("stream"):
            seen.append(response)
            return response
        chunks: list[Any] = []
        seen.append(chunks)

        def relay() -> Iterator[Any]:
            for chunk in response:
                chunks.append(chunk)
                yield chunk

        return relay()

    monkeypatch.setattr(completions, "create", watch)
    yield module, seen


def streamed_text(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def streamed_arguments(chunks: list[Any]) -> tuple[str, str]:
    name, arguments = "", ""
    for chunk in chunks:
        for call in chunk.choices[0].delta.tool_calls or []:
            name += call.function.name or ""
            arguments += call.function.arguments or ""
    return name, arguments


@pytest.mark.parametrize("use_stream", [False, True], ids=["whole", "stream"])
def test_simple_chat_follows_the_system_prompt(
    reference: tuple[Any, list[Any]], use_stream: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    module, seen = reference
    module.simple_chat(use_stream=use_stream)
    [response] = seen
    text = streamed_text(response) if use_stream else response.choices[0].message.content
    assert text.startswith("喵喵喵 你问：“你是谁”")
    printed = capsys.readouterr().out.splitlines()  # one print per response or chunk
    assert len(printed) == (len(response) if use_stream else 1)
    assert all(line.startswith("ChatCompletion") for line in printed)


@pytest.mark.parametrize("use_stream", [False, True], ids=["whole", "stream"])
def test_function_chat_calls_the_weather_tool(
    reference: tuple[Any, list[Any]], use_stream: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    module, seen = reference
    module.function_chat(use_stream=use_stream)
    [response] = seen
    if use_stream:
        assert streamed_arguments(response) == ("get_current_weather", WEATHER_ARGUMENTS)
        assert response[-1].choices[0].finish_reason == "tool_calls"
    else:
        [call] = response.choices[0].message.tool_calls
        assert (call.function.name, call.function.arguments) == ("get_current_weather",
                                                                  WEATHER_ARGUMENTS)
        assert response.choices[0].finish_reason == "tool_calls"
    assert "get_current_weather" in capsys.readouterr().out


@pytest.mark.parametrize("use_stream", [False, True], ids=["whole", "stream"])
def test_glm4v_image_chat_describes_the_jpeg(
    reference: tuple[Any, list[Any]], use_stream: bool, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    module, seen = reference
    photo = tmp_path / "demo.jpg"
    photo.write_bytes(image_bytes((40, 170, 60), (320, 240)))
    module.glm4v_simple_image_chat(use_stream=use_stream, img_path=str(photo))
    [response] = seen
    text = streamed_text(response) if use_stream else response.choices[0].message.content
    assert "Do you think this is a spring or winter photo?" in text
    assert "320×240 pixels" in text and "dominant colour is green" in text
    assert capsys.readouterr().out


def test_the_commented_tool_result_turn_is_answered(reference: tuple[Any, list[Any]]) -> None:
    module, _ = reference
    messages = [
        {"role": "user", "content": "What's the Celsius temperature in San Francisco?"},
        {"role": "assistant", "content": None, "function_call": None, "tool_calls": [{
            "id": "call_1717912616815", "type": "function",
            "function": {"name": "get_current_weather",
                         "arguments": "{\"location\": \"San Francisco, CA\", "
                                      "\"format\": \"celsius\"}"}}]},
        {"tool_call_id": "call_1717912616815", "role": "tool", "name": "get_current_weather",
         "content": "23°C"},
    ]
    reply = module.client.chat.completions.create(model="glm-4", messages=messages,
                                                  max_tokens=256)
    assert reply.choices[0].message.content == "It is 23°C in San Francisco."


@pytest.mark.parametrize(
    ("tool", "question", "answer"),
    [
        ("cogview", "帮我画一张天空的画画吧", "cogview\n帮我画一张天空的画画吧"),
        ("simple_browser", "今天黄金的价格",
         'simple_browser\nsearch("今天黄金的价格", recency_days=7)'),
    ],
)
def test_all_tools_variants(
    reference: tuple[Any, list[Any]], tool: str, question: str, answer: str
) -> None:
    module, _ = reference
    quick = module.client.with_options(max_retries=0)
    request: dict[str, Any] = {
        "model": "glm-4", "messages": [{"role": "user", "content": question}],
        "tools": [{"type": tool}], "max_tokens": 256, "tool_choice": "auto",
    }
    reply = quick.chat.completions.create(**request)
    assert reply.choices[0].message.content == answer
    with pytest.raises(openai.InternalServerError):
        quick.chat.completions.create(stream=True, **request)


def test_the_script_runs_as_a_program(server: str) -> None:
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                            encoding="utf-8", timeout=60, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ChatCompletion(") and "喵喵喵" in result.stdout
