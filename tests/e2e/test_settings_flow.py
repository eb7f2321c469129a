"""Issue 4 end to end in the real app: edit, refuse, preset, persist with the session, resume.

The demo server's request log proves what each request carried.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, OptionList, Static

from glm_tui.ui.screens.sampling import SamplingScreen
from tests.ui.conftest import ask, logged_requests, make_app, ready, wait_for

SIZE = (120, 40)


async def test_settings_persist_with_the_session_and_come_back_on_resume(
    glm4_server: str, request_log: Path
) -> None:
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await ask(pilot, "first")
        assert logged_requests(request_log)[-1]["temperature"] == 0.8

        # Two keys: open the settings (focused on temperature) and nudge it up.
        await pilot.press("ctrl+t", "up")
        await wait_for(pilot, lambda: screen.session.sampling.temperature == 0.9,
                       what="the nudge")
        # A bad top_p is refused inline and never reaches the session.
        top_p = app.screen.query_one("#field-top_p", Input)
        top_p.focus()
        top_p.value = "0"
        await pilot.press("enter")
        await pilot.pause()
        refusal = str(app.screen.query_one("#error-top_p", Static).render())
        assert "0" in refusal and "in use: 0.8" in refusal
        assert screen.session.sampling.top_p == 0.8
        # max_tokens typed and committed.
        max_tokens = app.screen.query_one("#field-max_tokens", Input)
        max_tokens.focus()
        max_tokens.value = "300"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.session.sampling.max_tokens == 300,
                       what="max_tokens")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="back to the chat")
        assert "T 0.9" in screen.status.plain and "max 300" in screen.status.plain

        await ask(pilot, "second")
        body = logged_requests(request_log)[-1]
        assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.9, 0.8, 300)
        assert "presence_penalty" not in body  # unset values are left out

    resumed = make_app(glm4_server, resume="last")
    async with resumed.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert screen.session.sampling.temperature == 0.9
        assert screen.session.sampling.max_tokens == 300
        assert "T 0.9" in screen.status.plain

        # Apply the reference client's "tools" preset from the settings screen.
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(resumed.screen, SamplingScreen),
                       what="the settings screen")
        presets = resumed.screen.query_one("#presets", OptionList)
        presets.focus()
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: screen.session.sampling.top_p == 0.1, what="the preset")
        await pilot.press("escape")
        await wait_for(pilot, lambda: resumed.screen is screen, what="back to the chat")
        await ask(pilot, "third")
        body = logged_requests(request_log)[-1]
        assert (body["temperature"], body["top_p"], body["presence_penalty"],
                body["max_tokens"]) == (0.9, 0.1, 1.2, 256)


async def test_new_sessions_start_from_the_config_defaults(
    glm4_server: str, config_path: Path, request_log: Path
) -> None:
    config_path.write_text("[sampling]\ntemperature = 0.3\nmax_tokens = 64\n", encoding="utf-8")
    app = make_app(glm4_server)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert screen.session.sampling.temperature == 0.3
        await ask(pilot, "hi")
        body = logged_requests(request_log)[-1]
        assert (body["temperature"], body["max_tokens"]) == (0.3, 64)
