"""A reply cut by max_tokens is marked, names the setting and its value, and can go on (item 7).

The real app (Pilot) against the real demo server, which stops a reply at ``max_tokens`` tokens
and reports ``finish_reason: "length"`` as GLM-4 (streaming), vLLM and OpenAI servers do.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.widgets import Static

from glm_tui.chat.cut_reply import CONTINUE_PROMPT
from glm_tui.model.session import MessageStatus, Role
from glm_tui.storage.store import SessionStore
from tests.support.toasts import ToastLog
from tests.ui.conftest import ask, logged_requests, make_app, ready, wait_for, wait_reply_done

SIZE = (120, 40)
QUESTION = "Tell me all about green tea"


async def test_a_cut_reply_is_marked_with_the_setting_and_continues(
    glm4_server: str, request_log: Path, data_dir: Path
) -> None:
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        screen.apply_sampling(replace(screen.session.sampling, max_tokens=5))
        cut = await ask(pilot, QUESTION)
        assert cut.status is MessageStatus.COMPLETE
        assert cut.error is not None and "max_tokens" in cut.error and "5" in cut.error
        view = screen.messages.get_view(cut)
        assert view is not None
        shown = str(view.query_one(".error-block", Static).render())
        assert "max_tokens" in shown and "5" in shown  # on the reply itself, not only a toast
        assert any("F10" in toast for toast in toasts.messages())

        screen.prompt.load_text("a draft I am still writing")
        await pilot.press("f10")
        await wait_for(pilot, lambda: len(screen.session.messages) == 4, what="the follow-up")
        await wait_reply_done(pilot)
        assert screen.prompt.text == "a draft I am still writing"  # the draft survives

    sent = logged_requests(request_log)[-1]
    roles = [m["role"] for m in sent["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert sent["messages"][1]["content"] == cut.content  # the cut text goes back as it is
    assert sent["messages"][2]["content"] == CONTINUE_PROMPT

    store = SessionStore(data_dir)  # the mark is stored with the reply: it survives a restart
    try:
        stored = store.load_session(screen.session.id).messages[1]
    finally:
        store.close()
    assert stored.role is Role.ASSISTANT and stored.error == cut.error


async def test_nothing_to_continue_before_any_reply(glm4_server: str,
                                                    request_log: Path) -> None:
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("f10")
        await wait_for(pilot, lambda: bool(toasts.messages()), what="a word about why not")
        assert screen.session.messages == []
    assert logged_requests(request_log) == []
