"""A typed draft is never lost (issue 12, item 3).

It survives editing the last question (Ctrl+G, then Esc, or sending the edit), Ctrl+N and
switching sessions; each session keeps its own, stored in the real SQLite file, so it comes back
after a restart too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from glm_tui.storage.store import SessionStore
from glm_tui.ui.app import GlmTuiApp
from glm_tui.ui.messages import OpenSession
from glm_tui.ui.screens.conversation import ConversationScreen
from glm_tui.ui.screens.sessions import SessionsScreen
from tests.ui.conftest import (
    ask,
    conversation,
    make_app,
    ready,
    wait_for,
    wait_reply_done,
)

SIZE = (100, 30)
DRAFT = "half a thought, not sent yet"


async def _type(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*[("space" if ch == " " else ch) for ch in text])


async def _open(pilot: Pilot[Any], session_id: str) -> ConversationScreen:
    """Ctrl+O, then open ``session_id`` from the sessions screen."""
    app = pilot.app
    before = app.screen
    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), what="the sessions")
    app.screen.dismiss(OpenSession(session_id))
    await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen)
                   and app.screen is not before and app.screen.session.id == session_id,
                   what=f"session {session_id}")
    return await ready(pilot)


async def _new(pilot: Pilot[Any]) -> ConversationScreen:
    before = pilot.app.screen
    await pilot.press("ctrl+n")
    await wait_for(pilot, lambda: pilot.app.screen is not before
                   and isinstance(pilot.app.screen, ConversationScreen), what="a new session")
    return await ready(pilot)


async def test_esc_from_editing_the_last_question_gives_the_draft_back(
    glm4_app: GlmTuiApp,
) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "What is 2 + 2?")
        await _type(pilot, DRAFT)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: screen.prompt.text == "What is 2 + 2?",
                       what="the last question in the prompt")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not screen.prompt.has_class("-editing"),
                       what="editing to end")
        assert screen.prompt.text == DRAFT
        # Sending the edited question gives the draft back too.
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: screen.prompt.text == "What is 2 + 2?",
                       what="the last question again")
        screen.prompt.set_prompt("What is 3 + 3?")
        await pilot.press("enter")
        await wait_reply_done(pilot)
        assert screen.session.messages[0].content == "What is 3 + 3?"
        assert screen.prompt.text == DRAFT


async def test_each_session_keeps_its_draft_across_ctrl_n_and_switching(
    glm4_app: GlmTuiApp,
) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        first = await ready(pilot)
        await ask(pilot, "first session question")
        await _type(pilot, "for the first")
        second = await _new(pilot)
        assert second.prompt.text == ""
        await ask(pilot, "second session question")
        await _type(pilot, "for the second")

        again = await _open(pilot, first.session.id)
        await wait_for(pilot, lambda: again.prompt.text == "for the first",
                       what=f"the first draft (the prompt holds {again.prompt.text!r})")
        await _type(pilot, " and more")
        back = await _open(pilot, second.session.id)
        await wait_for(pilot, lambda: back.prompt.text == "for the second",
                       what=f"the second draft (the prompt holds {back.prompt.text!r})")
        once_more = await _open(pilot, first.session.id)
        await wait_for(pilot, lambda: once_more.prompt.text == "for the first and more",
                       what="the first draft as last typed")
        # Sent, a draft is gone: the next visit finds an empty prompt.
        await pilot.press("enter")
        await wait_reply_done(pilot)
        assert once_more.prompt.text == ""
        await _open(pilot, second.session.id)
        cleared = await _open(pilot, first.session.id)
        assert cleared.prompt.text == ""


async def test_a_draft_survives_a_restart(glm4_server: str, data_dir: Path) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "a question before quitting")
        session_id = screen.session.id
        await _type(pilot, DRAFT)
        await pilot.press("ctrl+q")
    store = SessionStore(data_dir)
    try:
        assert store.load_draft(session_id) == DRAFT
    finally:
        store.close()

    again = make_app(glm4_server, resume=session_id)
    async with again.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await wait_for(pilot, lambda: screen.prompt.text == DRAFT,
                       what=f"the draft back (the prompt holds {screen.prompt.text!r})")
        assert screen.prompt.cursor_location == (0, len(DRAFT))


async def test_a_new_session_left_with_only_a_draft_is_kept_with_it(
    glm4_app: GlmTuiApp,
) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        empty = await ready(pilot)
        await _type(pilot, "an idea for later")
        await _new(pilot)
        store = glm4_app.store
        assert store is not None
        assert store.has_session(empty.session.id)
        reopened = await _open(pilot, empty.session.id)
        await wait_for(pilot, lambda: reopened.prompt.text == "an idea for later",
                       what="the draft of the session that had only a draft")
        assert conversation(glm4_app).session.messages == []
