"""``glm-tui ask`` as a script uses it: a real process against a real demo server on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from glm_tui.chat.tools import WEATHER_TOOL


def glm_tui(
    *args: str, stdin: str | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m glm_tui ARGS`` with the test's isolated config and data directories."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "glm_tui", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        env=env,
    )


def requests_received(log: Path) -> list[dict[str, Any]]:
    """The chat request bodies the demo server logged (``--log-requests``), in order."""
    if not log.exists():
        return []
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]
    return [entry["body"] for entry in entries
            if entry["method"] == "POST" and entry["path"].endswith("/chat/completions")]


def test_streams_the_reply_and_matches_the_non_streamed_one(
    glm4_server: str, request_log: Path
) -> None:
    question = "What is the capital of France?"
    streamed = glm_tui("ask", "--base-url", glm4_server, question)
    assert streamed.returncode == 0, streamed.stderr
    assert question in streamed.stdout  # the demo model echoes the question
    assert streamed.stderr == ""
    whole = glm_tui("ask", "--base-url", glm4_server, "--no-stream", question)
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout == streamed.stdout
    first, second = requests_received(request_log)
    assert (first["stream"], second["stream"]) == (True, False)
    assert first["messages"] == [{"role": "user", "content": question}]


def test_a_pipe_gets_the_models_text_exactly(glm4_server: str) -> None:
    text = "\x1b[31mred\x1b[0m [bold]x[/] \x1b]8;;http://e.x\x07link 你好 👩‍👩‍👧 שלום end"
    result = glm_tui("ask", "--base-url", glm4_server, f"[[demo:say={text}]]")
    assert result.returncode == 0, result.stderr
    assert result.stdout == text + "\n"  # no sanitising; a newline ends the line (issue 12)


def test_sampling_options_system_and_model_reach_the_server(
    glm4_server: str, request_log: Path
) -> None:
    result = glm_tui(
        "ask", "--base-url", glm4_server, "--system", "Be brief.", "--model", "glm-4-test",
        "--temperature", "0.3", "--top-p", "0.5", "--presence-penalty", "-1.5",
        "--max-tokens", "64", "Hello",
    )
    assert result.returncode == 0, result.stderr
    (body,) = requests_received(request_log)
    assert body["model"] == "glm-4-test"
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert (body["temperature"], body["top_p"], body["presence_penalty"], body["max_tokens"]) == (
        0.3, 0.5, -1.5, 64,
    )
    assert "frequency_penalty" not in body and "seed" not in body and "stop" not in body


def test_config_sampling_defaults_apply_and_a_bad_one_warns(
    glm4_server: str, request_log: Path, config_path: Path
) -> None:
    config_path.write_text("[sampling]\ntemperature = 9\ntop_p = 0.5\n", encoding="utf-8")
    result = glm_tui("ask", "--base-url", glm4_server, "Hello")
    assert result.returncode == 0, result.stderr
    assert f"{config_path}, line 2, key sampling.temperature" in result.stderr
    (body,) = requests_received(request_log)
    assert (body["temperature"], body["top_p"]) == (0.8, 0.5)
    assert config_path.read_text(encoding="utf-8") == "[sampling]\ntemperature = 9\ntop_p = 0.5\n"


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_json_prints_the_final_message_with_its_tool_call(
    glm4_server: str, request_log: Path, tmp_path: Path, stream: bool
) -> None:
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([WEATHER_TOOL]), encoding="utf-8")
    args = ["ask", "--base-url", glm4_server, "--tools", str(tools), "--json"]
    args += [] if stream else ["--no-stream"]
    result = glm_tui(*args, "What's the current weather in San Francisco?")
    assert result.returncode == 0, result.stderr
    message = json.loads(result.stdout)
    assert message["role"] == "assistant"
    assert message["content"] is None
    (call,) = message["tool_calls"]
    assert call["type"] == "function"
    assert call["function"]["name"] == "get_current_weather"
    assert call["id"]
    assert isinstance(json.loads(call["function"]["arguments"]), dict)
    (body,) = requests_received(request_log)
    assert body["tools"] == [WEATHER_TOOL]
    assert body["tool_choice"] == "auto"


def test_json_of_a_text_reply_has_the_same_text_and_no_tool_calls(glm4_server: str) -> None:
    plain = glm_tui("ask", "--base-url", glm4_server, "Tell me about tea")
    as_json = glm_tui("ask", "--base-url", glm4_server, "--json", "Tell me about tea")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == {
        "role": "assistant", "content": plain.stdout.removesuffix("\n"), "tool_calls": [],
    }  # the text mode ends the line with a newline; --json has the text as it came


def test_a_tool_call_in_text_mode_is_reported_on_stderr(
    glm4_server: str, tmp_path: Path
) -> None:
    tools = tmp_path / "tool.json"
    tools.write_text(json.dumps(WEATHER_TOOL), encoding="utf-8")  # one entry, not a list
    result = glm_tui("ask", "--base-url", glm4_server, "--tools", str(tools),
                     "What's the current weather in Beijing?")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "get_current_weather" in result.stderr
    assert "--json" in result.stderr


def test_a_server_error_exits_1_with_the_status_on_stderr(glm4_server: str) -> None:
    result = glm_tui("ask", "--base-url", glm4_server, "Hello [[demo:status=500]]")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("glm-tui: error: ")
    assert "500" in result.stderr


def test_a_cut_stream_keeps_the_text_and_says_it_was_interrupted(glm4_server: str) -> None:
    full = "one two three four five six seven eight nine ten eleven twelve"
    result = glm_tui("ask", "--base-url", glm4_server, f"[[demo:say={full}]] [[demo:cut=4]]")
    assert result.returncode == 1
    assert result.stdout.endswith("\n")  # what arrived stays printed, as a line
    printed = result.stdout[:-1]
    assert printed and full.startswith(printed)
    assert printed != full
    assert "interrupted" in result.stderr


def test_no_server_listening_exits_1_with_a_clear_message(dead_url: str) -> None:
    started = time.monotonic()
    result = glm_tui("ask", "--base-url", dead_url, "Hello")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("glm-tui: error: ")
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 60


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--temperature", "abc", "not a number"),
        ("--temperature", "5", "2"),
        ("--temperature", "nan", "not a number"),
        ("--temperature", "1e309", "finite"),
        ("--top-p", "0", "(0, 1]"),
        ("--max-tokens", "0", "1"),
        ("--max-tokens", "-5", "1"),
        ("--presence-penalty", "-0", "negative zero"),
    ],
)
def test_a_bad_sampling_value_exits_2_before_anything_is_sent(
    glm4_server: str, request_log: Path, flag: str, value: str, words: str
) -> None:
    result = glm_tui("ask", "--base-url", glm4_server, f"{flag}={value}", "Hello")
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"glm-tui ask: error: {flag}: " in result.stderr
    assert words in result.stderr
    assert requests_received(request_log) == []


def test_the_prompt_can_come_from_stdin(glm4_server: str, request_log: Path) -> None:
    question = "A question\nover two lines, 你好"
    result = glm_tui("ask", "--base-url", glm4_server, "-", stdin=question + "\n")
    assert result.returncode == 0, result.stderr
    (body,) = requests_received(request_log)
    assert body["messages"][-1]["content"] == question


def test_an_empty_prompt_is_a_usage_error(glm4_server: str, request_log: Path) -> None:
    result = glm_tui("ask", "--base-url", glm4_server, "-", stdin="  \n")
    assert result.returncode == 2
    assert "empty" in result.stderr
    assert requests_received(request_log) == []


def test_options_before_the_command_apply_too(glm4_server: str, request_log: Path) -> None:
    result = glm_tui("--base-url", glm4_server, "--model", "before", "ask", "Hello")
    assert result.returncode == 0, result.stderr
    (body,) = requests_received(request_log)
    assert body["model"] == "before"


def test_demo_flag_answers_without_any_server() -> None:
    result = glm_tui("ask", "--demo", "What is glm-tui?")
    assert result.returncode == 0, result.stderr
    assert "What is glm-tui?" in result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_demo_serves_what_ask_asks(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "served.jsonl"
    server = subprocess.Popen(
        [sys.executable, "-m", "glm_tui", "serve-demo", "--port", str(port), "--flavor", "openai",
         "--log-requests", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}/v1/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base_url + "models", timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "serve-demo did not start listening"
                time.sleep(0.05)
        result = glm_tui("ask", "--base-url", base_url, "Hello from ask")
        assert result.returncode == 0, result.stderr
        assert "Hello from ask" in result.stdout
        (body,) = requests_received(log)
        assert body["messages"] == [{"role": "user", "content": "Hello from ask"}]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_terminal_never_receives_the_replys_escape_sequences(glm4_server: str) -> None:
    """On a TTY the reply goes through the display sanitiser, even when the demo model's
    tokens split a sequence in two (it streams pieces of at most four characters)."""
    import pty

    text = "\x1b[31mred\x1b[0m \x1b]8;;http://e.x\x07link\x1b]0;title\x07 \x9b2J 你好 end"
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "glm_tui", "ask", "--base-url", glm4_server,
         f"[[demo:say={text}]]"],
        stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
    )
    os.close(slave)
    received = bytearray()
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not data:
                break
            received += data
        _, errors = process.communicate(timeout=60)
    finally:
        os.close(master)
    assert process.returncode == 0, errors
    shown = received.decode("utf-8")
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    for word in ("red", "link", "你好", "end"):
        assert word in shown
    assert shown.endswith("\r\n")  # the shell prompt starts on a fresh line


def test_ctrl_c_stops_the_reply_and_keeps_what_was_printed(glm4_server: str) -> None:
    import signal

    process = subprocess.Popen(
        [sys.executable, "-m", "glm_tui", "ask", "--base-url", glm4_server,
         "[[demo:say=" + "word " * 400 + "]] [[demo:rate=20]]"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
    )
    assert process.stdout is not None
    first = os.read(process.stdout.fileno(), 64)  # blocks until the reply has started
    assert first.startswith(b"word")
    process.send_signal(signal.SIGINT)
    rest, errors = process.communicate(timeout=60)
    assert process.returncode == 130
    assert b"interrupted" in errors
    assert b"Traceback" not in errors
    printed = (first + rest).decode("utf-8")
    assert printed and ("word " * 400).startswith(printed)
    assert len(printed) < len("word " * 400)
