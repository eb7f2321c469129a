"""The sessions screen exports pictures as the CLI does: files beside Markdown, gone ones named."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from glm_tui.chat.export import prepare_export
from glm_tui.storage.store import SessionStore
from glm_tui.ui.screens.sessions import ExportSessionModal
from tests.chat.test_export_images import picture_session
from tests.support.toasts import ToastLog
from tests.ui.test_sessions_screen import Host, ready, wait_for


async def test_markdown_export_writes_the_pictures_and_names_a_missing_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    store = SessionStore(tmp_path / "store")
    session = picture_session(store, tmp_path)
    cat, sky = session.messages[0].images[0], session.messages[2].images[0]
    store.image_path(cat.sha256).unlink()  # deleted behind glm-tui's back
    target = home / "pictures.md"

    app = Host(store)
    toasts = ToastLog(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("tab", "e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportSessionModal))
        app.screen.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(toasts.titled("Export")) == 2)

    folder = home / "pictures_images"
    shown = toasts.titled("Export")
    assert shown[0].message == f"Exported to {target}, with 1 image in {folder}"
    assert shown[1].severity == "warning"
    assert shown[1].message.startswith("cat.jpg (message 1) was exported without its picture: ")
    assert [p.name for p in folder.iterdir()] == [f"sky-北京-{sky.sha256[:12]}.jpg"]
    assert (folder / f"sky-北京-{sky.sha256[:12]}.jpg").read_bytes() == store.image_path(
        sky.sha256).read_bytes()
    # Exactly what the CLI writes for the same file name.
    assert target.read_text(encoding="utf-8") == prepare_export(
        store.load_session(session.id), "markdown", store, target).text
    store.close()
