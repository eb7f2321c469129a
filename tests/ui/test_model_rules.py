"""The model in use decides the request's rules, and a model the server lacks is said (issue 12).

The real app (Pilot) against the real GLM-4-flavoured demo server, which answers as GLM-4V when a
request names a ``4v`` model and then refuses a system message with HTTP 500, as the real GLM-4V
server does. What was sent is read from the server's request log.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.widgets import OptionList

from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import MessageStatus
from glm_tui.ui.screens.model_picker import ModelPickerScreen
from glm_tui.ui.widgets.status_bar import ConnectionState
from tests.support.raw_server import RawServer, RecordedRequest, Script, json_script
from tests.support.toasts import ToastLog
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


# -- a model the server does not list is said once, with the list -----------------------------


def models_or_404(request: RecordedRequest) -> Script:
    """A server listing two models, answering any chat with 404 as vLLM does for an unknown
    model."""
    if request.method == "GET":
        return json_script(200, {"object": "list", "data": [
            {"id": "qwen2.5:7b", "object": "model"}, {"id": "llama3.1:8b", "object": "model"}]})
    return json_script(404, {"error": {"message": "model not found"}})


async def test_a_model_the_server_does_not_list_is_said_once_with_the_list() -> None:
    with RawServer() as server:
        server.add(*[models_or_404] * 6)
        app = make_app(server.base_url, kind=None)
        app.services.update_settings(servers={
            name: replace(profile, model="glm-4-plus")
            for name, profile in app.settings.servers.items()})
        toasts = ToastLog(app)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await wait_for(pilot, lambda: toasts.any_mentions("glm-4-plus"),
                           what="the note about the model")
            app.check_connection()  # a second check (F9 back, a retry) says nothing new
            await wait_for(pilot, lambda: len(server.requests) >= 2, what="the second check")
            await wait_for(pilot, lambda: app.connection_state is ConnectionState.READY)
    notes = [t for t in toasts.messages() if "glm-4-plus" in t]
    assert len(notes) == 1
    assert "qwen2.5:7b" in notes[0] and "llama3.1:8b" in notes[0] and "F8" in notes[0]


async def test_a_listed_model_gets_no_note(glm4_server: str) -> None:
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: app.connection_state is ConnectionState.READY)
        await pilot.pause()
    assert not toasts.any_mentions("not on this server")
