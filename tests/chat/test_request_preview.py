"""The request preview is build_request's body, never shows a secret key, and copies as curl."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Callable

import pytest
from textual.app import App
from textual.widgets import Static

from glm_tui.chat.preview import (
    REDACTED,
    authorization_header,
    body_json,
    chat_completions_url,
    curl_command,
    preview_body,
    redact_key,
)
from glm_tui.chat.request import build_request
from glm_tui.demo.server import DemoServer
from glm_tui.model.sampling import SamplingParams
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Message, Role, Session
from glm_tui.ui.screens.request_view import RequestViewScreen

SECRET = "sk-test-0123456789abcdef"


def make_session() -> Session:
    session = Session(model="glm-4", system_prompt="Be brief.",
                      sampling=SamplingParams(temperature=0.3, max_tokens=64, stop=("\n\n",)))
    session.messages.append(Message(Role.USER, "It's 5 $HOME \"quoted\" 'single'\nline two"))
    return session


def test_preview_is_exactly_what_build_request_sends() -> None:
    session = make_session()
    body = preview_body(session, ServerKind.GLM4)
    assert body == build_request(session, ServerKind.GLM4)
    assert body["temperature"] == 0.3
    assert "presence_penalty" not in body  # unset: left out


def test_draft_is_shown_as_the_next_question_without_touching_the_session() -> None:
    session = make_session()
    body = preview_body(session, ServerKind.GLM4, draft="next question")
    # The session's question has no answer yet, so the draft joins it as one user turn.
    assert body["messages"][-1]["content"].endswith("\n\nnext question")
    assert len(session.messages) == 1
    assert preview_body(session, ServerKind.GLM4, draft="   ") == build_request(
        session, ServerKind.GLM4)


def test_body_json_is_pretty_literal_and_scrubs_a_pasted_key() -> None:
    session = make_session()
    session.messages.append(Message(Role.USER, f"my key is {SECRET}, and [b]bold[/b]"))
    text = body_json(preview_body(session, ServerKind.GLM4), SECRET)
    assert SECRET not in text
    assert REDACTED in text
    assert "[b]bold[/b]" in text
    assert text.startswith('{\n  "model": "glm-4"')


def test_keys_are_redacted_but_placeholders_shown() -> None:
    assert redact_key(SECRET) == REDACTED
    assert redact_key("EMPTY") == "EMPTY"
    assert authorization_header(SECRET) == "Authorization: Bearer $OPENAI_API_KEY"
    assert authorization_header("EMPTY") == "Authorization: Bearer EMPTY"


def test_url_joins_like_the_openai_client() -> None:
    assert chat_completions_url("http://127.0.0.1:8000/v1/") == (
        "http://127.0.0.1:8000/v1/chat/completions")
    assert chat_completions_url("https://open.bigmodel.cn/api/paas/v4") == (
        "https://open.bigmodel.cn/api/paas/v4/chat/completions")


def test_curl_command_carries_the_body_exactly_and_no_secret() -> None:
    body = preview_body(make_session(), ServerKind.GLM4)
    command = curl_command(body, "http://127.0.0.1:8000/v1/", SECRET)
    assert SECRET not in command
    words = shlex.split(command.replace("\\\n", ""))
    assert words[:4] == ["curl", "-sS", "-N", "http://127.0.0.1:8000/v1/chat/completions"]
    assert "Authorization: Bearer $OPENAI_API_KEY" in words  # expanded by the shell
    data = words[words.index("--data-binary") + 1]
    assert json.loads(data) == body


def test_curl_with_the_local_placeholder_key_works_as_is() -> None:
    command = curl_command({"model": "glm-4"}, "http://127.0.0.1:8000/v1/", "EMPTY")
    assert "'Authorization: Bearer EMPTY'" in command


def test_curl_reads_the_profiles_own_key_variable() -> None:
    command = curl_command({"model": "glm-4"}, "https://open.bigmodel.cn/api/paas/v4/", SECRET,
                           api_key_env="ZHIPU_API_KEY")
    words = shlex.split(command.replace("\\\n", ""))
    assert "Authorization: Bearer $ZHIPU_API_KEY" in words
    assert "OPENAI_API_KEY" not in command and SECRET not in command


def test_a_key_variable_that_is_not_a_plain_name_is_refused() -> None:
    with pytest.raises(ValueError, match="not an environment variable name"):
        curl_command({"model": "glm-4"}, "http://127.0.0.1:8000/v1/", SECRET,
                     api_key_env="X$(touch /tmp/owned)")


async def test_request_view_copies_a_curl_that_authenticates_with_the_profiles_variable(
) -> None:
    """The copied command, run in a shell where only ZHIPU_API_KEY is set, is let in."""
    secret = "sk-zhipu-5d0c3b8a"
    server = DemoServer(flavor="openai", token_rate=0, api_key=secret)
    url = server.start()
    body = {"model": "glm-4", "messages": [{"role": "user", "content": "hi"}]}
    app = RequestViewHost(lambda: RequestViewScreen(body, url, secret,
                                                    api_key_env="ZHIPU_API_KEY"))
    try:
        async with app.run_test(size=(110, 40)) as pilot:
            hint = str(app.screen.query_one("#request-help", Static).render())
            assert "$ZHIPU_API_KEY" in hint and "OPENAI_API_KEY" not in hint
            await pilot.press("c")
            copied = app.clipboard
        env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
        result = subprocess.run(
            ["bash", "-c", copied + " -w '\\n%{http_code}'"], capture_output=True, text=True,
            timeout=60, env={**env, "ZHIPU_API_KEY": secret}, check=False)
    finally:
        server.stop()
    assert secret not in copied
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("200")


class RequestViewHost(App[None]):
    def __init__(self, make_screen: Callable[[], RequestViewScreen]) -> None:
        super().__init__()
        self.make_screen = make_screen

    def on_mount(self) -> None:
        self.push_screen(self.make_screen())
