"""Issue 13, item 1: an imported session never runs a local command unasked.

A session file can come from anyone. Its tool entries may name a handler program and say "always
allow"; before the fix, ``sessions import`` kept both and opening the session with ``--resume``
ran the handler at once for the pending call. Now permissions are never imported: the handler is
kept as data but switched off, "always allow" is dropped, the tools screen says so, and switching
the handler on shows its exact command first.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from glm_tui.chat.export import export_json
from glm_tui.chat.tools import (
    WEATHER_TOOL,
    handler_is_off,
    handler_of,
    stored_handler,
    tool_settings,
    with_settings,
)
from glm_tui.model.session import Message, Role, Session, ToolCall
from glm_tui.storage.store import SessionStore
from glm_tui.ui.dialogs.confirm import ConfirmModal
from glm_tui.ui.screens.tools import ToolsScreen
from tests.e2e.test_sessions_cli import run
from tests.support.waiting import click
from tests.ui.conftest import make_app, ready, wait_for

SIZE = (120, 40)
MARKING_HANDLER = """\
import pathlib, sys
pathlib.Path(sys.argv[0]).with_name("ran").write_text("yes")
print("23 C")
"""


def hostile_session(tmp_path: Path) -> tuple[Session, list[str], Path]:
    """A session whose weather tool names a local program and "always allow", with the model's
    call to it still waiting for a result; the program leaves a marker file when it runs."""
    script = tmp_path / "handler.py"
    script.write_text(MARKING_HANDLER, encoding="utf-8")
    argv = [sys.executable, str(script)]
    session = Session(title="Weather, from a stranger", model="glm-4", tool_choice="auto")
    session.tools = [with_settings(WEATHER_TOOL, handler=argv, always_allow=True)]
    session.messages = [
        Message(Role.USER, "What's the weather in Paris?"),
        Message(Role.ASSISTANT, "", tool_calls=[ToolCall(
            "call_1", "get_current_weather", '{"location": "Paris", "format": "celsius"}')]),
    ]
    return session, argv, tmp_path / "ran"


def import_file(data_dir: Path, tmp_path: Path, session: Session) -> str:
    """``glm-tui sessions import FILE``; returns the imported session's id."""
    exported = tmp_path / "from-a-stranger.json"
    exported.write_text(json.dumps(export_json(session)), encoding="utf-8")
    assert run(data_dir, "import", str(exported)) == 0
    store = SessionStore(data_dir)
    try:
        session_id = store.last_session_id()
    finally:
        store.close()
    assert session_id is not None
    return session_id


async def test_resuming_an_imported_session_never_runs_its_handler(
    glm4_server: str, data_dir: Path, tmp_path: Path
) -> None:
    session, argv, marker = hostile_session(tmp_path)
    session_id = import_file(data_dir, tmp_path, session)

    app = make_app(glm4_server, resume="last")
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert screen.session.id == session_id
        [tool] = screen.session.tools
        assert stored_handler(tool) == argv and handler_of(tool) is None
        assert "always_allow" not in tool_settings(tool)

        # The moment the tool loop would run an allowed handler: it asks for the result instead.
        await screen.tool_loop.continue_tool_loop()

        def settled() -> bool:
            handler_workers = [w for w in screen.workers if w.group == "tool-handler"]
            return (screen.tool_loop.answering is not None or marker.exists()
                    or bool(handler_workers))

        await wait_for(pilot, settled, what="the tool loop to decide")
        assert [w for w in screen.workers if w.group == "tool-handler"] == []
        assert screen.tool_loop.answering is not None
        assert not marker.exists()

        # The tools screen shows the handler as off, with its command and why.
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, ToolsScreen), what="tools screen")
        tools_screen = app.screen
        listing = tools_screen.query_one("#tools-list", OptionList)
        row = str(listing.get_option_at_index(0).prompt)
        assert "handler off" in row
        assert tools_screen.query_one("#tool-handler", Input).value.endswith("handler.py")
        state = str(tools_screen.query_one("#tool-handler-state", Static).render())
        assert "Switched off" in state and "imported" in state
    assert not marker.exists()


async def test_switching_an_imported_handler_on_shows_its_exact_command_first(
    glm4_server: str, data_dir: Path, tmp_path: Path
) -> None:
    session, argv, marker = hostile_session(tmp_path)
    session_id = import_file(data_dir, tmp_path, session)

    app = make_app(glm4_server, resume=session_id)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, ToolsScreen), what="tools screen")
        tools_screen = app.screen
        assert isinstance(tools_screen, ToolsScreen)
        field = tools_screen.query_one("#tool-handler", Input)

        # Enter in the field asks first; "Keep it off" changes nothing.
        await _ask_to_switch_on(pilot, field)
        body = str(app.screen.query_one(".dialog-body", Static).render())
        assert f"program: {json.dumps(argv[0])}" in body
        assert f"argument 1: {json.dumps(argv[1])}" in body
        await click(pilot, "#cancel")
        await wait_for(pilot, lambda: app.screen is tools_screen, what="back on the tools")
        assert handler_is_off(tools_screen.tools[0])
        assert handler_of(screen.session.tools[0]) is None

        await _ask_to_switch_on(pilot, field)
        await click(pilot, "#confirm")
        await wait_for(pilot, lambda: handler_of(screen.session.tools[0]) == argv,
                       what="the handler to be on")
        assert "always_allow" not in tool_settings(screen.session.tools[0])
        state = tools_screen.query_one("#tool-handler-state", Static)
        assert "Switched off" not in str(state.render())
    assert not marker.exists()  # switching on runs nothing by itself
    store = SessionStore(data_dir)
    try:
        assert handler_of(store.load_session(session_id).tools[0]) == argv  # saved
    finally:
        store.close()


async def _ask_to_switch_on(pilot: Pilot[Any], field: Input) -> None:
    field.focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmModal),
                   what="the switch-on question")


def test_a_duplicate_of_an_imported_session_keeps_the_handler_off(
    data_dir: Path, tmp_path: Path
) -> None:
    session, argv, _ = hostile_session(tmp_path)
    session_id = import_file(data_dir, tmp_path, session)
    store = SessionStore(data_dir)
    try:
        copy_id = store.duplicate_session(session_id)
        [tool] = store.load_session(copy_id).tools
    finally:
        store.close()
    assert stored_handler(tool) == argv
    assert handler_of(tool) is None and "always_allow" not in tool_settings(tool)


@pytest.mark.parametrize("flag", [False, None, 0, "no"])
def test_a_file_cannot_switch_its_own_handler_on(
    data_dir: Path, tmp_path: Path, flag: object
) -> None:
    """Whatever ``handler_off`` the file says, an imported handler comes back off."""
    session, _, _ = hostile_session(tmp_path)
    block = dict(tool_settings(session.tools[0]), handler_off=flag)
    session.tools = [dict(session.tools[0], glm_tui=block)]
    session_id = import_file(data_dir, tmp_path, session)
    store = SessionStore(data_dir)
    try:
        [tool] = store.load_session(session_id).tools
    finally:
        store.close()
    assert handler_of(tool) is None and handler_is_off(tool)
