"""The question before an MCP call, as drawn (pytest-textual-snapshot, at 120x40 and 80x24).

Reached as a person meets it: a stored session whose last reply calls a tool of an MCP server is
resumed, and the call found waiting is asked about before anything runs (the server itself is
configured but never started: the dialog comes first). Same fixed place as ``test_snapshots.py``.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from glm_tui.chat.mcp_tools import server_tool_entry
from glm_tui.model.session import Message, MessageStatus, Role, Session, ToolCall
from glm_tui.storage.store import SessionStore
from glm_tui.tool_servers.tools import ServerTool
from glm_tui.ui.dialogs.server_call import ServerCallConfirmModal
from glm_tui.ui.widgets.status_bar import ConnectionState
from tests.support.mcp_app import server_table
from tests.ui.conftest import make_app, wait_for
from tests.ui.test_snapshots import HOME, SIZES, _screen_text, _settle, _when, fixed_place

__all__ = ["fixed_place"]  # the fixture, shared with test_snapshots.py

NOW = ServerTool("clock", "now", "The current time in a time zone",
                 {"type": "object", "properties": {"zone": {"type": "string"}},
                  "required": ["zone"]})


def _store_waiting_call() -> Session:
    call = ToolCall("call_clock_1", "now", '{"zone": "Asia/Tokyo"}')
    session = Session(
        id="snapshot-mcp", title="Time in Tokyo", model="glm-4",
        created_at=_when(15, 9), updated_at=_when(15, 10),
        tools=[server_tool_entry(NOW, set())], tool_choice="auto",
        messages=[Message(Role.USER, "What time is it in Tokyo?"),
                  Message(Role.ASSISTANT, "", tool_calls=[call],
                          status=MessageStatus.COMPLETE)])
    store = SessionStore(HOME / "data")
    try:
        store.create_session(session)
    finally:
        store.close()
    return session


@SIZES
def test_question_before_an_mcp_call(snap_compare: Any, fixed_place: str,
                                     size: tuple[int, int]) -> None:
    (HOME / "config.toml").write_text(server_table("clock"), encoding="utf-8")
    session = _store_waiting_call()

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: isinstance(app.screen, ServerCallConfirmModal)
                       and getattr(app, "connection_state", None) is ConnectionState.READY
                       and "Asia/Tokyo" in _screen_text(pilot), what="the MCP call question")
        behind = app.screen_stack[-2]
        behind.refresh(repaint=True)
        await wait_for(pilot, lambda: "●&#160;ready" in app.export_screenshot(),
                       what="the status bar behind the dialog drawn as ready")
        await _settle(pilot)

    app = make_app(fixed_place, resume=session.id)
    assert snap_compare(app, terminal_size=size, run_before=run_before)
