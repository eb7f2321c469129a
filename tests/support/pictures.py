"""Pictures in the app: real files made with Pillow, an app talking to a vision model, and
attaching a file the way a person does (keys only: Ctrl+F, type, Tab completes, Enter)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from glm_tui.model.server_kind import ServerKind
from glm_tui.ui.app import GlmTuiApp
from tests.support.waiting import wait_for

RED = (220, 20, 20)
BLUE = (30, 60, 220)


def write_picture(folder: Path, name: str, colour: tuple[int, ...] = RED,
                  size: tuple[int, int] = (64, 48), fmt: str = "JPEG",
                  mode: str = "RGB") -> Path:
    """A real picture file of one colour, made with Pillow."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    Image.new(mode, size, colour).save(path, format=fmt)
    return path


def vision_app(base_url: str, *, model: str = "glm-4v", kind: ServerKind | None = ServerKind.GLM4,
               display: str | None = None, resume: str | None = None) -> GlmTuiApp:
    """The app with ``model`` on the server at ``base_url`` (``kind`` as configured; a GLM
    local kind with a ``4v`` model is shaped for GLM-4V)."""
    from tests.ui.conftest import settings_for

    settings = settings_for(base_url, kind=kind)
    profile = replace(settings.profile, model=model)
    settings = replace(settings, servers={**settings.servers, profile.name: profile})
    if display is not None:
        settings = replace(settings, image_display=display)
    return GlmTuiApp(settings, resume=resume)


def screen_text(pilot: Pilot[Any]) -> str:
    """Everything the active screen draws right now, as text."""
    strips = pilot.app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


async def open_picker(pilot: Pilot[Any]) -> Any:
    from glm_tui.ui.dialogs.attach_image import AttachImageModal

    await pilot.press("ctrl+f")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AttachImageModal)
                   and pilot.app.focused is not None and pilot.app.focused.id == "attach-path",
                   what="the picker, its path field focused")
    return pilot.app.screen


async def attach_by_keys(pilot: Pilot[Any], path: Path, *, typed: int = 2) -> None:
    """Ctrl+F, then in the path field (opened on ``path``'s folder: the current folder or the
    last one used) type the first ``typed`` letters of the name, Tab to complete, Enter."""
    from glm_tui.ui.dialogs.attach_image import AttachImageModal

    picker = await open_picker(pilot)
    field = picker.query_one("#attach-path")
    assert field.value == f"{path.parent}/", field.value
    await pilot.press(*path.name[:typed])
    await wait_for(pilot, lambda: str(path) in screen_text(pilot),
                   what=f"{path.name} suggested")
    await pilot.press("tab")
    await wait_for(pilot, lambda: field.value == str(path), what="the completed path")
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, AttachImageModal),
                   what="the picker to close")


async def wait_chips_ready(pilot: Pilot[Any], count: int) -> list[Any]:
    """Wait until ``count`` chips show their picture's size; returns them."""
    tray = pilot.app.screen.query_one("#attachments")
    await wait_for(pilot, lambda: len(tray.chips) == count and not tray.preparing,
                   what=f"{count} attachment(s) ready")
    return list(tray.chips)
