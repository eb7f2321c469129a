"""Every ``glm-tui sessions`` command on a real terminal with hostile stored text (issue 13, 4-5).

Titles, model names, replies, tool names and arguments and error text in a store came from a
model, a server or an imported file. On a pty none of them may reach the terminal as a control
sequence (no ESC, no C1, no NUL, no BEL); on a pipe ``sessions export`` is byte-exact, the same
bytes ``-o FILE`` writes, and the JSON loads back to the same session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from glm_tui.chat.export import ExportFormat, render
from glm_tui.chat.importing import import_json
from glm_tui.model.session import Message, MessageStatus, Role, Session, ToolCall
from glm_tui.storage.store import SessionStore
from tests.support.hostile import HOSTILE, short, terminal_escapes
from tests.support.terminal_run import TerminalRun, run_on_pty

EVERYTHING = "".join(short().values())
"""Every short hostile string in one piece (the sanitiser works character by character, so one
title holding them all is as searching as one title each)."""


def hostile_session(text: str, title: str | None = None) -> Session:
    """A session with ``text`` in every field a command prints or exports."""
    session = Session(title=text if title is None else title, model=text, server_profile=text,
                      system_prompt=text)
    session.tools = [{"type": "function", "function": {"name": text, "description": text}}]
    session.messages = [
        Message(Role.USER, text),
        Message(Role.ASSISTANT, text, tool_calls=[ToolCall("call_1", text, text)]),
        Message(Role.TOOL, text, tool_call_id="call_1", name=text),
        Message(Role.ASSISTANT, text, status=MessageStatus.FAILED, error=text),
    ]
    return session


@pytest.fixture
def hostile_store(data_dir: Path) -> dict[str, Session]:
    """One session per hostile string (title, model, messages) plus one holding them all."""
    sessions = {name: hostile_session(text) for name, text in HOSTILE.items()}
    sessions["everything"] = hostile_session(EVERYTHING)
    store = SessionStore(data_dir)
    try:
        for session in sessions.values():
            store.create_session(session)
    finally:
        store.close()
    return sessions


def assert_safe(run: TerminalRun, *, status: int = 0) -> None:
    assert run.returncode == status, run.text[-2000:]
    assert "Traceback" not in run.text
    found = terminal_escapes(run.output)
    assert not found, "reached the terminal raw:\n" + "\n".join(found)


def test_list_shows_every_hostile_title_and_model_made_visible(
    hostile_store: dict[str, Session],
) -> None:
    run = run_on_pty("sessions", "list")
    assert_safe(run)
    for session in hostile_store.values():
        assert session.id[:12] in run.text
    assert "[@click=app.quit]quit[/]" in run.text  # markup is text, shown as written
    assert "\u241b]52;c;" in run.text  # ESC is drawn as its control picture
    assert "\u27e8RLO\u27e9" in run.text  # the override is named, not obeyed
    # One row per session: a title's line breaks do not start rows of their own.
    rows = [line for line in run.text.splitlines() if line[:12] in
            {s.id[:12] for s in hostile_store.values()}]
    assert len(rows) == len(hostile_store)


def test_list_json_on_a_terminal(hostile_store: dict[str, Session]) -> None:
    run = run_on_pty("sessions", "list", "--json")
    assert_safe(run)
    rows = json.loads(run.output.replace(b"\r\n", b"\n"))
    titles = {row["id"]: row["title"] for row in rows}
    for name in ("osc52_bel", "all_c1", "c1_csi_clear", "nul", "mixed"):
        session = hostile_store[name]
        assert titles[session.id] == session.title  # C0 and C1 escaped, so still the data


@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_export_to_the_terminal(hostile_store: dict[str, Session], fmt: str) -> None:
    for name in ("everything", "megabyte_line"):
        run = run_on_pty("sessions", "export", hostile_store[name].id, "--format", fmt)
        assert_safe(run)
        assert len(run.output) > (1 << 20 if name == "megabyte_line" else 1000)


def test_import_and_delete_lines_are_safe(
    hostile_store: dict[str, Session], tmp_path: Path,
) -> None:
    exported = tmp_path / "hostile.json"
    exported.write_text(render(hostile_store["everything"], "json"), encoding="utf-8")
    run = run_on_pty("sessions", "import", str(exported))  # same id is stored: a copy
    assert_safe(run)
    assert "Imported" in run.text and "\u241b" in run.text

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"messages": [{"role": text, "content": 1}
                                            for text in short().values()]}), encoding="utf-8")
    run = run_on_pty("sessions", "import", str(bad))
    assert_safe(run, status=1)
    assert "was not imported" in run.text

    for name in ("everything", "mixed", "megabyte_line"):
        run = run_on_pty("sessions", "delete", hostile_store[name].id)
        assert_safe(run)
        assert "Deleted" in run.text


def test_errors_quoting_what_was_typed_are_safe(hostile_store: dict[str, Session]) -> None:
    run = run_on_pty("sessions", "export", HOSTILE["osc52_bel"])
    assert_safe(run, status=1)
    assert "glm-tui:" in run.text


def cli(*argv: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "glm_tui", *argv], capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=120,
                          env=dict(os.environ, PYTHONIOENCODING="utf-8"))


@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_export_to_a_pipe_is_byte_exact(
    hostile_store: dict[str, Session], tmp_path: Path, fmt: ExportFormat,
) -> None:
    for name in ("everything", "megabyte_line", "all_c0"):
        session = hostile_store[name]
        piped = cli("sessions", "export", session.id, "--format", fmt)
        assert piped.returncode == 0, piped.stderr
        target = tmp_path / f"{name}.{fmt}"
        assert cli("sessions", "export", session.id, "--format", fmt, "-o",
                   str(target)).returncode == 0
        assert piped.stdout == target.read_bytes()
        stored = SessionStore(Path(os.environ["GLM_TUI_DATA_DIR"]))
        try:
            assert piped.stdout == render(stored.load_session(session.id), fmt).encode("utf-8")
        finally:
            stored.close()
        if fmt == "markdown":
            assert session.messages[1].content.encode("utf-8") in piped.stdout  # raw: the data
        else:
            back = import_json(piped.stdout)
            assert (back.title, back.model) == (session.title, session.model)
            assert [m.content for m in back.messages] == [m.content for m in session.messages]
            assert back.messages[1].tool_calls[0].name == session.messages[1].tool_calls[0].name
            assert not any(0x80 <= ord(char) <= 0x9F for char in piped.stdout.decode("utf-8"))


def test_json_export_escapes_c1_and_loads_back_identically() -> None:
    session = hostile_session(HOSTILE["all_c1"] + HOSTILE["rtl_override"] + "\u2028")
    text = render(session, "json")
    assert not any(0x7F <= ord(char) <= 0x9F for char in text)
    assert "\\u009b" in text and "\\u202e" in text and "\\u2028" in text
    assert "é" in render(hostile_session("é 你好"), "json")  # still readable UTF-8
    back = import_json(text.encode("utf-8"))
    assert back.title == session.title
    assert [m.content for m in back.messages] == [m.content for m in session.messages]


def test_list_json_into_head_ends_without_a_traceback(hostile_store: dict[str, Session]) -> None:
    """``glm-tui sessions list --json | head -3`` (issue 12 item 8): the listing is over 1 MB,
    so the reader is gone long before the writer is done."""
    writer = subprocess.Popen([sys.executable, "-m", "glm_tui", "sessions", "list", "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=dict(os.environ, PYTHONIOENCODING="utf-8"))
    assert writer.stdout is not None
    head = subprocess.run(["head", "-3"], stdin=writer.stdout, capture_output=True, timeout=120)
    writer.stdout.close()  # only head holds the read end now
    _, errors = writer.communicate(timeout=120)
    assert head.stdout.count(b"\n") == 3
    assert b"Traceback" not in errors, errors.decode(errors="replace")
    assert errors == b""
    assert writer.returncode in (0, 141)
