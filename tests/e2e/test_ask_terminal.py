"""``glm-tui ask`` on a real terminal with a hostile model and server (issue 13 item 3).

The reply text, a tool call's name and arguments and a server's error words are all chosen
outside. On a pty (stdout and stderr both on it) none may reach the terminal as a control
sequence; on a pipe the reply is byte-exact and ``--json`` gives back the exact call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.hostile import ESC, HOSTILE, short, terminal_escapes
from tests.support.raw_server import RawServer, Script, json_script, sse
from tests.support.terminal_run import TerminalRun, run_on_pty

REPLY_PIECES: list[str] = [*HOSTILE.values(), f"split {ESC}", "]52;c;c3BsaXQ=\x07", f"{ESC}[", "2J"]
"""Every hostile string as one delta each, then sequences cut across deltas."""
REPLY = "".join(REPLY_PIECES)
TOOL_NAME = "".join(short(200).values())
TOOL_ARGUMENTS = json.dumps({"text": "".join(short().values())}, ensure_ascii=False) + "\x9b2J"


def content(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


def hostile_reply() -> Script:
    """A streamed reply of every hostile string, then a call of a hostile tool."""
    call = {"index": 0, "id": "call_\x1b]0;x\x07", "type": "function",
            "function": {"name": TOOL_NAME, "arguments": TOOL_ARGUMENTS}}
    frames = [content(piece) for piece in REPLY_PIECES]
    frames.append({"choices": [{"index": 0, "delta": {"tool_calls": [call]},
                                "finish_reason": None}]})
    frames.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    return Script(body=sse(*frames))


@pytest.fixture
def server() -> Iterator[RawServer]:
    with RawServer() as raw:
        yield raw


def assert_safe(run: TerminalRun, *, status: int = 0) -> None:
    assert run.returncode == status, run.text[-2000:]
    assert "Traceback" not in run.text
    found = terminal_escapes(run.output)
    assert not found, "reached the terminal raw:\n" + "\n".join(found)


def test_demo_model_saying_hostile_text_on_a_terminal() -> None:
    said = "\n".join(text for text in short().values() if "]]" not in text) + "\nend"
    run = run_on_pty("ask", "--demo", "-", stdin=f"[[demo:say={said}]]")
    assert_safe(run)
    assert "[@click=app.quit]quit[/]" in run.text
    assert "\u241b]52;c;" in run.text
    assert run.text.endswith("end\r\n")


def test_hostile_reply_and_tool_call_on_a_terminal(server: RawServer) -> None:
    server.add(hostile_reply())
    run = run_on_pty("ask", "--base-url", server.base_url, "question")
    assert_safe(run)
    assert "the model called the tool" in run.text  # stderr, on the same terminal
    assert "\u241b]2;window title" in run.text


def test_hostile_json_message_on_a_terminal(server: RawServer) -> None:
    server.add(hostile_reply())
    run = run_on_pty("ask", "--json", "--base-url", server.base_url, "question")
    assert_safe(run)
    message = json.loads(run.output.replace(b"\r\n", b"\n"))  # valid JSON, still the data
    assert message["tool_calls"][0]["function"]["name"] == TOOL_NAME


def test_hostile_server_error_on_a_terminal(server: RawServer) -> None:
    words = "".join(short().values())
    server.add(json_script(500, {"error": {"message": words, "type": words, "code": words}}))
    run = run_on_pty("ask", "--base-url", server.base_url, "question")
    assert_safe(run, status=1)
    assert "error" in run.text


def test_a_hostile_tools_file_name_in_a_usage_error(tmp_path: Any) -> None:
    tools = tmp_path / f"tools{ESC}]0;title\x07.json"
    tools.write_text("not json", encoding="utf-8")
    run = run_on_pty("ask", "--demo", "--tools", str(tools), "question")
    assert_safe(run, status=2)
    assert "--tools" in run.text


def ask_on_pipe(*argv: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "glm_tui", "ask", *argv], capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=120,
                          env=dict(os.environ, PYTHONIOENCODING="utf-8"))


def test_on_a_pipe_the_reply_is_byte_exact(server: RawServer) -> None:
    server.add(hostile_reply())
    result = ask_on_pipe("--base-url", server.base_url, "question")
    assert result.returncode == 0, result.stderr
    assert result.stdout == REPLY.encode("utf-8") + b"\n"  # a newline ends the last line
    assert TOOL_NAME.encode("utf-8") in result.stderr  # a pipe gets the name as sent


def test_on_a_pipe_json_gives_back_the_exact_call(server: RawServer) -> None:
    server.add(hostile_reply())
    result = ask_on_pipe("--json", "--base-url", server.base_url, "question")
    assert result.returncode == 0, result.stderr
    message = json.loads(result.stdout)
    assert message["content"] == REPLY
    call = message["tool_calls"][0]
    assert (call["function"]["name"], call["function"]["arguments"]) == (TOOL_NAME, TOOL_ARGUMENTS)
    assert not any(0x80 <= ord(char) <= 0x9F for char in result.stdout.decode("utf-8"))


def test_demo_say_on_a_pipe_is_byte_exact() -> None:
    said = "".join(text for text in short().values() if "]]" not in text)
    result = subprocess.run(
        [sys.executable, "-m", "glm_tui", "ask", "--demo", "-"], capture_output=True,
        input=f"[[demo:say={said}]]".encode(), timeout=120,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == said.encode("utf-8") + b"\n"


def test_ask_into_head_ends_without_a_traceback(server: RawServer) -> None:
    lines = "".join(f"line {n}\n" for n in range(100_000))  # ~1 MB, far past a pipe's buffer
    server.add(Script(body=sse(content(lines), {"choices": [
        {"index": 0, "delta": {}, "finish_reason": "stop"}]})))
    writer = subprocess.Popen(
        [sys.executable, "-m", "glm_tui", "ask", "--base-url", server.base_url, "question"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
    )
    assert writer.stdout is not None
    head = subprocess.run(["head", "-1"], stdin=writer.stdout, capture_output=True, timeout=120)
    writer.stdout.close()
    _, errors = writer.communicate(timeout=120)
    assert head.stdout == b"line 0\n"
    assert errors == b"", errors.decode(errors="replace")
    assert writer.returncode in (0, 1, 141)
