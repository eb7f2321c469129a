"""Snapshots of the conversation screen (pytest-textual-snapshot; `--snapshot-update` to accept).

The pictures are made deterministic: the session comes from the store (no live timings), the
server is a local demo server (so the status says "ready"), and the prompt's cursor does not
blink.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from glm_tui.model.session import Message, MessageStatus, Role, Session
from glm_tui.storage.store import SessionStore
from glm_tui.ui.widgets.status_bar import ConnectionState
from tests.ui.conftest import make_app

REPLY = """Here is a small example in **Python**:

```python
def greet(name: str) -> str:
    return f"Hello, {name}!"
```

- it is *typed*
- it returns a string
"""


def _stored_session(data_dir: Path) -> Session:
    session = Session(title="Snapshot conversation", system_prompt="Answer briefly.")
    session.messages = [
        Message(Role.USER, content="Show me a greeting function [bold]literally[/]"),
        Message(Role.ASSISTANT, content=REPLY),
        Message(Role.USER, content="And a long story?"),
        Message(Role.ASSISTANT, content="Once upon a time", status=MessageStatus.CANCELLED),
        Message(Role.USER, content="[[demo:status=500]] break please"),
        Message(Role.ASSISTANT, content="", status=MessageStatus.FAILED,
                error="The server answered HTTP 500: Internal Server Error"),
    ]
    store = SessionStore(data_dir)
    store.create_session(session)
    store.close()
    return session


def _settled(until: Any) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        deadline = time.monotonic() + 30
        while not until(pilot):
            assert time.monotonic() < deadline, "the app did not settle"
            await pilot.pause(0.05)
        screen = pilot.app.screen
        screen.query_one("#prompt").cursor_blink = False  # type: ignore[attr-defined]
        await pilot.pause()

    return run_before


def test_conversation_screen_snapshot(snap_compare: Any, glm4_server: str,
                                      data_dir: Path) -> None:
    session = _stored_session(data_dir)
    app = make_app(glm4_server, resume=session.id)

    def ready(pilot: Pilot[Any]) -> bool:
        screen = pilot.app.screen
        return (app.connection_state is ConnectionState.READY
                and bool(screen.query(".message"))
                and len(screen.query(".message")) == 6)

    assert snap_compare(app, terminal_size=(120, 40), run_before=_settled(ready))
