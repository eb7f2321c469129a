"""The app and ``glm-tui ask`` share one turn: for the same session and settings they send the
same request body, byte for byte, as the demo server's request log shows.

The session is set up in the app the way a person would have it (a system prompt, every sampling
field of the request set, a function tool and the All Tools ``cogview`` entry), and expressed to
``ask`` with its flags; both read the same config file (a GLM-4 server profile).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from glm_tui.chat.tools import WEATHER_TOOL
from glm_tui.model.sampling import SamplingParams
from glm_tui.settings.config import load_settings
from glm_tui.ui.app import GlmTuiApp
from tests.e2e.test_ask import glm_tui
from tests.ui.conftest import ready, send, wait_reply_done

SYSTEM = "You are terse. 你好 [b]not markup[/b]"
QUESTION = "What's the Celsius temperature in San Francisco? And draw a cat."
SAMPLING = SamplingParams(temperature=0.3, top_p=0.5, presence_penalty=-1.5, max_tokens=64)
COGVIEW = {"type": "cogview"}


def chat_lines(log: Path) -> list[str]:
    """The logged chat requests, as the exact text lines the demo server wrote."""
    lines = []
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["method"] == "POST" and entry["path"].endswith("/chat/completions"):
            lines.append(line)
    return lines


async def app_sends(tools: list[dict[str, Any]]) -> None:
    app = GlmTuiApp(load_settings())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        screen._system_prompt_edited(SYSTEM)
        screen.apply_sampling(SAMPLING)
        screen.apply_tools(tools, "auto")
        await send(pilot, QUESTION)
        await wait_reply_done(pilot)


@pytest.mark.parametrize("tools", [[WEATHER_TOOL, COGVIEW], [WEATHER_TOOL]],
                         ids=["all-tools", "function-tool"])
async def test_ask_and_the_app_send_byte_identical_requests(
    glm4_server: str, request_log: Path, config_path: Path, tmp_path: Path,
    tools: list[dict[str, Any]],
) -> None:
    config_path.write_text(
        f'server = "local"\n\n[servers.local]\nbase_url = "{glm4_server}"\nmodel = "glm-4"\n'
        'kind = "glm4"\n', encoding="utf-8")
    await app_sends(tools)
    [from_app] = chat_lines(request_log)

    tools_file = tmp_path / "tools.json"
    tools_file.write_text(json.dumps(tools), encoding="utf-8")
    result = glm_tui(
        "ask", "--system", SYSTEM, "--tools", str(tools_file),
        "--temperature", "0.3", "--top-p", "0.5", "--presence-penalty", "-1.5",
        "--max-tokens", "64", QUESTION,
    )
    assert result.returncode == 0, result.stderr
    from_ask = chat_lines(request_log)[1]

    assert from_ask == from_app
    body = json.loads(from_app)["body"]
    assert body["messages"][0] == {"role": "system", "content": SYSTEM}
    assert (body["temperature"], body["top_p"], body["presence_penalty"],
            body["max_tokens"]) == (0.3, 0.5, -1.5, 64)
    assert body["tools"] == tools and body["tool_choice"] == "auto"
    all_tools = COGVIEW in tools
    assert body["stream"] is not all_tools  # GLM-4 fails All Tools when streaming
    assert ("without streaming" in result.stderr) is all_tools


def test_ask_with_cogview_on_the_demo_works_and_says_why_it_is_not_streamed(
    tmp_path: Path,
) -> None:
    tools = tmp_path / "cogview.json"
    tools.write_text(json.dumps([COGVIEW]), encoding="utf-8")
    result = glm_tui("ask", "--demo", "--tools", str(tools), "draw a cat")
    assert result.returncode == 0, result.stderr
    assert "draw a cat" in result.stdout
    assert "glm-tui: cogview does not work with streaming on the GLM-4 server" in result.stderr


def test_ask_adopts_glms_raw_call_text_as_the_app_does(glm4_server: str,
                                                        tmp_path: Path) -> None:
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([WEATHER_TOOL]), encoding="utf-8")
    raw = 'get_current_weather\n{"location": "Paris", "format": "celsius"}'
    result = glm_tui("ask", "--base-url", glm4_server, "--tools", str(tools), "--json",
                     f"[[demo:say={raw}]]")
    assert result.returncode == 0, result.stderr
    message = json.loads(result.stdout)
    [call] = message["tool_calls"]
    assert call["function"] == {"name": "get_current_weather",
                                "arguments": '{"location": "Paris", "format": "celsius"}'}
    assert "offered as a tool call" in result.stderr


async def test_ask_words_a_server_error_as_the_app_does(glm4_server: str) -> None:
    """The error line of ``ask`` is the text the app stores and shows under a failed reply."""
    from glm_tui.chat.turn import ChatSource, Turn, prepare_turn
    from glm_tui.client.client import ChatClient
    from glm_tui.model.server_kind import ServerKind
    from glm_tui.model.session import Message, Role, Session

    question = "Hello [[demo:status=500]]"
    session = Session(model="glm-4", messages=[Message(Role.USER, question)])
    client = ChatClient(glm4_server, "EMPTY", connect_timeout=10, read_timeout=60)
    turn = Turn(prepare_turn(session, ServerKind.GENERIC), Message(Role.ASSISTANT),
                save_interval=1.0)

    async def connect() -> ChatSource:
        return client

    class Quiet:
        def __init__(self) -> None:
            self.text = lambda delta: None
            self.reasoning = lambda delta: None

        def answer_was_reasoning(self, text: str) -> None: ...
        def state(self) -> None: ...
        def link(self, *_: object) -> None: ...
        def stats(self, *_: object) -> None: ...
        def save(self) -> None: ...
        def finished(self, *_: object) -> None: ...

    try:
        outcome = await turn.run(connect, Quiet())
    finally:
        await client.aclose()
    words = outcome.reply.error
    assert words and "500" in words

    result = glm_tui("ask", "--base-url", glm4_server, question)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == f"glm-tui: error: {words}\n"


async def test_choosing_a_vision_model_on_a_glm4_server_gives_the_glm4v_rules(
    glm4_server: str, request_log: Path, config_path: Path
) -> None:
    config_path.write_text(
        f'server = "local"\n\n[servers.local]\nbase_url = "{glm4_server}"\nmodel = "glm-4"\n'
        'kind = "glm4"\n', encoding="utf-8")
    app = GlmTuiApp(load_settings())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        screen._system_prompt_edited("Be brief.")
        screen.set_model("glm-4v-9b")
        await send(pilot, "Hello")
        await wait_reply_done(pilot)
    result = glm_tui("ask", "--model", "glm-4v-9b", "--system", "Be brief.", "Hello")
    assert result.returncode == 0, result.stderr
    from_app, from_ask = chat_lines(request_log)
    assert from_ask == from_app
    # GLM-4V refuses a system message: it is folded into the first question.
    assert json.loads(from_app)["body"]["messages"] == [
        {"role": "user", "content": "Be brief.\n\nHello"},
    ]
