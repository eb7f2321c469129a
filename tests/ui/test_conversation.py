"""The conversation screen against a real GLM-4-flavoured demo server on loopback (Pilot).

Each test is something a person does: send and watch it stream, cancel, regenerate, edit and
resend, copy, set a system prompt, read the status bar, reopen a huge session.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandPalette

from glm_tui.model.session import MessageStatus, Role
from glm_tui.storage.store import SessionStore
from glm_tui.ui.app import GlmTuiApp
from glm_tui.ui.screens.conversation import ConversationScreen
from glm_tui.ui.widgets.message_view import (
    INITIAL_WINDOW,
    AssistantMessageView,
    UserMessageView,
)
from glm_tui.ui.widgets.status_bar import ConnectionState
from tests.support.sessions import store_long_session
from tests.support.toasts import ToastLog
from tests.ui.conftest import (
    ask,
    click,
    conversation,
    last_reply,
    logged_requests,
    make_app,
    ready,
    send,
    wait_for,
    wait_reply_done,
)

SIZE = (110, 36)


async def test_send_streams_the_reply_and_saves_both_messages(
    glm4_app: GlmTuiApp, data_dir: Path
) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await wait_for(pilot, lambda: glm4_app.connection_state is ConnectionState.READY,
                       what="the connection check")
        reply = await ask(pilot, "What is the capital of France?")

        assert reply.status is MessageStatus.COMPLETE
        assert "What is the capital of France?" in reply.content  # the demo echoes it
        assert screen.prompt.text == ""  # sent, so cleared
        views = screen.messages.views()
        assert [type(v) for v in views] == [UserMessageView, AssistantMessageView]
        assert views[1].query_one("StreamingMarkdown").text == reply.content  # type: ignore[attr-defined]
        assert screen.session.title == "What is the capital of France?"
        assert glm4_app.connection_state is ConnectionState.READY

    store = SessionStore(data_dir)
    saved = store.load_session(screen.session.id)
    store.close()
    assert saved.title == "What is the capital of France?"
    assert [(m.role, m.status) for m in saved.messages] == [
        (Role.USER, MessageStatus.COMPLETE), (Role.ASSISTANT, MessageStatus.COMPLETE)]
    assert saved.messages[1].content == reply.content


async def test_status_bar_shows_server_model_sampling_and_reply_figures(
    glm4_app: GlmTuiApp,
) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "Count to five for me, please, one number per line.")
        text = screen.status.plain
        assert text.startswith("default · glm-4")
        assert "● ready" in text
        assert "T 0.8 · P 0.8" in text  # the sampling summary
        # GLM-4 sends no usage: the counts are glm-tui's estimate, marked with ~.
        assert "~" in text and " tok" in text
        assert "TTFT" in text and "tok/s" in text
        reply = last_reply(screen)
        assert reply is not None and reply.usage is not None and reply.usage.estimated
        assert reply.timings is not None and reply.timings.first_token_s is not None


async def test_escape_cancels_the_reply_and_keeps_its_text(glm4_app: GlmTuiApp) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await send(pilot, "[[demo:rate=40]] Please write a long answer about rivers.")
        def some_text_or_ended() -> bool:
            """Some text streamed, or the reply already ended (the assertion then says how)."""
            turn = screen._turn
            if turn is None:
                return last_reply(screen) is not None
            return turn.tracker.text_length > 20

        await wait_for(pilot, some_text_or_ended, what="some reply text")
        assert screen._turn is not None, f"the reply ended early: {last_reply(screen)!r}"
        await pilot.press("escape")
        reply = await wait_reply_done(pilot)

        assert reply.status is MessageStatus.CANCELLED
        assert reply.content.startswith("You asked")
        view = screen.messages.get_view(reply)
        assert view is not None and view.has_class("-cancelled")
        header = view.query_one(".message-header")
        assert "[cancelled]" in str(header.render())
        assert glm4_app.connection_state is ConnectionState.READY


async def test_regenerate_replaces_the_last_reply(glm4_app: GlmTuiApp,
                                                  request_log: Path) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        first = await ask(pilot, "Tell me about tea.")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: last_reply(screen) is not first, what="a new reply")
        second = await wait_reply_done(pilot)

        assert second.status is MessageStatus.COMPLETE
        assert [m.role for m in screen.session.messages] == [Role.USER, Role.ASSISTANT]
        assert len(screen.messages.views()) == 2
        requests = logged_requests(request_log)
        assert len(requests) == 2
        # Both requests end with the question; the old reply is not sent back.
        assert requests[0]["messages"] == requests[1]["messages"]


async def test_up_in_empty_prompt_edits_and_resends_the_last_question(
    glm4_app: GlmTuiApp, request_log: Path
) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "What is 2 + 2?")
        await pilot.press("up")
        assert screen.prompt.text == "What is 2 + 2?"
        assert screen.prompt.has_class("-editing")
        screen.prompt.load_text("What is 3 + 3?")
        await pilot.press("enter")
        reply = await wait_reply_done(pilot)

        assert [m.content for m in screen.session.messages if m.role is Role.USER] == [
            "What is 3 + 3?"]
        assert "What is 3 + 3?" in reply.content
        assert len(screen.messages.views()) == 2
        last_request = logged_requests(request_log)[-1]
        assert last_request["messages"] == [{"role": "user", "content": "What is 3 + 3?"}]


async def test_edit_key_and_escape_keeps_the_question(glm4_app: GlmTuiApp) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "Keep me")
        await pilot.press("ctrl+g")
        assert screen.prompt.text == "Keep me"
        await pilot.press("escape")
        assert screen.prompt.text == ""
        assert not screen.prompt.has_class("-editing")
        assert [m.role for m in screen.session.messages] == [Role.USER, Role.ASSISTANT]


async def test_ctrl_j_inserts_a_newline_and_enter_sends_it_all(glm4_app: GlmTuiApp) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("l", "i", "n", "e", "ctrl+j", "t", "w", "o")
        assert screen.prompt.text == "line\ntwo"
        assert screen.session.messages == []
        await pilot.press("enter")
        reply = await wait_reply_done(pilot)
        assert screen.session.messages[0].content == "line\ntwo"
        assert "line\ntwo" in reply.content


async def test_copy_reply_and_its_last_code_block(glm4_app: GlmTuiApp) -> None:
    answer = "Here:\n\n```python\nprint('one')\n```\n\nand\n\n```sh\necho two\n```\n"
    async with glm4_app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        reply = await ask(pilot, f"[[demo:say={answer}]]")
        assert reply.content == answer
        await pilot.press("f3")
        assert glm4_app.clipboard == answer
        await pilot.press("f4")
        assert glm4_app.clipboard == "echo two"


async def test_copy_a_focused_message(glm4_app: GlmTuiApp) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "copy this question [x]")
        question_view = screen.messages.views()[0]
        question_view.focus()
        await pilot.press("ctrl+c")
        assert glm4_app.clipboard == "copy this question [x]"


async def test_system_prompt_is_stored_and_reaches_the_server(
    glm4_app: GlmTuiApp, request_log: Path, data_dir: Path
) -> None:
    system = "Always start your answer with 'Ahoy!'"
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("f5")
        await wait_for(pilot, lambda: glm4_app.screen.query("#system-prompt"),
                       what="the system prompt editor")
        glm4_app.screen.query_one("#system-prompt").load_text(system)  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: glm4_app.screen is screen, what="the editor to close")
        assert screen.session.system_prompt == system
        header = screen.query_one("#conversation-header")
        assert "System:" in str(header.render())

        reply = await ask(pilot, "Who are you?")
        assert reply.content.startswith("Ahoy!")

    body = logged_requests(request_log)[-1]
    assert body["messages"][0] == {"role": "system", "content": system}
    store = SessionStore(data_dir)
    assert store.load_session(screen.session.id).system_prompt == system
    store.close()


async def test_command_palette_lists_the_conversation_actions(glm4_app: GlmTuiApp) -> None:
    # The palette is built from the screen's active bindings: each of its keys is an entry.
    from textual.binding import Binding

    bindings = [b for b in ConversationScreen.BINDINGS if isinstance(b, Binding)]
    missing = [b.action for b in bindings
               if not callable(getattr(ConversationScreen, f"action_{b.action}", None))]
    assert missing == [], f"bindings without a ConversationScreen action: {missing}"

    titles = [b.description for b in bindings]
    async with glm4_app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(glm4_app.screen, CommandPalette),
                       what="the palette")
        # With nothing typed the palette lists every discovered command.
        await wait_for(
            pilot,
            lambda: all(title in _palette_text(glm4_app) for title in titles),
            what="every conversation entry",
        )
        await pilot.press(*"regenerate")
        await wait_for(
            pilot,
            lambda: "Regenerate (^r)" in _palette_text(glm4_app),
            what="the regenerate entry",
        )
        await pilot.press("escape")


def _palette_text(app: GlmTuiApp) -> str:
    from textual.widgets import OptionList

    options = app.screen.query_one(OptionList)
    return "\n".join(str(options.get_option_at_index(i).prompt)
                     for i in range(options.option_count))


async def test_a_2000_message_session_opens_at_its_end_with_only_a_window_loaded(
    glm4_server: str, data_dir: Path
) -> None:
    """Opening a huge session costs a window of messages, not 2,000 (the time is measured by
    ``tests/benchmarks/bench_startup.py``, not asserted here: a loaded machine would fail it)."""
    session = store_long_session(data_dir, title="Long one")

    app = make_app(glm4_server, resume=session.id[:8])
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await wait_for(pilot, lambda: screen.messages.mounted_count > 0, what="messages")
        await pilot.pause()

        assert screen.messages.mounted_count == INITIAL_WINDOW
        assert len(screen.session.messages) == INITIAL_WINDOW  # the rest stays in the store
        views = screen.messages.views()
        assert views[-1].message.content.startswith("Answer **999**")
        assert screen.messages.scroll_y == screen.messages.max_scroll_y  # at the end

        # Scroll back: older messages are mounted above, from the store.
        screen.messages.scroll_home(animate=False)
        await wait_for(pilot, lambda: screen.messages.mounted_count > INITIAL_WINDOW,
                       what="older messages on scroll-back")
        assert screen.messages.views()[0].message.content.startswith("Question number")
        assert len(screen.session.messages) > INITIAL_WINDOW

        # A new question sends the whole conversation.
        reply = await ask(pilot, "And the next one?")
        assert reply.status is MessageStatus.COMPLETE
        assert len(screen.session.messages) == 2002

    store = SessionStore(data_dir)
    assert store.count_messages(session.id) == 2002
    store.close()


async def test_resume_last_restores_settings_and_scrolls_to_the_end(
    glm4_server: str, data_dir: Path
) -> None:
    first = make_app(glm4_server)
    async with first.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "Remember me")
        session_id = screen.session.id

    app = make_app(glm4_server, resume="last")
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await wait_for(pilot, lambda: screen.messages.mounted_count == 2, what="messages")
        assert screen.session.id == session_id
        assert screen.session.title == "Remember me"
        assert conversation(app).session.messages[0].content == "Remember me"


async def test_resume_unknown_id_starts_a_new_session_and_says_so(glm4_server: str) -> None:
    app = make_app(glm4_server, resume="nosuchid")
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert screen.session.messages == []
        assert toasts.any_mentions("nosuchid")


async def test_links_in_replies_open_only_after_confirming(
    glm4_app: GlmTuiApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glm_tui.ui.dialogs.confirm import ConfirmModal
    from glm_tui.ui.markdown.widget import StreamingMarkdown

    opened: list[str] = []
    monkeypatch.setattr(glm4_app, "open_url", lambda url, **_: opened.append(url))
    url = "https://example.com/a[b]?q=[@click=app.quit]"
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        reply = await ask(pilot, f"[[demo:say=See [the docs]({url}).]]")
        markdown = screen.messages.get_view(reply).query_one(StreamingMarkdown)  # type: ignore[union-attr]
        markdown.post_message(StreamingMarkdown.LinkClicked(markdown, url))
        await wait_for(pilot, lambda: isinstance(glm4_app.screen, ConfirmModal),
                       what="the link confirmation")
        assert url in str(glm4_app.screen.query_one(".dialog-body").render())
        await pilot.press("escape")  # "Don't open"
        await wait_for(pilot, lambda: glm4_app.screen is screen, what="the modal to close")
        assert opened == []

        markdown.post_message(StreamingMarkdown.LinkClicked(markdown, url))
        await wait_for(pilot, lambda: isinstance(glm4_app.screen, ConfirmModal),
                       what="the link confirmation")
        await click(pilot, "#confirm")
        await wait_for(pilot, lambda: opened == [url], what="the link to open")
        assert glm4_app.is_running


async def test_settings_change_temperature_in_two_keys(glm4_app: GlmTuiApp,
                                                      request_log: Path) -> None:
    from textual.widgets import Input

    from glm_tui.ui.screens.sampling import SamplingScreen

    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(glm4_app.screen, SamplingScreen),
                       what="the settings screen")
        focused = glm4_app.screen.focused
        assert isinstance(focused, Input) and "temperature" in (focused.id or "")
        focused.value = "0.3"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.session.sampling.temperature == 0.3,
                       what="the live change")
        await pilot.press("escape")
        await wait_for(pilot, lambda: glm4_app.screen is screen, what="back to the chat")
        assert "T 0.3" in screen.status.plain
        await ask(pilot, "warm?")
        assert logged_requests(request_log)[-1]["temperature"] == 0.3


async def test_request_view_model_and_server_pickers_open_and_apply(
    glm4_server: str, data_dir: Path
) -> None:
    from dataclasses import replace

    from glm_tui.ui.screens.model_picker import ModelPickerScreen, ServerPickerScreen
    from glm_tui.ui.screens.request_view import RequestViewScreen
    from tests.ui.conftest import settings_for

    settings = settings_for(glm4_server)
    other = replace(settings.profile, name="other", model="glm-4-other")
    app = GlmTuiApp(replace(settings, servers={**settings.servers, "other": other}))
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        screen.prompt.load_text("draft question")
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestViewScreen),
                       what="the request view")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="back to the chat")
        assert screen.prompt.text == "draft question"  # looking did not send or clear it

        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPickerScreen),
                       what="the model picker")
        app.screen.dismiss("glm-4-picked")
        await wait_for(pilot, lambda: screen.session.model == "glm-4-picked", what="the model")
        assert "glm-4-picked" in screen.status.plain

        await pilot.press("f9")
        await wait_for(pilot, lambda: isinstance(app.screen, ServerPickerScreen),
                       what="the server picker")
        app.screen.dismiss("other")
        await wait_for(pilot, lambda: app.active_server == "other", what="the switch")
        assert screen.session.server_profile == "other"
        assert screen.status.plain.startswith("other · glm-4-other")
        await wait_for(pilot, lambda: app.connection_state is ConnectionState.READY,
                       what="the check of the new server")


async def test_sessions_screen_opens_another_session_and_starts_a_new_one(
    glm4_app: GlmTuiApp,
) -> None:
    from glm_tui.ui.messages import NewSession, OpenSession
    from glm_tui.ui.screens.sessions import SessionsScreen

    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "first session question")
        first_id = screen.session.id
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: conversation(glm4_app) is not screen, what="a new session")
        second = await ready(pilot)
        assert second.session.messages == []
        await ask(pilot, "second session question")

        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(glm4_app.screen, SessionsScreen),
                       what="the sessions screen")
        glm4_app.screen.dismiss(OpenSession(first_id))
        await wait_for(pilot, lambda: isinstance(glm4_app.screen, type(screen))
                       and conversation(glm4_app).session.id == first_id, what="the first")
        reopened = await ready(pilot)
        await wait_for(pilot, lambda: reopened.messages.mounted_count == 2, what="its messages")
        assert reopened.session.messages[0].content == "first session question"

        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(glm4_app.screen, SessionsScreen),
                       what="the sessions screen")
        glm4_app.screen.dismiss(NewSession())
        await wait_for(pilot, lambda: isinstance(glm4_app.screen, type(screen))
                       and conversation(glm4_app).session.messages == [], what="a new one")
        assert len(glm4_app.screen_stack) == 2  # screens are replaced, not piled up


async def test_a_long_chat_keeps_the_mounted_widgets_bounded(
    glm4_app: GlmTuiApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glm_tui.ui.widgets import message_view

    monkeypatch.setattr(message_view, "MOUNTED_CAP", 6)
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        for index in range(5):
            await ask(pilot, f"[[demo:say=answer {index}]] question {index}")
        assert len(screen.session.messages) == 10
        assert screen.messages.mounted_count <= 6
        assert screen.messages.views()[-1].message.content == "answer 4"

        # Scrolling back brings the unmounted ones back, oldest on top.
        for _ in range(5):
            screen.messages.scroll_home(animate=False)
            await screen.messages.load_older()
            await pilot.pause()
        assert screen.messages.views()[0].message.content == "[[demo:say=answer 0]] question 0"
