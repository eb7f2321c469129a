"""JSON and Markdown export, lossless import, and no API key anywhere on disk."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from glm_tui.chat.export import ImportProblems, export_json, export_markdown, import_json
from glm_tui.chat.request import build_messages, build_request
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Message, MessageStatus, Role, Session, Usage
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.storage.store import SessionStore
from tests.storage.test_store import rich_session

API_KEY = "sk-glmtui-test-7f3a9c1e5b2d4f6a8c0e"


def test_json_round_trip_gives_an_identical_session() -> None:
    session = rich_session()
    for i, message in enumerate(session.messages):
        message.id = 100 + i
    session.messages.append(Message(Role.ASSISTANT, "half", status=MessageStatus.STREAMING))
    text = json.dumps(export_json(session))
    assert import_json(text) == session
    assert import_json(json.loads(text)) == session
    assert import_json(text.encode()) == session


def test_json_export_messages_are_the_openai_request_shape() -> None:
    session = rich_session()
    exported = export_json(session)
    assert exported["messages"] == build_messages(session, ServerKind.OPENAI)
    assert exported["messages"][0] == {"role": "system", "content": session.system_prompt}
    assert exported["messages"][2]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert exported["glm_tui"]["session"]["sampling"]["stop"] == ["END", "\n\n"]
    assert len(exported["glm_tui"]["messages"]) == len(session.messages)  # failed one too


def test_store_round_trip_through_export(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    session = rich_session()
    store.create_session(session)
    exported = json.dumps(export_json(store.load_session(session.id)))
    again = import_json(exported)
    assert again == store.load_session(session.id)
    store.close()


def test_plain_openai_messages_import() -> None:
    data = {"model": "gpt-4o", "messages": [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": [{"type": "text", "text": "Hello there"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "name": "f", "content": "42"},
    ]}
    session = import_json(data)
    assert session.system_prompt == "Be kind." and session.model == "gpt-4o"
    assert session.title == "Hello there"
    assert [m.role for m in session.messages] == [Role.USER, Role.ASSISTANT, Role.TOOL]
    assert session.messages[1].tool_calls[0].name == "f"
    assert session.messages[2].tool_call_id == "c1"
    bare = import_json(list(data["messages"]))  # a bare list too
    assert [(m.role, m.content) for m in bare.messages] == [
        (m.role, m.content) for m in session.messages]


@pytest.mark.parametrize(("data", "expected"), [
    ("{not json", "not JSON"),
    (b"\xff\xfe\x00", "not JSON"),
    ("42", "expected a JSON object"),
    ('{"messages": {"role": "user"}}', "messages: must be a list"),
    ('{"glm_tui": []}', "glm_tui: must be an object"),
    ('[{"role": "wizard", "content": "hi"}]', "unknown role 'wizard'"),
    ('[{"role": "user", "content": 5}]', "must be text or a list of parts"),
])
def test_import_problems_are_named(data: str | bytes, expected: str) -> None:
    with pytest.raises(ImportProblems) as caught:
        import_json(data)
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


def test_import_lists_every_problem_at_once() -> None:
    exported = export_json(rich_session())
    block = exported["glm_tui"]
    block["session"]["sampling"]["top_p"] = 5
    block["session"]["stream"] = "yes"
    block["messages"][0]["role"] = "robot"
    block["messages"][1]["status"] = "exploded"
    block["messages"][2]["usage"] = {"prompt_tokens": "many"}
    block["messages"].append("not a message")
    with pytest.raises(ImportProblems) as caught:
        import_json(json.dumps(exported))
    problems = "\n".join(caught.value.problems)
    for fragment in ("top_p", '"stream"', "unknown role 'robot'", "unknown status 'exploded'",
                     "prompt_tokens", "glm_tui.messages[5]"):
        assert fragment in problems
    assert len(caught.value.problems) == 6


def test_markdown_export_reads_like_the_conversation() -> None:
    session = rich_session()
    session.messages.append(Message(Role.ASSISTANT, "```py\nprint(1)\n```"))
    session.messages[3].usage = Usage(1, 2)
    text = export_markdown(session)
    assert text.startswith("# Weather in 北京\n")
    assert "- Model: `glm-4` (server profile `local-glm`)" in text
    assert "> You are terse.\n> Answer in one line." in text
    assert "## User\n\nWhat's the weather in 北京?" in text
    assert "*Image: sky.jpg (640×480, image/jpeg)*" in text
    assert 'Tool call `get_weather`:\n\n```json\n{"city": "北京"}\n```' in text
    assert "## Tool result · get_weather\n\n```json\n{\"temp\": 21}\n```" in text
    assert "## Assistant (failed)" in text and "> Error: HTTP 500" in text
    assert "```py\nprint(1)\n```" in text
    assert "- Tools: get_weather" in text


# --- no API key on disk ---------------------------------------------------------------------


class _KeyCheckingServer(BaseHTTPRequestHandler):
    """A loopback chat server that only answers requests carrying the expected key."""

    seen_keys: ClassVar[list[str]] = []  # what each request carried, read by the test

    def do_POST(self) -> None:
        auth = self.headers.get("Authorization", "")
        type(self).seen_keys.append(auth)
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length))
        if auth != f"Bearer {API_KEY}":
            self._send(401, {"error": {"message": "bad key"}})
            return
        question = request["messages"][-1]["content"]
        self._send(200, {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "glm-4",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f"You asked: {question}"}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
        })

    def _send(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def key_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeyCheckingServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_no_api_key_in_database_or_exports(tmp_path: Path, key_server: str) -> None:
    from openai import OpenAI

    store = SessionStore(tmp_path / "data")
    session = Session(title="keyed", server_profile="hosted-with-key")
    recorder = SessionRecorder(store, session)
    client = OpenAI(api_key=API_KEY, base_url=key_server, max_retries=0, timeout=30)
    for question in ("first question", "second question"):
        recorder.add_message(Message(Role.USER, question))
        request = build_request(session, ServerKind.OPENAI, stream=False)
        completion = client.chat.completions.create(**request)
        reply = Message(Role.ASSISTANT, completion.choices[0].message.content or "",
                        usage=Usage(completion.usage.prompt_tokens if completion.usage else None,
                                    completion.usage.completion_tokens if completion.usage
                                    else None))
        recorder.add_message(reply)
    client.close()
    assert _KeyCheckingServer.seen_keys[-1] == f"Bearer {API_KEY}"
    assert store.load_session(session.id).messages[-1].content == "You asked: second question"

    exports = [json.dumps(export_json(store.load_session(session.id))),
               export_markdown(store.load_session(session.id))]
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert any(p.name == "sessions.db-wal" for p in files)  # checked while still open...
    for path in files:
        assert API_KEY.encode() not in path.read_bytes(), path
    store.close()
    for path in (tmp_path / "data").rglob("*"):  # ...and after the checkpoint on close
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path
    for text in exports:
        assert API_KEY not in text


def test_round_trip_keeps_every_tool_byte_but_no_permission() -> None:
    """Export writes the handler and "always allow" as stored; import keeps the data (the
    command, the spec, enabled) and switches the permissions off."""
    from glm_tui.chat.tools import (
        WEATHER_TOOL,
        handler_is_off,
        handler_of,
        spec_only,
        stored_handler,
        tool_settings,
        with_settings,
    )

    session = rich_session()
    argv = ["/usr/bin/env", "weather", "--json", "two words", "\x1b]52;c;x\x07"]
    session.tools = [
        with_settings(WEATHER_TOOL, handler=argv, always_allow=True),
        with_settings({"type": "cogview"}, enabled=False),
    ]
    exported = export_json(session)
    block = exported["glm_tui"]["session"]["tools"][0]["glm_tui"]
    assert block == {"handler": argv, "always_allow": True}  # export writes them as stored

    again = import_json(json.dumps(exported))
    weather, cogview = again.tools
    assert spec_only(weather) == WEATHER_TOOL and stored_handler(weather) == argv
    assert handler_of(weather) is None and handler_is_off(weather)
    assert "always_allow" not in tool_settings(weather)
    assert cogview == session.tools[1]  # nothing to take back: unchanged
    again.tools = session.tools
    assert again == session  # everything else is identical

    # A second round trip changes nothing more: the data is stable, the handler still off.
    assert import_json(json.dumps(export_json(import_json(json.dumps(exported))))).tools == [
        weather, cogview]


def test_render_is_the_cli_and_screen_export(tmp_path: Path) -> None:
    from glm_tui.chat.export import render

    session = rich_session()
    text = render(session, "json")
    assert text.endswith("}\n") and "北京" in text  # UTF-8 kept readable
    assert json.loads(text) == json.loads(json.dumps(export_json(session)))
    assert render(session, "markdown") == export_markdown(session)
    with pytest.raises(ValueError, match="unknown export format"):
        render(session, "html")  # type: ignore[arg-type]
