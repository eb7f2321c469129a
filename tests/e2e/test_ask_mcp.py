"""``glm-tui ask --mcp NAME --allow-tool TOOL``: the demo model calling real MCP servers.

The model is the demo server on loopback (it calls the tool whose words match the question and
answers a tool result with "NAME returned: RESULT"); the tools are the real test servers over
real pipes, and one over streamable HTTP. Each test's servers carry a unique marker, so the test
can prove none of them outlived ``ask``; the ``slow`` tool writes "started" to its record file
when it runs, so a test can prove a call that was not allowed never reached the server.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.e2e.test_ask import requests_received
from tests.support.hostile import terminal_escapes
from tests.support.mcp_cli import http_table, processes_with, run_glm_tui, stdio_table, toml_text
from tests.support.mcp_servers import http_server, png_bytes
from tests.support.raw_server import RawServer, Script, sse
from tests.support.terminal_run import run_on_pty
from tests.support.waiting import wait_until

ECHO_QUESTION = "Echo the text hello"  # the demo model calls the kit's echo with this text
SLOW_QUESTION = "Please wait until cancelled"  # ... and the kit's slow tool, no arguments


@pytest.fixture
def marker() -> str:
    return f"glm-tui-test-{uuid.uuid4().hex}"


@pytest.fixture
def record(tmp_path: Path) -> Path:
    return tmp_path / "slow-record.txt"


def configure(config_path: Path, marker: str, record: Path | None = None,
              **options: float) -> None:
    config_path.write_text(toml_text({
        "kit": stdio_table("kit", marker=marker, record=record, **options),
        "broken": stdio_table("exits", marker=marker),
    }), encoding="utf-8")


@pytest.mark.parametrize("allow", ["echo", "kit/echo"])
def test_an_allowed_call_runs_and_the_final_reply_has_its_result(
    glm4_server: str, request_log: Path, config_path: Path, marker: str, allow: str
) -> None:
    configure(config_path, marker)
    result = run_glm_tui("ask", "--base-url", glm4_server, "--mcp", "kit", "--allow-tool", allow,
                         ECHO_QUESTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"echo returned: {ECHO_QUESTION}\n"
    assert result.stderr == f'glm-tui: calling kit/echo with {{"text": "{ECHO_QUESTION}"}}\n'
    first, second = requests_received(request_log)
    assert "echo" in [tool["function"]["name"] for tool in first["tools"]]
    assert all("glm_tui" not in tool for tool in first["tools"])  # sent as plain functions
    call = second["messages"][1]["tool_calls"][0]
    assert second["messages"][2] == {"role": "tool", "tool_call_id": call["id"], "name": "echo",
                                     "content": ECHO_QUESTION}
    assert processes_with(marker) == []


def test_a_tool_named_like_a_tools_file_entry_is_qualified(
    glm4_server: str, request_log: Path, config_path: Path, marker: str, tmp_path: Path
) -> None:
    configure(config_path, marker)
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps({"type": "function", "function": {
        "name": "echo", "description": "Echo the text", "parameters": {
            "type": "object", "properties": {"text": {"type": "string"}}}}}), encoding="utf-8")
    question = "Echo the text through the kit"
    result = run_glm_tui("ask", "--base-url", glm4_server, "--tools", str(tools), "--mcp", "kit",
                         "--allow-tool", "kit/echo", question)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"kit__echo returned: {question}\n"
    names = [tool["function"]["name"] for tool in requests_received(request_log)[0]["tools"]]
    assert names[0] == "echo" and "kit__echo" in names


def test_an_error_flagged_by_the_tool_is_sent_to_the_model(
    glm4_server: str, config_path: Path, marker: str
) -> None:
    configure(config_path, marker)
    result = run_glm_tui("ask", "--base-url", glm4_server, "--mcp", "kit", "--allow-tool", "fail",
                         "Always raise")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("fail returned: The tool reported an error:")
    assert "Always raise" in result.stdout  # the reason the tool raised with
    assert "kit/fail: the server flagged an error; it is sent to the model" in result.stderr


def test_a_call_not_allowed_is_printed_and_never_runs(
    glm4_server: str, request_log: Path, config_path: Path, marker: str, record: Path
) -> None:
    configure(config_path, marker, record)
    result = run_glm_tui("ask", "--base-url", glm4_server, "--mcp", "kit", "--allow-tool", "echo",
                         SLOW_QUESTION)
    assert result.returncode == 4, result.stderr
    assert result.stdout == ""
    assert ("the model called the tool slow of the MCP server kit with {}: not run, as no "
            "--allow-tool names it") in result.stderr
    assert len(requests_received(request_log)) == 1  # nothing went back to the model
    assert not record.exists()  # the server never saw the call
    assert processes_with(marker) == []
    as_json = run_glm_tui("ask", "--base-url", glm4_server, "--mcp", "kit", "--json",
                          SLOW_QUESTION)
    assert as_json.returncode == 4, as_json.stderr
    message = json.loads(as_json.stdout)
    (call,) = message["tool_calls"]
    assert message["not_allowed"] == [{"id": call["id"], "name": "slow", "server": "kit",
                                       "tool": "slow", "arguments": "{}"}]
    assert not record.exists()


def test_the_same_call_allowed_does_reach_the_server_and_a_timeout_fails_it(
    glm4_server: str, config_path: Path, marker: str, record: Path
) -> None:
    """The control for the test above: allowed, ``slow`` runs (and records so) until the
    profile's call_timeout; a call that fails names the server and exits 1."""
    configure(config_path, marker, record, call_timeout=1)
    result = run_glm_tui("ask", "--base-url", glm4_server, "--mcp", "kit", "--allow-tool", "slow",
                         SLOW_QUESTION)
    assert result.returncode == 1, result.stderr
    assert record.read_text(encoding="utf-8").startswith("started\n")
    assert "kit" in result.stderr and "1 s" in result.stderr
    assert "mcp-kit.log" in result.stderr
    assert processes_with(marker) == []


