"""The sessions screen's export: the CLI's renderer, and never half a file on a full disk."""

from __future__ import annotations

import resource
import signal
from pathlib import Path

import pytest
from textual.widgets import Input

from glm_tui.storage.store import SessionStore
from glm_tui.ui.screens.sessions import ExportSessionModal
from tests.support.toasts import ToastLog
from tests.support.waiting import click
from tests.ui.test_sessions_screen import Host, make_session, ready, wait_for

LIMIT = 64 * 1024
"""The largest file the process may write while the disk is "full" (RLIMIT_FSIZE)."""


@pytest.fixture
def full_disk_for_big_files() -> object:
    """A context manager: inside it, writing past LIMIT bytes of any file fails with EFBIG,
    as a full disk would fail it (SIGXFSZ ignored so the write returns an error)."""

    class FullDisk:
        def __enter__(self) -> None:
            self.old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            self.old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
            resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, self.old_limit[1]))

        def __exit__(self, *exc: object) -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, self.old_limit)
            signal.signal(signal.SIGXFSZ, self.old_handler)

    return FullDisk()


async def test_a_failed_export_keeps_the_older_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_disk_for_big_files: object
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    store = SessionStore(tmp_path / "store")
    big = make_session("Big chat", 10, "question " * 10, "answer " * 60_000)
    store.create_session(big)
    target = home / "export.md"
    target.write_text("older export\n", encoding="utf-8")

    app = Host(store)
    toasts = ToastLog(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("tab", "e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportSessionModal))
        app.screen.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")  # the file exists: the dialog asks once more
        await wait_for(pilot, lambda: "already exists" in str(
            app.screen.query_one("#export-warning").render()))
        with full_disk_for_big_files:  # type: ignore[attr-defined]
            await pilot.press("enter")
            await wait_for(pilot, lambda: bool(toasts.titled("Export failed")))
    store.close()

    assert target.read_text(encoding="utf-8") == "older export\n"
    assert sorted(p.name for p in home.iterdir()) == ["export.md"]  # no temporary file left


async def test_the_screen_writes_what_the_cli_renderer_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    store = SessionStore(tmp_path / "store")
    session = make_session("Same bytes", 10, "Hi 北京", "Hello **there**")
    store.create_session(session)
    target = home / "same.json"

    app = Host(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("tab", "e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportSessionModal))
        await click(pilot, "#export-json")
        path_input = app.screen.query_one("#export-path", Input)
        path_input.value = str(target)
        path_input.focus()
        await pilot.press("enter")
        await wait_for(pilot, target.exists)
    from glm_tui.chat.export import render  # the CLI's renderer

    assert target.read_text(encoding="utf-8") == render(store.load_session(session.id), "json")
    store.close()
