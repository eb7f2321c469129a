"""``glm-tui ask`` with thinking models: real processes against the demo server's three shapes.

The answer alone goes to stdout; the reasoning to stderr (dimmed and sanitised on a terminal),
or nowhere with ``--no-thinking-output``; ``--json`` carries it; ``--thinking`` reaches the server
in its kind's own field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glm_tui.cli.output import DIM, UNDIM
from tests.e2e.test_ask import glm_tui, requests_received
from tests.support.hostile import HOSTILE, terminal_escapes
from tests.support.raw_server import RawServer, Script, sse
from tests.support.terminal_run import run_on_pty

SHAPES = ["openai_server", "vllm_server", "inline_server"]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize("server", SHAPES, ids=["reasoning_content", "reasoning", "inline"])
def test_the_answer_on_stdout_the_thinking_on_stderr(
        server: str, stream: bool, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(server)
    flags = [] if stream else ["--no-stream"]
    result = glm_tui("ask", "--base-url", url, "--model", "glm-5", *flags, "Why is grass green?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("You asked: “Why is grass green?”")
    assert "think" not in result.stdout.lower()
    assert result.stderr.startswith("The user asks: “Why is grass green?”")
    assert "You asked" not in result.stderr and "\x1b" not in result.stderr  # a pipe: exact


def test_no_thinking_output_drops_it_and_json_carries_it(vllm_server: str) -> None:
    quiet = glm_tui("ask", "--base-url", vllm_server, "--model", "glm-5",
                    "--no-thinking-output", "Hello")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout.startswith("You asked: “Hello”")
    data = glm_tui("ask", "--base-url", vllm_server, "--model", "glm-5", "--json", "Hello")
    assert data.returncode == 0 and data.stderr == ""
    message = json.loads(data.stdout)
    assert message["reasoning_content"].startswith("The user asks: “Hello”")
    assert message["content"].startswith("You asked: “Hello”")
    plain = glm_tui("ask", "--base-url", vllm_server, "--json", "Hello")  # glm-4 does not think
    assert "reasoning_content" not in json.loads(plain.stdout)


def test_the_built_in_demo_thinks_for_a_thinking_model_and_obeys_the_switch() -> None:
    """``ask --demo --model glm-4.6``: the built-in server runs as vLLM for a thinking model
    (GLM-4's own server has none), so the reasoning comes, and ``--thinking off`` reaches it."""
    thinking = glm_tui("ask", "--demo", "--model", "glm-4.6", "Why is grass green?")
    assert thinking.returncode == 0, thinking.stderr
    assert thinking.stdout.startswith("You asked: “Why is grass green?”")
    assert thinking.stderr.startswith("The user asks: “Why is grass green?”")
    off = glm_tui("ask", "--demo", "--model", "glm-4.6", "--thinking", "off", "--json", "Hi")
    assert off.returncode == 0 and off.stderr == ""
    assert "reasoning_content" not in json.loads(off.stdout)
    plain = glm_tui("ask", "--demo", "--json", "Hi")  # GLM-4 by default: it does not think
    assert "reasoning_content" not in json.loads(plain.stdout)


@pytest.mark.parametrize("switch", ["on", "off"])
def test_thinking_switch_reaches_a_vllm_server_found_by_its_model_list(
        vllm_server: str, request_log: Path, switch: str) -> None:
    result = glm_tui("ask", "--base-url", vllm_server, "--model", "glm-5", "--thinking", switch,
                     "Hello")
    assert result.returncode == 0, result.stderr
    [body] = requests_received(request_log)
    assert body["chat_template_kwargs"] == {"enable_thinking": switch == "on"}
    assert "thinking" not in body
    assert (result.stderr != "") is (switch == "on")  # off: no reasoning came at all


def test_thinking_switch_on_a_configured_hosted_kind(openai_server: str, request_log: Path,
                                                     config_path: Path) -> None:
    config_path.write_text(
        f'server = "glm"\n[servers.glm]\nbase_url = "{openai_server}"\nkind = "zhipu"\n'
        'model = "glm-4.7"\n', encoding="utf-8")
    result = glm_tui("ask", "--thinking", "off", "Hello")
    assert result.returncode == 0, result.stderr
    [body] = requests_received(request_log)
    assert body["thinking"] == {"type": "disabled"} and result.stderr == ""


def test_an_unknown_server_gets_no_guess_and_says_so(openai_server: str,
                                                     request_log: Path) -> None:
    result = glm_tui("ask", "--base-url", openai_server, "--model", "glm-5", "--thinking", "off",
                     "Hello")
    assert result.returncode == 0
    assert "glm-tui: The thinking switch (off) is not sent" in result.stderr
    [body] = requests_received(request_log)
    assert "thinking" not in body and "chat_template_kwargs" not in body


def test_a_reply_that_was_all_thinking_says_so_and_fails(inline_server: str) -> None:
    result = glm_tui("ask", "--base-url", inline_server, "--model", "glm-5", "--max-tokens", "5",
                     "Tell me everything")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("The user asks:")
    assert "The reply was all thinking" in result.stderr


def test_a_reply_that_starts_mid_thought_is_owned_up_to(inline_server: str) -> None:
    result = glm_tui("ask", "--base-url", inline_server, "--model", "glm-5",
                     "Hi [[demo:think=unopened]]")
    assert result.returncode == 0
    # The thinking went out as answer before its </think> came: stderr says so, then the answer.
    assert result.stdout.startswith("The user asks: “Hi”")
    assert "the text above was the model's thinking" in result.stderr
    assert result.stdout.rstrip().endswith("same answer.")


# --- on a terminal --------------------------------------------------------------------------


def reasoning_chunk(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"reasoning_content": text},
                         "finish_reason": None}]}


@pytest.fixture
def server() -> Iterator[RawServer]:
    with RawServer() as raw:
        yield raw


def test_hostile_reasoning_on_a_terminal_is_dimmed_and_harmless(server: RawServer) -> None:
    frames = [reasoning_chunk(text) for text in HOSTILE.values()]
    frames += [{"choices": [{"index": 0, "delta": {"content": "The answer."},
                             "finish_reason": "stop"}]}]
    server.add(Script(body=sse(*frames)))
    run = run_on_pty("ask", "--base-url", server.base_url, "question")
    assert run.returncode == 0, run.text[-2000:]
    ours = run.output.replace(DIM.encode(), b"").replace(UNDIM.encode(), b"")
    found = terminal_escapes(ours)
    assert not found, "reached the terminal raw:\n" + "\n".join(found)
    assert run.output.count(DIM.encode()) >= len(HOSTILE)  # each piece dimmed, and closed
    assert run.output.count(DIM.encode()) == run.output.count(UNDIM.encode())
    assert "\u241b]52;c;" in run.text  # the clipboard write shown, not done
    # The answer starts on a line of its own, not dimmed.
    assert run.text.endswith(f"\r\n{UNDIM}The answer.\r\n")