def test_a_server_that_exits_at_start_stops_ask_before_anything_is_sent(
    glm4_server: str, request_log: Path, config_path: Path, marker: str
) -> None:
    configure(config_path, marker)
    result = run_glm_tui("ask", "--base-url", glm4_server, "--mcp", "kit", "--mcp", "broken",
                         ECHO_QUESTION)
    assert result.returncode == 1
    assert result.stdout == ""
    assert 'the MCP server "broken" could not start' in result.stderr
    assert "cannot open the database" in result.stderr
    assert requests_received(request_log) == []
    assert processes_with(marker) == []


def test_usage_errors(glm4_server: str, config_path: Path, marker: str) -> None:
    configure(config_path, marker)
    unknown = run_glm_tui("ask", "--base-url", glm4_server, "--mcp", "nope", "hi")
    assert unknown.returncode == 2
    assert "--mcp nope: no [mcp_servers.nope]" in unknown.stderr
    assert "configured: kit, broken" in unknown.stderr
    lone = run_glm_tui("ask", "--base-url", glm4_server, "--allow-tool", "echo", "hi")
    assert lone.returncode == 2 and "no --mcp" in lone.stderr
    wrong = run_glm_tui("ask", "--base-url", glm4_server, "--mcp", "kit", "--allow-tool", "ehco",
                        "hi")
    assert wrong.returncode == 2
    assert "--allow-tool ehco: no tool of the servers given with --mcp" in wrong.stderr
    assert processes_with(marker) == []


def test_a_server_over_streamable_http_with_a_header_from_the_environment(
    glm4_server: str, config_path: Path
) -> None:
    with http_server({"Authorization": "Bearer s3cret"}) as web:
        config_path.write_text(toml_text({"web": http_table(
            web.url, {"Authorization": "Bearer ${MCP_TEST_TOKEN}"})}), encoding="utf-8")
        args = ("ask", "--base-url", glm4_server, "--mcp", "web", "--allow-tool", "web/echo",
                ECHO_QUESTION)
        result = run_glm_tui(*args, env={"MCP_TEST_TOKEN": "s3cret"})
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"echo returned: {ECHO_QUESTION}\n"
        assert "s3cret" not in result.stderr
        missing = run_glm_tui(*args)
        assert missing.returncode == 1
        assert "MCP_TEST_TOKEN" in missing.stderr and '"web"' in missing.stderr


def test_hostile_results_and_arguments_are_visible_safe_on_a_terminal(
    glm4_server: str, config_path: Path, marker: str
) -> None:
    configure(config_path, marker)
    ran = run_on_pty("ask", "--base-url", glm4_server, "--mcp", "kit", "--allow-tool", "tricky",
                     "Show the markup and escapes literally")
    assert ran.returncode == 0, ran.text
    assert not terminal_escapes(ran.output), ran.text
    assert "[b]Show the markup and escapes literally[/b]\u241b[2J" in ran.text
    hostile = "Echo the text \x9b2J \u202eevil \x1b]0;title\x07"
    refused = run_on_pty("ask", "--base-url", glm4_server, "--mcp", "kit", hostile)
    assert refused.returncode == 4, refused.text
    assert not terminal_escapes(refused.output), refused.text
    assert "the tool echo of the MCP server kit" in refused.text
    assert processes_with(marker) == []


