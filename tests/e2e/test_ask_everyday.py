"""``glm-tui ask`` in everyday scripts (issue 12): what a pipe gets, and what stderr says.

Real processes against the real demo server (``--demo`` or a demo server on loopback), their
standard output read as bytes, exactly as ``| od -c`` would see it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def ask(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """``glm-tui ask ARGV`` with stdout and stderr on pipes (never a terminal)."""
    return subprocess.run([sys.executable, "-m", "glm_tui", "ask", *argv], input=stdin,
                          capture_output=True, timeout=120,
                          env=dict(os.environ, PYTHONIOENCODING="utf-8"))


# -- item 9: the output ends with a newline on a pipe ------------------------------------------


def test_a_piped_reply_ends_with_a_newline() -> None:
    result = ask("--demo", "[[demo:say=hello]]")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hello\n"


def test_a_reply_that_ends_with_a_newline_gets_no_second_one() -> None:
    result = ask("--demo", "-", stdin=b"[[demo:say=two lines\nend\n]]")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"two lines\nend\n"


def test_an_empty_reply_prints_nothing() -> None:
    result = ask("--demo", "[[demo:say=]]")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""


def test_the_rule_is_in_the_help() -> None:
    result = ask("--help")
    assert b"newline" in result.stdout


# -- item 7: a reply cut by max_tokens is said, with a status of its own -----------------------


def test_a_reply_cut_by_max_tokens_says_so_and_exits_3() -> None:
    result = ask("--demo", "--max-tokens", "5", "Tell me all about green tea")
    assert result.returncode == 3, result.stderr
    assert result.stdout and result.stdout.endswith(b"\n")  # the text that came, as a line
    said = result.stderr.decode()
    assert "cut short" in said and "max_tokens" in said and "5" in said
    assert "--max-tokens" in said  # what raises it


def test_a_reply_within_max_tokens_exits_0_quietly() -> None:
    result = ask("--demo", "--max-tokens", "500", "Tell me all about green tea")
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""


def test_exit_status_3_is_documented() -> None:
    assert b"3" in ask("--help").stdout and b"max_tokens" in ask("--help").stdout


# -- a model the server does not list -------------------------------------------------------------


def test_a_failed_request_for_an_unlisted_model_names_the_models_there() -> None:
    from tests.support.raw_server import RawServer, RecordedRequest, Script, json_script

    def answer(request: RecordedRequest) -> Script:
        if request.method == "GET":
            return json_script(200, {"object": "list", "data": [{"id": "qwen2.5:7b"}]})
        return json_script(404, {"error": {"message": "model 'glm-4-plus' not found"}})

    with RawServer() as server:
        server.add(answer, answer)
        result = ask("--base-url", server.base_url, "--model", "glm-4-plus", "hi")
        asked = [(r.method, r.path) for r in server.requests]
    assert result.returncode == 1
    said = result.stderr.decode()
    assert "'glm-4-plus' is not on this server" in said and "qwen2.5:7b" in said
    assert "--model" in said
    assert asked[0][0] == "POST" and asked[1] == ("GET", "/v1/models")  # asked only after


def test_a_successful_ask_does_not_spend_a_request_on_the_model_list(glm4_server: str,
                                                                    request_log: Path) -> None:
    result = ask("--base-url", glm4_server, "--model", "anything", "hi")
    assert result.returncode == 0, result.stderr
    paths = [json.loads(line)["path"] for line in request_log.read_text().splitlines()]
    assert paths == ["/v1/chat/completions"]


def test_a_question_that_is_not_utf8_is_refused_in_words_not_a_traceback() -> None:
    """A Latin-1 file piped in, or a byte typed in a non-UTF-8 terminal: said, exit 2, and
    nothing sent (it failed inside the request's JSON encoding with a traceback, before)."""
    for argv, stdin in ((("--demo", "-"), b"caf\xe9 au lait"),
                        (("--demo", os.fsdecode(b"caf\xe9 au lait")), b"")):
        result = ask(*argv, stdin=stdin)
        assert result.returncode == 2, result.stderr
        assert result.stdout == b""
        assert result.stderr.decode() == (
            "glm-tui ask: error: the prompt is not UTF-8 text (byte 0xE9 after 'caf'); nothing "
            "was sent. Set the terminal, locale or file to UTF-8.\n")
