"""The model in use decides the request's rules, and a model the server lacks is said (issue 12).

The real app (Pilot) against the real GLM-4-flavoured demo server, which answers as GLM-4V when a
request names a ``4v`` model and then refuses a system message with HTTP 500, as the real GLM-4V
server does. What was sent is read from the server's request log.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList

from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import MessageStatus
from glm_tui.ui.screens.model_picker import ModelPickerScreen
from tests.ui.conftest import ask, logged_requests, make_app, ready, wait_for

SIZE = (120, 40)


async def test_choosing_glm_4v_with_f8_gives_the_glm_4v_rules(
    glm4_server: str, request_log: Path
) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        screen.session.system_prompt = "Answer in one word."
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPickerScreen)
                       and bool(app.screen.models), what="the server's models listed")
        options = app.screen.query_one("#model-list", OptionList)
        options.highlighted = app.screen.models.index("GLM-4v-9b")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.session.model == "GLM-4v-9b", what="the choice")
        assert app.server_kind is ServerKind.GLM4V
        reply = await ask(pilot, "What colour is the sky?")
    assert reply.status is MessageStatus.COMPLETE, reply.error  # not the GLM-4V server's 500
    sent = logged_requests(request_log)[-1]
    assert sent["model"] == "GLM-4v-9b"
    assert [m["role"] for m in sent["messages"]] == ["user"]  # the system prompt folded in
    assert "Answer in one word." in sent["messages"][0]["content"]
