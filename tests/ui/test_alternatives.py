"""A reply's alternatives instead of replacement (issue 12, expected and missing).

Ctrl+R keeps the previous answer; the reply shows ``‹ 2/2 ›`` and the settings each answer was
made with; Alt+Left / Alt+Right move between them; the one shown is what the next request sends
and what the Markdown export writes, while the store and the JSON export keep all of them (and
import gives them back). Against the GLM-4 demo server, whose answer follows a system prompt that
asks for an opening phrase, so the two answers differ; a real SQLite file; the request log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from glm_tui.chat.export import import_json, render
from glm_tui.model.sampling import SamplingParams
from glm_tui.model.session import Role
from glm_tui.storage.store import SessionStore
from glm_tui.ui.app import GlmTuiApp
from glm_tui.ui.screens.conversation import ConversationScreen
from glm_tui.ui.widgets.status_bar import format_stats
from tests.support.toasts import ToastLog
from tests.ui.conftest import (
    ask,
    last_reply,
    logged_requests,
    make_app,
    ready,
    wait_for,
    wait_reply_done,
)

SIZE = (110, 36)
QUESTION = "Name a river, please."
SYSTEM = "Always start your answer with 'Ahoy!'"


def _header(screen: ConversationScreen) -> str:
    reply = last_reply(screen)
    assert reply is not None
    view = screen.messages.get_view(reply)
    assert view is not None
    return str(view.query_one(".message-header").render())


async def _two_answers(pilot: Pilot[Any]) -> tuple[ConversationScreen, str, str]:
    """Ask, then change the system prompt and the temperature and press Ctrl+R."""
    screen = await ready(pilot)
    first = (await ask(pilot, QUESTION)).content
    screen.session.system_prompt = SYSTEM
    screen.apply_sampling(SamplingParams(temperature=0.2, top_p=0.8))
    old = last_reply(screen)
    await pilot.press("ctrl+r")
    await wait_for(pilot, lambda: last_reply(screen) is not old, what="a new reply")
    second = (await wait_reply_done(pilot)).content
    assert second.startswith("Ahoy!") and not first.startswith("Ahoy!")
    return screen, first, second


async def test_ctrl_r_keeps_the_previous_answer_and_alt_arrows_move_between_them(
    glm4_app: GlmTuiApp,
) -> None:
    toasts = ToastLog(glm4_app)
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen, first, second = await _two_answers(pilot)
        second_stats = format_stats(screen.status.stats)
        assert [m.role for m in screen.session.messages] == [Role.USER, Role.ASSISTANT]
        assert len(screen.messages.views()) == 2
        await wait_for(pilot, lambda: "‹ 2/2 ›" in _header(screen), what="‹ 2/2 ›")
        assert "T 0.2 · P 0.8 · glm-4" in _header(screen)

        await pilot.press("alt+left")
        await wait_for(pilot, lambda: "‹ 1/2 ›" in _header(screen), what="‹ 1/2 ›")
        reply = last_reply(screen)
        assert reply is not None and reply.content == first
        assert "T 0.8 · P 0.8 · glm-4" in _header(screen)
        # The status bar gives the figures of the answer shown, not of the last one streamed.
        assert reply.usage is not None and reply.usage.completion_tokens is not None
        first_tokens = f"{reply.usage.completion_tokens} tok"
        assert first_tokens not in second_stats
        await wait_for(pilot, lambda: first_tokens in screen.status.plain,
                       what="the first answer's token count")
        view = screen.messages.get_view(reply)
        assert view is not None
        assert view.query_one("StreamingMarkdown").text == first  # type: ignore[attr-defined]

        await pilot.press("alt+left")  # already the first: said, nothing changes
        await wait_for(pilot, lambda: toasts.any_mentions("first answer"), what="the note")
        assert reply.content == first
        await pilot.press("alt+right")
        await wait_for(pilot, lambda: "‹ 2/2 ›" in _header(screen), what="back to ‹ 2/2 ›")
        assert reply.content == second
        assert format_stats(screen.status.stats).split(" · ")[0] == second_stats.split(" · ")[0]
        assert screen.prompt.has_focus


async def test_the_chosen_answer_is_sent_stored_and_exported_the_others_kept(
    glm4_server: str, request_log: Path, data_dir: Path,
) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen, first, second = await _two_answers(pilot)
        await pilot.press("alt+left")
        await wait_for(pilot, lambda: "‹ 1/2 ›" in _header(screen), what="the first answer")
        await ask(pilot, "And a longer one?")
        session_id = screen.session.id

    sent = logged_requests(request_log)[-1]["messages"]
    answers = [m["content"] for m in sent if m["role"] == "assistant"]
    assert answers == [first]  # the chosen answer only
    assert second not in json.dumps(sent)

    store = SessionStore(data_dir)
    try:
        session = store.load_session(session_id)
    finally:
        store.close()
    reply = session.messages[1]
    assert reply.content == first and reply.alternative_position == 0
    assert [a.content for a in reply.alternatives] == [second]
    assert reply.made_with is not None and reply.made_with.sampling.temperature == 0.8
    made_with = reply.alternatives[0].made_with
    assert made_with is not None and made_with.sampling.temperature == 0.2

    markdown = render(session, "markdown")
    assert first in markdown and second not in markdown
    assert "## Assistant · answer 1 of 2" in markdown
    exported = render(session, "json")
    block = json.loads(exported)["glm_tui"]["messages"][1]
    assert block["content"] == first
    assert [other["content"] for other in block["alternatives"]["others"]] == [second]
    again = import_json(exported)
    assert again.messages[1].alternatives == reply.alternatives
    assert again.messages[1].alternative_position == 0
    assert again.messages[1].made_with == reply.made_with

    resumed = make_app(glm4_server, resume=session_id)
    async with resumed.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await wait_for(pilot, lambda: screen.messages.mounted_count == 4, what="the messages")
        view = screen.messages.get_view(screen.session.messages[1])
        assert view is not None
        assert "‹ 1/2 ›" in str(view.query_one(".message-header").render())


async def test_a_reply_without_other_answers_says_how_to_get_one(glm4_app: GlmTuiApp) -> None:
    toasts = ToastLog(glm4_app)
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, QUESTION)
        await pilot.press("alt+right")
        await wait_for(pilot, lambda: toasts.any_mentions("Ctrl+R asks again"), what="the note")
        assert "‹" not in _header(screen)
