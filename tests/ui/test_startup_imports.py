"""The first frame pays for no heavy library: Pillow and textual-image come after it, and the
MCP SDK is not loaded at all while no server is used (one is configured).

The real ``glm-tui`` runs in a pseudo-terminal (a TTY is where textual-image would probe), here
resuming a session whose question has a picture, with ``[images] display = "halfcell"`` so that
the thumbnail is really drawn. The child notes which heavy modules are loaded when the app hands
its first frame to the terminal, then again once the thumbnail is on screen: the second list
proves the check can see an import at all.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from glm_tui.model.session import ImageAttachment, Message, Role, Session
from glm_tui.storage.store import SessionStore
from tests.support.demo import image_bytes
from tests.support.mcp_app import server_table

HEAVY = ("PIL", "textual_image", "openai", "jsonschema", "mcp")

CHILD = """
import json, os, sys
from glm_tui.ui.app import GlmTuiApp

heavy = {heavy!r}
report = {{}}
display = GlmTuiApp._display

def loaded():
    return sorted(m for m in heavy if m in sys.modules)

def spy(app, screen, renderable):
    display(app, screen, renderable)
    if "first_frame" not in report:
        report["first_frame"] = loaded()
        app.set_interval(0.05, lambda: drawn(app))

def drawn(app):
    if app.screen.query(".image-picture") and "drawn" not in report:
        report["drawn"] = loaded()
        app.exit()

GlmTuiApp._display = spy
from glm_tui.cli import main
main(sys.argv[1:])
with open(os.environ["REPORT"], "w") as out:
    json.dump(report, out)
"""


def _store_session_with_a_picture(data_dir: Path) -> str:
    store = SessionStore(data_dir)
    try:
        jpeg = image_bytes((220, 20, 20), (320, 240))
        sha = store.put_image(jpeg, "jpg")
        picture = ImageAttachment(sha, "image/jpeg", 320, 240, "red.jpg", len(jpeg))
        session = Session(id="with-a-picture", title="A picture", model="glm-4v", messages=[
            Message(Role.USER, "What's in this image?", images=[picture]),
            Message(Role.ASSISTANT, "A red rectangle."),
        ])
        store.create_session(session)
    finally:
        store.close()
    return session.id


def test_resuming_a_session_with_a_picture_loads_pillow_and_textual_image_after_the_first_frame(
        tmp_path: Path, data_dir: Path, config_path: Path, dead_url: str) -> None:
    session_id = _store_session_with_a_picture(data_dir)
    config_path.write_text(f'[servers.default]\nbase_url = "{dead_url}"\nmodel = "glm-4v"\n\n'
                           '[images]\ndisplay = "halfcell"\n\n' + server_table("kit"),
                           encoding="utf-8")  # an MCP server configured: nothing of MCP loads
    report = tmp_path / "report.json"
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(heavy=HEAVY), "--resume", session_id],
        stdin=follower, stdout=follower, stderr=follower, start_new_session=True,
        env=dict(os.environ, REPORT=str(report), TERM="xterm-256color"))
    os.close(follower)
    output = bytearray()
    deadline = time.monotonic() + 60
    try:
        while process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    output += os.read(leader, 65536)
                except OSError:
                    break
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    assert report.exists(), bytes(output[-2000:])
    seen = json.loads(report.read_text())
    assert seen["first_frame"] == []
    assert {"PIL", "textual_image"} <= set(seen["drawn"])  # the check sees imports
    assert b"\x1b[c" not in output and b"\x1b_G" not in output  # and nothing probed
