"""Keys on a focused message and copying what the mouse selected (issue 12, items 1 and 4).

Typing while a message has the focus (Shift+Tab, or a click on it) must reach the prompt whole;
the message's own actions are on keys no text uses. A mouse selection in a reply is copied by
Ctrl+C, unless the prompt has a selection of its own; with nothing selected Ctrl+C keeps its
meaning.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.pilot import Pilot

from glm_tui.ui.app import GlmTuiApp
from glm_tui.ui.markdown.widget import ProseBlock
from glm_tui.ui.widgets.message_view import AssistantMessageView, MessageView
from tests.support.toasts import ToastLog
from tests.ui.conftest import ask, ready, wait_for

SIZE = (110, 36)
SENTENCE = "can you check because"


async def _type(pilot: Pilot[Any], text: str) -> None:
    """Type ``text`` the way a terminal delivers fast typing or tmux ``send-keys``: every key
    is in the app's queue before the first is handled (``Pilot.press`` waits after each)."""
    for character in text:
        key = "space" if character == " " else character
        pilot.app.post_message(events.Key(key, character))
    await pilot.pause()


async def test_typing_on_a_message_focused_by_shift_tab_reaches_the_prompt(
    glm4_app: GlmTuiApp,
) -> None:
    toasts = ToastLog(glm4_app)
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "[[demo:say=A short reply with a b c in it.]]")
        glm4_app.copy_to_clipboard("what I copied before")
        await pilot.press("shift+tab")
        await wait_for(pilot, lambda: isinstance(screen.focused, MessageView),
                       what="a message to have the focus")
        await _type(pilot, SENTENCE)
        await wait_for(pilot, lambda: screen.prompt.text == SENTENCE,
                       what=f"the prompt to hold {SENTENCE!r} (it holds {screen.prompt.text!r})")
        assert screen.prompt.has_focus
        assert glm4_app.clipboard == "what I copied before"
        assert not toasts.any_mentions("Copied")


async def test_typing_after_a_click_on_a_message_reaches_the_prompt(
    glm4_app: GlmTuiApp,
) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "[[demo:say=Click me, then type.]]")
        glm4_app.copy_to_clipboard("kept")
        view = screen.messages.views()[0]
        await pilot.click(view, offset=(2, 0))
        await wait_for(pilot, lambda: screen.focused is view, what="the clicked message focused")
        await _type(pilot, SENTENCE)
        await wait_for(pilot, lambda: screen.prompt.text == SENTENCE,
                       what=f"the prompt to hold {SENTENCE!r} (it holds {screen.prompt.text!r})")
        assert glm4_app.clipboard == "kept"


async def test_the_focused_message_is_copied_by_its_own_key(glm4_app: GlmTuiApp) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "[[demo:say=Here:\n\n```sh\necho two\n```\n]]")
        question, reply = screen.messages.views()
        question.focus()
        await pilot.press("ctrl+c")
        assert glm4_app.clipboard == "[[demo:say=Here:\n\n```sh\necho two\n```\n]]"
        reply.focus()
        await pilot.press("ctrl+k")
        assert glm4_app.clipboard == "echo two"
        assert screen.prompt.text == ""


async def _select_reply_text(pilot: Pilot[Any], view: AssistantMessageView) -> None:
    """Drag with the mouse over the first ten cells of the reply's first line of text."""
    piece = view.markdown.query_one(ProseBlock)
    await wait_for(pilot, lambda: piece.content_region.width > 0, what="the reply drawn")
    region = piece.content_region
    await pilot.mouse_down(offset=(region.x, region.y))
    await pilot.hover(offset=(region.x + 9, region.y))
    await pilot.mouse_up(offset=(region.x + 9, region.y))


async def test_ctrl_c_copies_a_mouse_selection_in_a_reply(glm4_app: GlmTuiApp) -> None:
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "[[demo:say=Selectable words in a reply.]]")
        reply = screen.messages.views()[1]
        assert isinstance(reply, AssistantMessageView)
        await _select_reply_text(pilot, reply)
        await wait_for(pilot, lambda: bool(screen.get_selected_text()),
                       what="some text to be selected")
        screen.prompt.focus()
        await pilot.press("ctrl+c")
        assert glm4_app.clipboard == "Selectable"


async def test_the_prompt_selection_wins_and_without_selection_ctrl_c_still_asks_to_quit(
    glm4_app: GlmTuiApp,
) -> None:
    toasts = ToastLog(glm4_app)
    async with glm4_app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "[[demo:say=Selectable words in a reply.]]")
        reply = screen.messages.views()[1]
        assert isinstance(reply, AssistantMessageView)
        await _select_reply_text(pilot, reply)
        await wait_for(pilot, lambda: bool(screen.get_selected_text()),
                       what="some text to be selected")
        screen.prompt.focus()
        screen.prompt.load_text("my own words")
        screen.prompt.select_all()
        await pilot.press("ctrl+c")
        assert glm4_app.clipboard == "my own words"
        # Nothing selected anywhere: Ctrl+C keeps its meaning (how to quit).
        screen.clear_selection()
        screen.prompt.move_cursor((0, 0))
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: toasts.any_mentions("ctrl+q"), what="the quit hint")
        assert glm4_app.clipboard == "my own words"
