"""Every screen and dialog, fed hostile text, draws it inert (issue 13 item 2).

A tool name chosen by the model used to reach the terminal raw in the "Decline the call to …?"
title (OSC 52 wrote the clipboard, OSC 2 retitled the window). Here each string of the corpus in
tests/support/hostile.py goes where outside words appear: tool names, session titles, model ids,
server profile names and URLs, error details, file names, toasts. After each, what is drawn (the
screen as exported, toasts included) must hold no control character, and the app must still run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from glm_tui.model.sampling import Preset, SamplingParams
from glm_tui.model.session import ImageAttachment, Message, Role, Session, ToolCall
from glm_tui.settings.config import ServerProfile
from glm_tui.storage.store import SessionStore
from glm_tui.ui.app import GlmTuiApp
from glm_tui.ui.dialogs.confirm import ConfirmModal, confirm_link
from glm_tui.ui.dialogs.damaged_database import DamagedDatabase, DamagedDatabaseModal
from glm_tui.ui.dialogs.export_session import ExportSessionModal
from glm_tui.ui.dialogs.handler import HandlerConfirmModal
from glm_tui.ui.dialogs.pick_entry import PickEntryScreen
from glm_tui.ui.dialogs.rename_session import RenameSessionModal
from glm_tui.ui.dialogs.server_call import ServerCallConfirmModal
from glm_tui.ui.dialogs.system_prompt import SystemPromptModal
from glm_tui.ui.screens.image_view import ImageViewScreen
from glm_tui.ui.screens.model_picker import ModelPickerScreen, ServerPickerScreen
from glm_tui.ui.screens.request_view import RequestViewScreen
from glm_tui.ui.screens.sampling import SamplingScreen
from glm_tui.ui.screens.sessions import SessionsScreen
from glm_tui.ui.screens.tools import ToolsScreen
from glm_tui.ui.widgets.image_thumbnail import ImageSource
from glm_tui.ui.widgets.status_bar import ConnectionState
from tests.support.hostile import HOSTILE, forbidden_characters
from tests.ui.conftest import make_app, ready, wait_for

SIZE = (100, 30)


GROUP_LENGTH = 180
"""Strings are walked in groups shorter than one line's cut (glm_tui.ui.literal.LINE_LIMIT), so
no member hides behind another's ellipsis; the 1 MB line goes alone. Each screen is shown once
per group instead of once per string: the walk takes seconds, not minutes, on a loaded machine."""


def hostile_groups() -> list[tuple[str, str]]:
    """(names, text) pairs covering every string of the corpus."""
    groups: list[tuple[list[str], list[str]]] = []
    for name, text in HOSTILE.items():
        last = groups[-1] if groups else None
        joined = len(" ".join([*last[1], text])) if last else 0
        if last is None or len(text) > GROUP_LENGTH or joined > GROUP_LENGTH \
                or len(" ".join(last[1])) > GROUP_LENGTH:
            groups.append(([name], [text]))
        else:
            last[0].append(name)
            last[1].append(text)
    return [(", ".join(names), " ".join(texts)) for names, texts in groups]


def test_the_groups_cover_the_corpus() -> None:
    groups = hostile_groups()
    assert len(HOSTILE) >= 40
    assert sum(len(names.split(", ")) for names, _ in groups) == len(HOSTILE)
    assert all(len(text) <= GROUP_LENGTH for _, text in groups if len(text) < 1_000_000)


def drawn(app: GlmTuiApp) -> str:
    """What the terminal is given to show, as text (the SVG export of the whole screen)."""
    return app.export_screenshot()


def assert_inert(app: GlmTuiApp, where: str) -> None:
    assert app.is_running, f"the app stopped on {where}"
    bad = forbidden_characters(drawn(app))
    assert bad == [], f"{where}: control characters reached the screen: {bad}"


class FakeClient:
    """What the model picker needs of a client: a URL to show and a list of model ids."""

    def __init__(self, text: str) -> None:
        self.display_url = "http://127.0.0.1:9/v1/" + text[:200]
        self._text = text

    async def list_models(self) -> list[str]:
        return ["glm-4", self._text]


def tool_entry(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": name,
                                             "parameters": {"type": "object"}}}


def dialogs_for(text: str, store: SessionStore, session_id: str) -> list[Callable[[], Screen[Any]]]:
    """Every dialog and pushed screen, built with ``text`` wherever outside words go."""
    profile = ServerProfile(name=text, base_url="http://127.0.0.1:9/v1/" + text[:200],
                            api_key="k", api_key_env=None, model=text, kind=None)
    return [
        lambda: confirm_link("https://example.com/" + text),
        lambda: HandlerConfirmModal(text, "/usr/bin/" + text, '{"city": "' + text + '"}'),
        lambda: ServerCallConfirmModal(text, text, text, '{"city": "' + text + '"}'),
        lambda: SystemPromptModal(text, note=text),
        lambda: DamagedDatabaseModal(DamagedDatabase(Path("/data") / text[:200], text)),
        lambda: RenameSessionModal(text),
        lambda: ExportSessionModal(text, "0123456789abcdef"),
        lambda: PickEntryScreen(text, [(text, tool_entry("x"))]),
        lambda: ModelPickerScreen(FakeClient(text), text),  # type: ignore[arg-type]
        lambda: ServerPickerScreen({text: profile}, text),
        lambda: RequestViewScreen({"model": text, "messages": [{"role": "user", "content": text}]},
                                  "http://127.0.0.1:9/v1/" + text[:200], text),
        lambda: SamplingScreen(SamplingParams(), kind=None,
                               presets=[Preset(text, SamplingParams())],
                               config_path=Path("/config") / text[:200], streaming=False,
                               on_change=lambda _: None),
        lambda: ToolsScreen([tool_entry(text)], text, library=_library(store),
                            on_change=lambda *_: None),
        lambda: SessionsScreen(store, session_id),
        lambda: ImageViewScreen(picture_named(text), ImageSource(store.image_path)),
    ]


def picture_named(text: str) -> ImageAttachment:
    """A picture reference named ``text`` (its file is not stored: only words are drawn)."""
    return ImageAttachment("ab" * 32, "image/jpeg", 1120, 840, text, 186_368)


def _library(store: SessionStore) -> Any:
    from glm_tui.chat.tool_library import ToolLibrary

    return ToolLibrary(store.db_path.parent)


def stored_session(store: SessionStore, text: str) -> Session:
    """A session whose every outside word is ``text``: title, model, prompt, tool call name."""
    session = Session(title=text, model=text, system_prompt=text, server_profile=text)
    session.tools = [tool_entry(text)]
    # Message bodies are the Markdown widget's (its own tests feed it huge replies): the 1 MB
    # line goes into every one-line place here, not into a body.
    body = text if len(text) < 10_000 else "a reply"
    session.messages = [
        Message(Role.USER, content=body, images=[picture_named(text)]),
        Message(Role.ASSISTANT, content=body, reasoning=body,
                tool_calls=[ToolCall(id="call_1", name=text, arguments='{"q": "' + text + '"}')]),
    ]
    store.create_session(session)
    return session


async def show(pilot: Pilot[Any], screen: Screen[Any]) -> None:
    app = pilot.app
    app.push_screen(screen)
    await wait_for(pilot, lambda: app.screen is screen and screen.is_mounted, what=repr(screen))
    await pilot.pause()


async def close(pilot: Pilot[Any], screen: Screen[Any]) -> None:
    app = pilot.app
    if app.screen is screen:
        app.pop_screen()
    await wait_for(pilot, lambda: app.screen is not screen, what="the screen to close")


@pytest.mark.slow
async def test_hostile_text_never_reaches_the_terminal(glm4_server: str, data_dir: Path) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        store = app.store
        assert store is not None
        for name, text in hostile_groups():
            session = stored_session(store, text)

            # The conversation: title line, messages, the waiting tool call's result editor
            # (placeholder and border title name the tool), the status bar's server and detail.
            services = app.services
            services.update_settings(servers={**services.settings.servers,
                                              text: services.profile})
            services.active_server = text
            assert await app.open_session(session.id)
            screen = await ready(pilot)
            services.set_connection(ConnectionState.ERROR, text)
            await wait_for(pilot, lambda s=screen: s.tool_loop.answering is not None,  # type: ignore[misc]
                           what="the tool call to wait for its result")
            await pilot.pause()
            assert_inert(app, f"the conversation ({name})")
            await pilot.press("ctrl+l")  # the reply's reasoning, opened
            await wait_for(pilot, lambda s=screen: s.query("ThinkingBlock.-expanded"),  # type: ignore[misc]
                           what="the reasoning opened")
            await pilot.pause()
            assert_inert(app, f"the reasoning ({name})")

            # The decline question, reached as a person does: Esc while the call waits.
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal),
                           what="the decline question")
            await pilot.pause()
            assert_inert(app, f"the decline question ({name})")
            await pilot.press("n")
            await wait_for(pilot, lambda s=screen: app.screen is s,  # type: ignore[misc]
                           what="the conversation")

            for make in dialogs_for(text, store, session.id):
                dialog = make()
                await show(pilot, dialog)
                assert_inert(app, f"{type(dialog).__name__} ({name})")
                await close(pilot, dialog)

            # Toasts quoting it (a caller forgetting ``markup=False`` included).
            app.clear_notifications()
            app.notify(text, title=text)
            app.notify(text, title=text, markup=False, severity="error")
            await pilot.pause()
            assert_inert(app, f"a toast ({name})")
            app.clear_notifications()
        assert app.is_running