def tool_call_reply(number: int, name: str = "echo") -> Script:
    arguments = json.dumps({"text": f"round {number}"}) if name == "echo" else "{}"
    call = {"index": 0, "id": f"call_{number}", "type": "function",
            "function": {"name": name, "arguments": arguments}}
    return Script(body=sse(
        {"choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}))


def text_reply(text: str) -> Script:
    return Script(body=sse(
        {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))


def test_a_picture_in_a_result_is_sent_to_a_server_that_reads_pictures(
    config_path: Path, marker: str
) -> None:
    configure(config_path, marker)
    with RawServer() as model:
        model.add(tool_call_reply(1, "picture"), text_reply("A red rectangle."))
        result = run_glm_tui("ask", "--base-url", model.base_url, "--model", "gpt-4o",
                             "--mcp", "kit", "--allow-tool", "picture", "Draw something")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "A red rectangle.\n"
        second = model.requests[1].json()
    tool, picture = second["messages"][2:4]
    assert tool["role"] == "tool" and tool["content"].startswith("a red rectangle")
    parts = [part for part in picture["content"] if part["type"] == "image_url"]
    expected = "data:image/png;base64," + base64.b64encode(png_bytes()).decode("ascii")
    assert [part["image_url"]["url"] for part in parts] == [expected]


def test_a_huge_result_is_cut_at_the_output_cap(config_path: Path, marker: str) -> None:
    configure(config_path, marker)
    with RawServer() as model:
        model.add(tool_call_reply(1, "huge"), text_reply("Plenty."))
        result = run_glm_tui("ask", "--base-url", model.base_url, "--mcp", "kit",
                             "--allow-tool", "huge", "Ten megabytes please")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "Plenty.\n"
        assert "kit/huge: the result was cut at the output cap" in result.stderr
        tool = model.requests[1].json()["messages"][2]
    assert tool["content"].startswith("x" * 256 * 1024 + "\n[… output cut: ")
    assert len(tool["content"]) < 257 * 1024


def test_a_picture_refused_by_the_server_is_left_out_and_the_model_asked_again(
    glm4_server: str, request_log: Path, config_path: Path, marker: str
) -> None:
    """The GLM-4 text server (not detected: ask does not query /v1/models) answers 422 to a
    picture part; ask leaves the tool's pictures out, as the app remembers to, and asks again."""
    configure(config_path, marker)
    result = run_glm_tui("ask", "--base-url", glm4_server, "--mcp", "kit", "--allow-tool",
                         "picture", "Return a small PNG picture and a caption")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("picture returned: a red rectangle")
    assert "the pictures of the tool results are left out" in result.stderr
    _, refused, again = requests_received(request_log)
    assert any(isinstance(message["content"], list) for message in refused["messages"])
    assert all(isinstance(message["content"], str | None) for message in again["messages"])


def test_rounds_of_calls_are_capped(config_path: Path, marker: str) -> None:
    configure(config_path, marker)
    with RawServer() as model:
        model.add(*(tool_call_reply(n) for n in range(12)))
        result = run_glm_tui("ask", "--base-url", model.base_url, "--mcp", "kit",
                             "--allow-tool", "echo", "Echo forever")
        assert result.returncode == 1, result.stderr
        assert "still calls tools after 10 rounds" in result.stderr
        assert result.stderr.count("calling kit/echo") == 10
        assert len(model.requests) == 11
    assert processes_with(marker) == []


def test_ctrl_c_during_a_call_stops_the_servers(
    glm4_server: str, config_path: Path, marker: str, record: Path
) -> None:
    configure(config_path, marker, record)
    process = subprocess.Popen(
        [sys.executable, "-m", "glm_tui", "ask", "--base-url", glm4_server, "--mcp", "kit",
         "--allow-tool", "slow", SLOW_QUESTION],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"))
    try:
        wait_until(lambda: record.exists() and "started" in record.read_text(encoding="utf-8"),
                   "the slow tool to start", timeout=60)
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, errors
    assert b"Traceback" not in errors
    assert record.read_text(encoding="utf-8") == "started\ncancelled\n"  # the server was told
    assert processes_with(marker) == []


def test_the_demo_model_answers_a_picture_a_tool_returned_instead_of_calling_it_again(
    openai_server: str, request_log: Path, config_path: Path, marker: str
) -> None:
    """The picture goes as a user message after the tool result (image parts only travel in
    user messages); the demo model must take it as part of the result, not as a new question
    (it called the tool again until ask's round cap, before)."""
    configure(config_path, marker)
    result = run_glm_tui("ask", "--base-url", openai_server, "--mcp", "kit", "--allow-tool",
                         "picture", "Return a small PNG picture and a caption")
    assert result.returncode == 0, result.stderr
    assert "I looked at the picture it returned as well." in result.stdout
    _first, second = requests_received(request_log)  # one call, one answer: two requests
    assert [part["type"] for part in second["messages"][-1]["content"]] == ["text", "image_url"]
    assert processes_with(marker) == []
