"""Things a person does at awkward moments: leave mid-reply, stop a handler, hostile tool names,
values the server will refuse, and the demo server never leaking into the user's config."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from glm_tui.chat.tools import WEATHER_TOOL
from glm_tui.demo.server import DemoServer
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import MessageStatus, Role
from glm_tui.ui.app import GlmTuiApp, demo_settings
from glm_tui.ui.dialogs.confirm import ConfirmModal
from glm_tui.ui.screens.sampling import SamplingScreen
from glm_tui.ui.widgets.status_bar import ConnectionState
from tests.support.raw_server import RawServer, json_script, stream_script
from tests.support.toasts import ToastLog
from tests.ui.conftest import (
    ask,
    ask_with_handler,
    click,
    conversation,
    logged_requests,
    make_app,
    ready,
    send,
    settings_for,
    wait_for,
)

SIZE = (120, 40)


async def test_leaving_for_a_new_session_mid_reply_stores_it_and_frees_the_status(
    glm4_server: str, data_dir: Path
) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        first = await ready(pilot)
        await send(pilot, "[[demo:size=40000]] [[demo:rate=300]] a long one")
        await wait_for(pilot, lambda: app.connection_state is ConnectionState.STREAMING,
                       what="streaming")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: conversation(app) is not first, what="the new session")
        await wait_for(pilot, lambda: app.connection_state is ConnectionState.READY,
                       what="the status to leave 'streaming'")
        reply = first.session.messages[-1]
        assert reply.role is Role.ASSISTANT and reply.status is MessageStatus.CANCELLED
        assert reply.content  # the text so far is kept
        reply_now = await ask(pilot, "and now?")
        assert reply_now.status is MessageStatus.COMPLETE


async def test_a_tool_name_with_markup_is_shown_literally() -> None:
    chunk: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "created": 1,
                             "model": "m", "choices": [{"index": 0, "finish_reason": None,
                             "delta": {"tool_calls": [{"index": 0, "id": "call_x",
                                       "type": "function", "function": {
                                           "name": "[/]", "arguments": "{}"}}]}}]}
    done = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
    with RawServer() as raw:
        raw.add(json_script(200, {"object": "list", "data": [{"id": "m"}]}),
                stream_script([chunk, done]))
        app = make_app(raw.base_url, kind=ServerKind.OPENAI)
        async with app.run_test(size=SIZE) as pilot:
            screen = await ready(pilot)
            screen.apply_tools([WEATHER_TOOL], "auto")
            await wait_for(pilot, lambda: len(raw.requests) >= 1, what="the models check")
            await send(pilot, "call something odd")
            await wait_for(pilot, lambda: screen.tool_loop.answering is not None,
                           what="the call to answer")
            assert "Result of [/]" in screen.prompt.border_title.replace("\\", "")


async def test_a_value_the_server_rejects_is_asked_about_before_sending(
    glm4_server: str, request_log: Path
) -> None:
    app = make_app(glm4_server, kind=ServerKind.ZHIPU)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        screen.apply_sampling(replace(screen.session.sampling, temperature=0.0))
        await send(pilot, "hello")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the question")
        await click(pilot, "#cancel")  # change the settings instead
        await wait_for(pilot, lambda: isinstance(app.screen, SamplingScreen), what="settings")
        assert logged_requests(request_log) == []
        assert screen.prompt.text == "hello"  # nothing typed is lost
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="back to the chat")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the question")
        await click(pilot, "#confirm")
        await wait_for(pilot, lambda: len(logged_requests(request_log)) == 1, what="the request")
        assert logged_requests(request_log)[0]["temperature"] == 0.0


async def test_escape_stops_a_running_handler_and_the_call_can_be_answered_by_hand(
    glm4_server: str, tmp_path: Path
) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask_with_handler(pilot, "import time\ntime.sleep(60)\n", tmp_path)
        await wait_for(pilot, lambda: any(w.group == "tool-handler" and not w.is_finished
                                          for w in screen.workers), what="the handler")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not any(w.group == "tool-handler" and not w.is_finished
                                              for w in screen.workers), timeout=10,
                       what="the handler to stop")
        await wait_for(pilot, lambda: screen.tool_loop.answering is not None, what="by hand")
        assert screen.session.messages[-1].role is Role.ASSISTANT  # no orphan result


async def test_the_demo_server_is_never_remembered_in_the_config(config_path: Path) -> None:
    server = DemoServer(flavor="glm4", token_rate=2000.0)
    url = server.start()
    try:
        settings = demo_settings(settings_for("http://127.0.0.1:9/v1/"), url)
        app = GlmTuiApp(settings, demo_server=server)
        async with app.run_test(size=SIZE) as pilot:
            screen = await ready(pilot)
            screen.set_model("GLM-4v-9b")
            await pilot.pause()
            assert app.settings.profile.model == "GLM-4v-9b"  # this run's new sessions use it
        assert not config_path.exists() or "demo" not in config_path.read_text()
    finally:
        server.stop()


async def test_resume_reopens_the_session_last_shown_not_the_last_updated(
    glm4_server: str
) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        first = await ready(pilot)
        await ask(pilot, "the older chat")
        older_id = first.session.id
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: conversation(app) is not first, what="a new session")
        await ask(pilot, "the newer chat")
        await app.open_session(older_id)  # read the older one again, then quit
        await wait_for(pilot, lambda: conversation(app).session.id == older_id, what="older")
    resumed = make_app(glm4_server, resume="last")
    async with resumed.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert screen.session.id == older_id


async def test_a_handlers_escape_sequences_never_reach_the_terminal(
    glm4_server: str, tmp_path: Path
) -> None:
    noisy = "import sys\nsys.stderr.write('\\x1b]0;PWNED\\x07\\x1b[2J boom')\nsys.exit(2)\n"
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask_with_handler(pilot, noisy, tmp_path)
        await wait_for(pilot, lambda: screen.tool_loop.answering is not None, what="by hand")
        shown = [n for n in toasts.messages() if "boom" in n]
        assert shown and all("\x1b" not in n and "\x07" not in n for n in shown)
        assert "␛]0;PWNED␇" in shown[0]


async def test_the_reply_badge_says_waiting_then_streaming(glm4_server: str) -> None:
    from textual.widgets import Static

    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await send(pilot, "[[demo:delay=2]] [[demo:rate=40]] [[demo:size=3000]] go")
        await wait_for(pilot, lambda: screen.reply_running, what="the reply")
        reply = screen.session.messages[-1]
        view = screen.messages.get_view(reply)
        assert view is not None

        def header() -> str:
            return str(view.query_one(".message-header", Static).render())

        assert "waiting" in header()
        await wait_for(pilot, lambda: "streaming" in header(), what="the streaming badge")
        await pilot.press("escape")
        await wait_for(pilot, lambda: "cancelled" in header(), what="the cancelled badge")
