"""The demo server's request log proves that what the preview shows is exactly what was sent.

For several settings, a real request is built with build_request, shown by the preview, sent by
the ChatClient over loopback, and read back from the server's ``--log-requests`` file: every set
value arrives as shown, and every unset one is left out. The copied curl command is run too.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Static, TextArea

from glm_tui.chat.preview import curl_command, preview_body
from glm_tui.client.client import ChatClient
from glm_tui.client.events import ChatEvent, Finished, StreamError, TextDelta
from glm_tui.demo.server import DemoServer
from glm_tui.model.sampling import FIELD_SPECS, SamplingParams
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Message, Role, Session
from glm_tui.ui.screens.request_view import RequestViewScreen

SETTINGS = [
    pytest.param(SamplingParams(), id="defaults"),
    pytest.param(SamplingParams(temperature=None, top_p=None), id="all-unset"),
    pytest.param(SamplingParams(temperature=0.4, top_p=0.8, presence_penalty=1.2, max_tokens=256),
                 id="chat-preset"),
    pytest.param(SamplingParams(temperature=0.0, top_p=1.0, presence_penalty=-2.0,
                                frequency_penalty=2.0, max_tokens=1, seed=-7,
                                stop=("\n\n", "Observation:")), id="every-field-at-edges"),
    pytest.param(SamplingParams(temperature=0.30000000000000004, top_p=0.1, seed=0),
                 id="float-dust-and-zero-seed"),
]


def read_log(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def chat_bodies(path: Path) -> list[dict[str, Any]]:
    return [entry["body"] for entry in read_log(path)
            if entry["method"] == "POST" and entry["path"].endswith("/chat/completions")]


async def send(base_url: str, body: dict[str, Any]) -> list[ChatEvent]:
    client = ChatClient(base_url, "EMPTY", connect_timeout=10, read_timeout=60)
    try:
        return [event async for event in client.chat(body)]
    finally:
        await client.aclose()


def make_session(params: SamplingParams, *, stream: bool) -> Session:
    session = Session(model="glm-4", system_prompt="You are terse.", sampling=params,
                      stream=stream)
    session.messages.append(Message(Role.USER, 'Say "hi" — and 你好 [b]not markup[/b]'))
    return session


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize("params", SETTINGS)
async def test_every_set_value_reaches_the_server_as_previewed(
    glm4_server: str, request_log: Path, params: SamplingParams, stream: bool
) -> None:
    body = preview_body(make_session(params, stream=stream), ServerKind.GLM4)
    events = await send(glm4_server, body)
    assert not [e for e in events if isinstance(e, StreamError)]
    assert any(isinstance(e, Finished) for e in events)

    [logged] = chat_bodies(request_log)
    assert logged == body  # the preview is the wire, byte for byte in meaning
    for name in FIELD_SPECS:
        value = getattr(params, name)
        if value is None or value == ():
            assert name not in logged, f"{name} is unset and must be left out"
        else:
            sent = logged[name]
            expected = list(value) if name == "stop" else value
            assert sent == expected and type(sent) is type(expected), name


async def test_a_draft_in_the_preview_is_what_gets_sent(
    openai_server: str, request_log: Path
) -> None:
    session = make_session(SamplingParams(max_tokens=32, seed=5), stream=True)
    body = preview_body(session, ServerKind.OPENAI, draft="and now a follow-up")
    events = await send(openai_server, body)
    assert any(isinstance(e, TextDelta) for e in events)
    [logged] = chat_bodies(request_log)
    assert logged == body
    # The session's question has no answer yet, so the draft joins it as one user turn.
    assert logged["messages"][-1]["role"] == "user"
    assert logged["messages"][-1]["content"].endswith("\n\nand now a follow-up")


def run_curl(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env}, check=False)


def test_copied_curl_command_sends_the_same_body(glm4_server: str, request_log: Path) -> None:
    params = SamplingParams(temperature=0.2, max_tokens=16, stop=("it's", "$HOME"))
    body = preview_body(make_session(params, stream=False), ServerKind.GLM4)
    result = run_curl(curl_command(body, glm4_server, "EMPTY"), {})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["object"] == "chat.completion"
    assert chat_bodies(request_log) == [body]


def test_copied_curl_command_reads_a_secret_key_from_the_environment(
    request_log: Path,
) -> None:
    secret = "sk-demo-4f1c2a9e7b"
    server = DemoServer(flavor="openai", token_rate=0, log_requests=request_log, api_key=secret)
    url = server.start()
    try:
        body = preview_body(make_session(SamplingParams(top_p=0.5), stream=True),
                            ServerKind.OPENAI)
        command = curl_command(body, url, secret)
        assert secret not in command
        refused = run_curl(command + " -w '\\n%{http_code}'", {"OPENAI_API_KEY": "wrong"})
        assert refused.stdout.strip().endswith("401")
        accepted = run_curl(command, {"OPENAI_API_KEY": secret})
        assert accepted.returncode == 0, accepted.stderr
        assert "data: [DONE]" in accepted.stdout
        assert body in chat_bodies(request_log)
    finally:
        server.stop()
    assert shlex.split(command)[0] == "curl"


class RequestViewHost(App[None]):
    def __init__(self, body: dict[str, Any], base_url: str, api_key: str) -> None:
        super().__init__()
        self.body = body
        self.base_url = base_url
        self.api_key = api_key

    def on_mount(self) -> None:
        self.push_screen(RequestViewScreen(self.body, self.base_url, self.api_key))


async def test_request_view_shows_the_body_and_copies_a_curl_that_sends_it(
    glm4_server: str, request_log: Path
) -> None:
    secret = "sk-live-abcdef123456"
    session = make_session(SamplingParams(temperature=0.6, max_tokens=8), stream=False)
    session.messages.append(Message(Role.ASSISTANT, "[red]not markup[/red]"))
    session.messages.append(Message(Role.USER, f"my key {secret} leaked here"))
    body = preview_body(session, ServerKind.GLM4)
    app = RequestViewHost(body, glm4_server, secret)
    async with app.run_test(size=(110, 40)) as pilot:
        shown = app.screen.query_one("#request-body", TextArea).text
        assert json.loads(shown.replace("<redacted>", secret)) == body  # literal, whole
        assert secret not in shown
        assert "[red]not markup[/red]" in shown
        headers = str(app.screen.query_one("#request-headers", Static).render())
        assert "Authorization: Bearer <redacted>" in headers
        assert str(app.screen.query_one("#request-line", Static).render()) == (
            f"POST {glm4_server}chat/completions")
        await pilot.press("c")
        copied = app.clipboard
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, RequestViewScreen)
    assert secret not in copied
    result = run_curl(copied, {"OPENAI_API_KEY": "anything"})
    assert result.returncode == 0, result.stderr
    [logged] = chat_bodies(request_log)
    # Only the pasted key differs: the copy never carries the secret, even inside a message.
    assert json.dumps(logged).replace("<redacted>", secret) == json.dumps(body)
