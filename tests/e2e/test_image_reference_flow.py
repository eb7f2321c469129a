"""The reference client's fourth flow, ``glm4v_simple_image_chat``, done from the keyboard.

Against ``glm-tui serve-demo --flavor glm4`` in its own process, with model ``glm-4v`` (the app
detects the GLM-4 server from ``/v1/models`` and shapes a ``4v`` model's requests for GLM-4V):
a JPEG made with Pillow is attached with Ctrl+F (type two letters, Tab completes, Enter), the
question "What's in this image?" is answered with the picture's size and colour (so the pixels
arrived), then the text-only follow-up. The server's request log shows both requests as the
GLM-4V server needs them: the picture as a ``data:image/jpeg;base64`` URL in the first question
(the server reads the first image of the conversation, so it goes with every request), and no
``system`` message (a system prompt is folded into the first question). Streaming and not.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import MessageStatus, Role
from glm_tui.settings.config import load_settings
from glm_tui.storage.store import SessionStore
from glm_tui.ui.app import GlmTuiApp
from glm_tui.ui.dialogs.system_prompt import SystemPromptModal
from glm_tui.ui.widgets.status_bar import ConnectionState
from tests.e2e.test_app_against_glm4 import serve_demo as serve_demo  # the real command line
from tests.support.pictures import attach_by_keys, screen_text, wait_chips_ready, write_picture
from tests.support.toasts import ToastLog
from tests.ui.conftest import logged_requests, ready, wait_for, wait_reply_done

SIZE = (120, 40)
FIRST = "What's in this image?"
SECOND = "Do you think this is a spring or winter photo?"
SYSTEM = "Answer in one line."


@pytest.fixture
def photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "photos"
    path = write_picture(folder, "snowfield.jpg", (30, 60, 220), size=(640, 480))
    monkeypatch.chdir(folder)  # the picker opens in the current folder
    yield path


async def type_text(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*("space" if c == " " else c for c in text))


@pytest.mark.parametrize(("stream", "system"), [(True, ""), (False, SYSTEM)],
                         ids=["streaming", "not-streaming-with-a-system-prompt"])
async def test_attach_ask_and_follow_up_from_the_keyboard(
        serve_demo: tuple[str, Path], config_path: Path, data_dir: Path, photo: Path,
        stream: bool, system: str) -> None:
    url, log = serve_demo
    config_path.write_text(f'server = "vision"\n\n[servers.vision]\nbase_url = "{url}"\n'
                           'model = "glm-4v"\n', encoding="utf-8")
    app = GlmTuiApp(load_settings())
    toasts = ToastLog(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await wait_for(pilot, lambda: app.connection_state is ConnectionState.READY,
                       what="the connection check")
        assert app.services.kind_for("glm-4v") is ServerKind.GLM4V
        if not stream:
            await pilot.press("f7")
            assert not screen.session.stream
        if system:
            await pilot.press("f5")
            await wait_for(pilot, lambda: isinstance(app.screen, SystemPromptModal),
                           what="the system prompt dialog")
            await type_text(pilot, system)
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.screen is screen, what="back to the chat")

        await type_text(pilot, FIRST)
        await attach_by_keys(pilot, photo)
        await wait_chips_ready(pilot, 1)
        assert "snowfield.jpg · 640×480" in screen_text(pilot)
        await pilot.press("enter")
        first = await wait_reply_done(pilot)
        assert first.status is MessageStatus.COMPLETE
        assert "640×480 pixels" in first.content and "blue" in first.content
        assert screen.attachments.chips == [] and screen.prompt.text == ""
        assert "▣ snowfield.jpg · 640×480" in screen_text(pilot)  # the placeholder

        await type_text(pilot, SECOND)
        await pilot.press("enter")
        second = await wait_reply_done(pilot)
        assert second.status is MessageStatus.COMPLETE and SECOND in second.content
        session_id = screen.session.id
        await pilot.press("ctrl+q")

    bodies = logged_requests(log)
    assert len(bodies) == 2
    for body in bodies:
        assert body["model"] == "glm-4v" and body["stream"] is stream
        assert "system" not in [m["role"] for m in body["messages"]]
        text, picture = body["messages"][0]["content"]
        assert text == {"type": "text", "text": f"{system}\n\n{FIRST}" if system else FIRST}
        url_text = picture["image_url"]["url"]
        assert url_text.startswith("data:image/jpeg;base64,")
        assert _jpeg_size(url_text) == (640, 480)
    assert [m["role"] for m in bodies[1]["messages"]] == ["user", "assistant", "user"]
    assert bodies[1]["messages"][2]["content"] == SECOND  # a text-only follow-up
    if system:
        assert toasts.any_mentions("The system prompt is sent inside the first question")

    store = SessionStore(data_dir)
    try:
        saved = store.load_session(session_id)
        [kept] = next(m for m in saved.messages if m.role is Role.USER).images
        assert (kept.name, kept.width, kept.height) == ("snowfield.jpg", 640, 480)
        assert store.image_path(kept.sha256).read_bytes()[:2] == b"\xff\xd8"
    finally:
        store.close()


def _jpeg_size(url: str) -> tuple[int, int]:
    from PIL import Image

    data = base64.b64decode(url.split(",", 1)[1])
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        return image.size
