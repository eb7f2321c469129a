"""The demo model calling real MCP servers, from the keyboard: asked, run, sent back, answered.

The demo model calls the enabled function tool whose words it shares with the question, so
each test enables one tool of the test kit on F6 and asks a question in that tool's words. The
``slow`` tool writes ``started`` to a file the moment the server runs it, which is how a test
sees that nothing ran before the person said yes (and ``cancelled`` when Esc reached it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from glm_tui.chat.mcp_tools import server_tool_entry
from glm_tui.chat.tool_loop import TOOL_ERROR_PREFIX
from glm_tui.chat.tools import tool_settings, with_settings
from glm_tui.model.session import Message, MessageStatus, Role, Session, ToolCall
from glm_tui.storage.store import SessionStore
from glm_tui.tool_servers.tools import ServerTool
from glm_tui.ui.dialogs.server_call import ServerCallConfirmModal
from glm_tui.ui.screens.conversation import ConversationScreen
from glm_tui.ui.widgets.image_thumbnail import ImageThumbnail
from tests.support.mcp_app import enable_server_tools, server_table, write_servers
from tests.support.toasts import ToastLog
from tests.ui.conftest import (
    click,
    logged_requests,
    make_app,
    ready,
    send,
    wait_for,
    wait_reply_done,
)

SIZE = (120, 40)
ECHO_QUESTION = "Please echo hello back"
SLOW_QUESTION = "Wait until it is cancelled"


def screen_text(app: Any) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def recorded(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split() if path.exists() else []


async def ask_and_wait_question(pilot: Pilot[Any], question: str) -> ServerCallConfirmModal:
    await send(pilot, question)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ServerCallConfirmModal),
                   what="the MCP call question")
    dialog = pilot.app.screen
    assert isinstance(dialog, ServerCallConfirmModal)
    return dialog


async def final_reply(pilot: Pilot[Any], screen: ConversationScreen) -> Message:
    """Wait for the reply after the tool result (the last message an assistant's, after a
    tool message)."""
    def answered() -> bool:
        messages = screen.session.messages
        return (len(messages) >= 2 and messages[-2].role is Role.TOOL
                and messages[-1].role is Role.ASSISTANT)

    await wait_for(pilot, answered, what="the reply after the tool result")
    return await wait_reply_done(pilot)


def tool_messages(screen: ConversationScreen) -> list[Message]:
    return [m for m in screen.session.messages if m.role is Role.TOOL]


async def test_confirm_run_result_final_reply(glm4_server: str, config_path: Path,
                                              request_log: Path) -> None:
    write_servers(config_path, server_table("kit"))
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await enable_server_tools(pilot, "kit", "echo")
        await ask_and_wait_question(pilot, ECHO_QUESTION)
        shown = screen_text(app)
        assert 'Call "echo" on the MCP server "kit"?' in shown
        assert f'"text": "{ECHO_QUESTION}"' in shown  # the exact arguments
        await click(pilot, "#run-once")
        final = await final_reply(pilot, screen)
        [result] = tool_messages(screen)
        assert result.content == ECHO_QUESTION
        assert ECHO_QUESTION in final.content
        view = screen.messages.get_view(result)
        assert view is not None and ECHO_QUESTION in str(view.query_one(".message-body").render())
        call_view = screen.messages.get_view(screen.session.messages[1])
        assert call_view is not None
        assert "⚙ calls echo  on the MCP server kit" in str(
            call_view.query_one(".tool-calls").render())
    sent = logged_requests(request_log)
    assert sent[0]["tools"][0]["function"]["name"] == "echo"
    assert "glm_tui" not in sent[0]["tools"][0]
    tool_turn = sent[-1]["messages"][-1]
    assert tool_turn["role"] == "tool" and tool_turn["content"] == ECHO_QUESTION


async def test_no_mcp_call_runs_without_a_yes_and_declining_answers_by_hand(
        glm4_server: str, config_path: Path, tmp_path: Path) -> None:
    record = tmp_path / "slow.record"
    write_servers(config_path, server_table("kit", env={"MCP_TEST_RECORD": str(record)}))
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await enable_server_tools(pilot, "kit", "slow")
        await ask_and_wait_question(pilot, SLOW_QUESTION)
        assert recorded(record) == []  # asked, not run
        await pilot.press("escape")  # answer by hand
        await wait_for(pilot, lambda: screen.tool_loop.answering is not None, what="by hand")
        assert "Result of slow" in str(screen.prompt.border_title)
        await send(pilot, "It took five minutes")
        final = await final_reply(pilot, screen)
        assert "five minutes" in final.content
        assert recorded(record) == []  # the server never ran it


async def test_always_allow_runs_the_next_call_without_asking(glm4_server: str,
                                                              config_path: Path) -> None:
    write_servers(config_path, server_table("kit"))
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await enable_server_tools(pilot, "kit", "echo")
        await ask_and_wait_question(pilot, ECHO_QUESTION)
        await click(pilot, "#always")
        await final_reply(pilot, screen)
        assert tool_settings(screen.session.tools[0]).get("always_allow") is True

        await send(pilot, "Echo this one too")
        await wait_for(pilot, lambda: len(tool_messages(screen)) == 2, what="the second result")
        await final_reply(pilot, screen)
        assert not isinstance(app.screen, ServerCallConfirmModal)
        assert tool_messages(screen)[1].content == "Echo this one too"


async def test_escape_cancels_a_running_call_and_tells_the_server(
        glm4_server: str, config_path: Path, tmp_path: Path) -> None:
    record = tmp_path / "slow.record"
    write_servers(config_path, server_table("kit", env={"MCP_TEST_RECORD": str(record)}))
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await enable_server_tools(pilot, "kit", "slow")
        await ask_and_wait_question(pilot, SLOW_QUESTION)
        assert recorded(record) == []  # nothing runs while the question is open
        await click(pilot, "#run-once")
        await wait_for(pilot, lambda: recorded(record) == ["started"], what="the call to run")
        assert "Running kit/slow…" in str(screen.prompt.border_title)
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.tool_loop.answering is not None, what="by hand")
        await wait_for(pilot, lambda: recorded(record) == ["started", "cancelled"],
                       what="the server to be told")
        assert any("Stopped the call to kit/slow" in note for note in toasts.messages())
        await send(pilot, "It was cancelled")
        final = await final_reply(pilot, screen)
        assert "It was cancelled" in final.content


async def test_a_server_that_exits_at_start_is_named_and_the_call_answered_by_hand(
        glm4_server: str, config_path: Path) -> None:
    write_servers(config_path, server_table("broken", "exits"))
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        lookup = ServerTool("broken", "lookup", "Look things up in the catalogue",
                            {"type": "object", "properties": {"query": {"type": "string"}}})
        screen.apply_tools([server_tool_entry(lookup, set())], "auto")
        await ask_and_wait_question(pilot, "Look up the catalogue")
        await click(pilot, "#run-once")
        await wait_for(pilot, lambda: screen.tool_loop.answering is not None, what="by hand")
        [failure] = [t for t in toasts.toasts if t.title == "MCP call failed"]
        assert 'the MCP server "broken" could not start' in failure.message
        assert "cannot open the database" in failure.message  # the end of its stderr
        assert 'MCP server "broken"' in str(screen.prompt.border_subtitle)
        await send(pilot, "Nothing found")
        final = await final_reply(pilot, screen)
        assert "Nothing found" in final.content
        assert screen.session.messages[0].content == "Look up the catalogue"


async def test_a_call_over_its_timeout_is_named_and_answered_by_hand(
        glm4_server: str, config_path: Path, tmp_path: Path) -> None:
    record = tmp_path / "slow.record"
    write_servers(config_path, server_table("kit", env={"MCP_TEST_RECORD": str(record)},
                                            call_timeout=1))
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await enable_server_tools(pilot, "kit", "slow")
        await ask_and_wait_question(pilot, SLOW_QUESTION)
        await click(pilot, "#run-once")
        await wait_for(pilot, lambda: screen.tool_loop.answering is not None, what="by hand")
        assert any('the MCP server "kit" did not answer the call to slow within 1 s' in note
                   for note in toasts.messages())
        await wait_for(pilot, lambda: recorded(record) == ["started", "cancelled"],
                       what="the server to be told to stop")


async def test_a_server_that_dies_during_a_call_is_named_and_nothing_is_lost(
        glm4_server: str, config_path: Path) -> None:
    write_servers(config_path, server_table("kit"))
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await enable_server_tools(pilot, "kit", "quit")
        await ask_and_wait_question(pilot, "Make the server process exit")
        await click(pilot, "#run-once")
        await wait_for(pilot, lambda: screen.tool_loop.answering is not None, what="by hand")
        assert any('the MCP server "kit" stopped during the call to quit' in note
                   for note in toasts.messages())
        messages = screen.session.messages
        assert [m.role for m in messages] == [Role.USER, Role.ASSISTANT]
        assert messages[1].tool_calls[0].name == "quit"
        await send(pilot, "It exited")
        final = await final_reply(pilot, screen)
        assert "It exited" in final.content


async def test_a_tool_error_is_sent_back_flagged(glm4_server: str, config_path: Path) -> None:
    write_servers(config_path, server_table("kit"))
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await enable_server_tools(pilot, "kit", "fail")
        await ask_and_wait_question(pilot, "Why does it always raise?")
        await click(pilot, "#run-once")
        await final_reply(pilot, screen)
        [result] = tool_messages(screen)
        # The demo model gave the question as the tool's "reason"; the tool raised with it.
        assert result.content.startswith(TOOL_ERROR_PREFIX)
        assert "Why does it always raise" in result.content
        assert any("kit/fail reported an error" in note for note in toasts.messages())


async def test_a_huge_result_is_cut_at_the_cap_and_said(glm4_server: str,
                                                       config_path: Path) -> None:
    write_servers(config_path, server_table("kit"))
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await enable_server_tools(pilot, "kit", "huge")
        await ask_and_wait_question(pilot, "Return ten megabytes of text")
        await click(pilot, "#run-once")
        await final_reply(pilot, screen)
        [result] = tool_messages(screen)
        assert len(result.content) < 300 * 1024 and "output cut" in result.content
        assert any("output limit" in note for note in toasts.messages())


async def test_a_picture_in_a_result_is_kept_and_shown(glm4_server: str,
                                                      config_path: Path) -> None:
    write_servers(config_path, server_table("kit"))
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await enable_server_tools(pilot, "kit", "picture")
        await ask_and_wait_question(pilot, "Show me a small PNG picture")
        await click(pilot, "#run-once")
        await final_reply(pilot, screen)
        [result] = tool_messages(screen)
        [picture] = result.images
        assert picture.mime == "image/png" and (picture.width, picture.height) == (8, 6)
        store = screen.recorder.store
        assert store is not None and store.image_path(picture.sha256).exists()
        view = screen.messages.get_view(result)
        assert view is not None and len(view.query(ImageThumbnail)) == 1
        assert "a red rectangle" in result.content


async def test_a_resumed_call_is_asked_about_even_when_always_allowed(
        glm4_server: str, config_path: Path, data_dir: Path, tmp_path: Path) -> None:
    """A call found waiting when a session is opened may be one the person never saw (a call
    left at exit, an imported file): it is asked about, whatever "always allow" says."""
    record = tmp_path / "slow.record"
    write_servers(config_path, server_table("kit", env={"MCP_TEST_RECORD": str(record)}))
    slow = ServerTool("kit", "slow", "Waits until cancelled", {"type": "object"})
    session = Session(
        model="glm-4", tool_choice="auto",
        tools=[with_settings(server_tool_entry(slow, set()), always_allow=True)],
        messages=[Message(Role.USER, SLOW_QUESTION),
                  Message(Role.ASSISTANT, "", tool_calls=[ToolCall("call_1", "slow", "{}")],
                          status=MessageStatus.COMPLETE)])
    store = SessionStore(data_dir)
    store.create_session(session)
    store.close()
    app = make_app(glm4_server, resume=session.id)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ServerCallConfirmModal),
                       what="the question on opening")
        below = app.screen_stack[-2]
        assert not any(w.group == "tool-handler" for w in below.workers)
        assert recorded(record) == []
        await click(pilot, "#run-once")
        await wait_for(pilot, lambda: recorded(record) == ["started"], what="the yes to run it")


async def test_a_call_to_a_server_not_in_the_config_says_so(glm4_server: str) -> None:
    """A session made with another config.toml (or imported) names a server this one lacks."""
    app = make_app(glm4_server)
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        lookup = ServerTool("elsewhere", "lookup", "Look things up in the catalogue",
                            {"type": "object", "properties": {"query": {"type": "string"}}})
        screen.apply_tools([server_tool_entry(lookup, set())], "auto")
        await ask_and_wait_question(pilot, "Look up the catalogue")
        await click(pilot, "#run-once")
        await wait_for(pilot, lambda: screen.tool_loop.answering is not None, what="by hand")
        assert any('no MCP server named "elsewhere"' in note for note in toasts.messages())
