"""The reference client's function-calling flow, from the keyboard, against the GLM-4 demo server.

Enable ``get_current_weather`` on the tools screen, ask the reference question, see the call,
answer ``23°C``, get the final reply; the server's request log shows the assistant ``tool_calls``
turn and the ``tool`` message exactly as the reference client sends them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from glm_tui.chat.tools import WEATHER_TOOL, with_settings
from glm_tui.model.session import MessageStatus, Role
from glm_tui.storage.store import SessionStore
from glm_tui.ui.dialogs.handler import HandlerConfirmModal
from glm_tui.ui.screens.conversation import ConversationScreen
from glm_tui.ui.screens.tools import ToolsScreen
from tests.support.toasts import ToastLog
from tests.ui.conftest import (
    ask,
    ask_with_handler,
    click,
    logged_requests,
    make_app,
    ready,
    send,
    wait_for,
    wait_reply_done,
)

SIZE = (120, 40)
QUESTION = "What's the Celsius temperature in San Francisco?"


async def enable_weather_tool(pilot: Pilot[Any]) -> None:
    """F6, Ctrl+N, Enter (the reference template), Esc: the keyboard path a person takes."""
    await pilot.press("f6")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ToolsScreen), what="tools")
    await pilot.press("ctrl+n")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press("escape")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConversationScreen),
                   what="back to the conversation")


@pytest.mark.parametrize("stream", [True, False], ids=["streaming", "not-streaming"])
async def test_reference_flow(glm4_server: str, request_log: Path, stream: bool) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await enable_weather_tool(pilot)
        if not stream:
            await pilot.press("f7")
        assert "tools 1 (auto)" in str(screen.status.sampling)

        reply = await ask(pilot, QUESTION)
        assert reply.status is MessageStatus.COMPLETE
        [call] = reply.tool_calls
        assert call.name == "get_current_weather"
        assert json.loads(call.arguments)["location"].startswith("San Francisco")
        view = screen.messages.get_view(reply)
        assert view is not None
        block = str(view.query_one(".tool-calls", Static).render())
        assert "get_current_weather" in block and '"location"' in block
        assert screen.tool_loop.answering == call
        assert "Result of get_current_weather" in str(screen.prompt.border_title)

        await send(pilot, "23°C")
        final = await wait_reply_done(pilot)
        assert final is not reply
        assert "23°C" in final.content
        assert screen.tool_loop.answering is None

    bodies = logged_requests(request_log)
    assert [b["stream"] for b in bodies] == [stream, stream]
    assert bodies[0]["tools"] == [WEATHER_TOOL]
    assert bodies[0]["tool_choice"] == "auto"  # as the reference client sends it
    follow_up = bodies[1]["messages"]
    assert follow_up[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{
            "id": call.id,
            "type": "function",
            "function": {"name": "get_current_weather", "arguments": call.arguments},
        }],
    }
    assert follow_up[2] == {
        "tool_call_id": call.id, "role": "tool", "name": "get_current_weather", "content": "23°C",
    }

    # Tool calls and results are stored with the session and come back intact on resume.
    store = SessionStore(app.settings.data_dir)
    try:
        session_id = store.last_session_id()
        assert session_id is not None
        stored = store.load_session(session_id)
    finally:
        store.close()
    assert [m.role for m in stored.messages] == [Role.USER, Role.ASSISTANT, Role.TOOL,
                                                 Role.ASSISTANT]
    assert stored.messages[1].tool_calls == [call]
    assert stored.messages[2].tool_call_id == call.id
    assert stored.tools == [WEATHER_TOOL]


async def test_a_call_waiting_at_exit_is_asked_for_again_on_resume(glm4_server: str) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await enable_weather_tool(pilot)
        reply = await ask(pilot, QUESTION)
        assert reply.tool_calls
    resumed = make_app(glm4_server, resume="last")
    async with resumed.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await wait_for(pilot, lambda: screen.tool_loop.answering is not None,
                       what="the waiting call")
        assert screen.tool_loop.answering == reply.tool_calls[0]
        await send(pilot, '{"temperature": 23, "unit": "celsius"}')
        final = await wait_reply_done(pilot)
        assert final.role is Role.ASSISTANT and not final.tool_calls


async def test_an_empty_result_is_not_sent(glm4_server: str, request_log: Path) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await enable_weather_tool(pilot)
        await ask(pilot, QUESTION)
        await send(pilot, "   ")
        await pilot.pause()
        assert screen.session.messages[-1].role is Role.ASSISTANT
        assert screen.tool_loop.answering is not None
        # A real result next: had the blank one gone out, it would be logged before this one.
        await send(pilot, "23°C")
        await wait_reply_done(pilot)
        [_, answered] = logged_requests(request_log)
        assert answered["messages"][-1]["role"] == "tool"
        assert answered["messages"][-1]["content"] == "23°C"


MARKING_HANDLER = """\
import json, pathlib, sys
args = json.load(sys.stdin)
pathlib.Path(sys.argv[0]).with_name("ran").write_text("yes")
print(f"23°C in {args['location']}")
"""


async def test_no_handler_runs_without_the_users_say_so(glm4_server: str, tmp_path: Path,
                                                        request_log: Path) -> None:
    marker = tmp_path / "ran"
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask_with_handler(pilot, MARKING_HANDLER, tmp_path, choice=None)
        shown = " ".join(str(w.render()) for w in app.screen.query(Static))
        assert "handler.py" in shown and "San Francisco" in shown
        assert not marker.exists()
        await pilot.press("escape")  # answer by hand instead
        await wait_for(pilot, lambda: screen.tool_loop.answering is not None, what="by hand")
        assert not marker.exists()

        await pilot.press("ctrl+r")  # ask again; this time run it once
        await wait_for(pilot, lambda: isinstance(app.screen, HandlerConfirmModal),
                       what="the handler question again")
        await click(pilot, "#run-once")
        final = await _wait_final_reply(pilot, screen)
        assert marker.exists()
        tool_message = screen.session.messages[-2]
        assert tool_message.role is Role.TOOL
        assert tool_message.content.strip() == "23°C in San Francisco"
        assert "23°C" in final.content


async def test_always_allow_runs_later_calls_without_asking(glm4_server: str,
                                                            tmp_path: Path) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask_with_handler(pilot, MARKING_HANDLER, tmp_path, choice="#always")
        await _wait_final_reply(pilot, screen)
        await send(pilot, "And the weather in Paris?")
        await wait_for(pilot, lambda: len(screen.session.messages) > 4, what="the second turn")
        await _wait_final_reply(pilot, screen)
        assert not isinstance(app.screen, HandlerConfirmModal)
        tool_messages = [m for m in screen.session.messages if m.role is Role.TOOL]
        assert len(tool_messages) == 2


async def test_opening_a_session_never_runs_a_waiting_call_unasked(
    glm4_server: str, tmp_path: Path, data_dir: Path
) -> None:
    """A call found waiting when a session is opened is asked about, even with "always allow":
    the person may never have seen it (an imported session, a call left at exit)."""
    import sys

    from glm_tui.model.session import Message, Session, ToolCall

    script = tmp_path / "handler.py"
    script.write_text(MARKING_HANDLER, encoding="utf-8")
    marker = tmp_path / "ran"
    call = ToolCall("call_1", "get_current_weather", '{"location": "Paris"}')
    session = Session(
        model="glm-4",
        tools=[with_settings(WEATHER_TOOL, handler=[sys.executable, str(script)],
                             always_allow=True)],
        tool_choice="auto",
        messages=[Message(Role.USER, QUESTION),
                  Message(Role.ASSISTANT, "", tool_calls=[call], status=MessageStatus.COMPLETE)],
    )
    store = SessionStore(data_dir)
    store.create_session(session)
    store.close()

    app = make_app(glm4_server, resume="last")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HandlerConfirmModal),
                       what="the handler question")
        assert not marker.exists()
        below = app.screen_stack[-2]
        assert isinstance(below, ConversationScreen)
        assert not any(w.group == "tool-handler" for w in below.workers)
        await click(pilot, "#run-once")
        screen = app.screen
        assert isinstance(screen, ConversationScreen)
        final = await _wait_final_reply(pilot, screen)
        assert marker.exists()
        assert "23°C" in final.content


async def test_a_failing_handler_shows_why_and_the_call_can_be_answered_by_hand(
    glm4_server: str, tmp_path: Path
) -> None:
    failing = "import sys\nsys.stderr.write('weather service down')\nsys.exit(4)\n"
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask_with_handler(pilot, failing, tmp_path)
        await wait_for(pilot, lambda: screen.tool_loop.answering is not None, what="by hand")
        assert "status 4" in str(screen.prompt.border_subtitle)
        notes = toasts.messages()
        assert any("weather service down" in n and "Exit status: 4" in n for n in notes)
        await send(pilot, "23°C")
        final = await wait_reply_done(pilot)
        assert "23°C" in final.content


async def test_glm_raw_tool_text_is_offered_as_a_call(glm4_server: str) -> None:
    raw = 'get_current_weather\n{"location": "Paris", "format": celsius}'
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await enable_weather_tool(pilot)
        reply = await ask(pilot, f"[[demo:say={raw}]]")
        [call] = reply.tool_calls
        assert call.name == "get_current_weather"
        assert call.arguments == '{"location": "Paris", "format": celsius}'
        view = screen.messages.get_view(reply)
        assert view is not None
        assert "not valid JSON" in str(view.query_one(".tool-calls", Static).render())
        assert screen.tool_loop.answering == call


async def _wait_final_reply(pilot: Pilot[Any], screen: ConversationScreen) -> Any:
    def finished() -> bool:
        last = screen.session.messages[-1]
        return (last.role is Role.ASSISTANT and not last.tool_calls
                and last.status is not MessageStatus.STREAMING and not screen.reply_running)

    await wait_for(pilot, finished, what="the final reply")
    return screen.session.messages[-1]


async def test_a_call_to_a_disabled_or_unknown_tool_is_flagged(glm4_server: str) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await enable_weather_tool(pilot)
        reply = await ask(pilot, QUESTION)
        view = screen.messages.get_view(reply)
        assert view is not None

        def block() -> str:
            return str(view.query_one(".tool-calls", Static).render())

        assert "⚠" not in block()
        screen.apply_tools([with_settings(WEATHER_TOOL, enabled=False)], "auto")
        await pilot.pause()
        assert "which is disabled in this session" in block()
        screen.apply_tools([], None)
        await pilot.pause()
        assert "which is not defined in this session" in block()
        # It can still be answered by hand: the model asked for it.
        assert screen.tool_loop.answering is not None


async def test_escape_declines_a_call_after_asking(glm4_server: str, request_log: Path) -> None:
    from glm_tui.ui.dialogs.confirm import ConfirmModal

    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await enable_weather_tool(pilot)
        await ask(pilot, QUESTION)
        assert "Esc declines" in str(screen.prompt.placeholder)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the question")
        await click(pilot, "#confirm")
        final = await _wait_final_reply(pilot, screen)
        assert final.role is Role.ASSISTANT
        tool_message = screen.session.messages[-2]
        assert tool_message.content == "The user declined to run get_current_weather."
        assert "Ask something" in str(screen.prompt.placeholder)
        assert logged_requests(request_log)[-1]["messages"][-1]["role"] == "tool"


async def test_typing_while_a_message_has_focus_goes_to_the_prompt(glm4_server: str) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        reply = await ask(pilot, "hello")
        view = screen.messages.get_view(reply)
        assert view is not None
        view.focus()
        await pilot.press("h", "i")
        assert screen.prompt.has_focus and screen.prompt.text == "hi"
        view.focus()
        await pilot.press("escape")
        assert screen.prompt.has_focus
