"""``glm-tui sessions export|import`` with pictures, through the real command line (subprocesses).

What a person sees: the pictures leave in the export (embedded in JSON, files beside Markdown),
come back identical through import into another data directory, and every picture that cannot
come along is named on stderr while the rest goes through.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from glm_tui.model.session import Session
from glm_tui.storage.store import SessionStore
from tests.chat.test_export_images import picture_session


def glm_tui(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GLM_TUI_DATA_DIR"}
    return subprocess.run([sys.executable, "-m", "glm_tui", *argv], input=stdin,
                          capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def pictures(tmp_path: Path) -> tuple[Path, Session]:
    """A data directory holding one session with two distinct pictures (one used twice)."""
    data = tmp_path / "data"
    store = SessionStore(data)
    session = picture_session(store, tmp_path)
    store.close()
    return data, session


def image_files(data_dir: Path) -> dict[str, bytes]:
    return {path.stem: path.read_bytes() for path in (data_dir / "images").rglob("*.*")}


def test_json_export_then_import_elsewhere_brings_the_same_pictures(
    pictures: tuple[Path, Session], tmp_path: Path
) -> None:
    data, session = pictures
    target = tmp_path / "chat.json"
    exported = glm_tui("--data-dir", str(data), "sessions", "export", session.id[:8],
                       "-o", str(target))
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr.strip() == f'Exported "Pictures" to {target}'

    fresh = tmp_path / "fresh"
    imported = glm_tui("--data-dir", str(fresh), "sessions", "import", str(target))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == f'Imported "Pictures" (4 messages, 2 images) as {session.id}\n'
    assert image_files(fresh) == image_files(data)  # same pictures, byte for byte

    store, original = SessionStore(fresh), SessionStore(data)
    again, before = store.load_session(session.id), original.load_session(session.id)
    assert [(m.role, m.content, m.images) for m in again.messages] == [
        (m.role, m.content, m.images) for m in before.messages]
    store.close()
    original.close()

    # Piped: export to standard output, import from standard input, into a third directory.
    piped = glm_tui("--data-dir", str(data), "sessions", "export", session.id[:8])
    third = tmp_path / "third"
    from_stdin = glm_tui("--data-dir", str(third), "sessions", "import", "-", stdin=piped.stdout)
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert image_files(third) == image_files(data)


def test_markdown_export_writes_the_pictures_beside_it(
    pictures: tuple[Path, Session], tmp_path: Path
) -> None:
    data, session = pictures
    cat, sky = session.messages[0].images[0], session.messages[2].images[0]
    target = tmp_path / "out" / "chat.md"
    target.parent.mkdir()
    result = glm_tui("--data-dir", str(data), "sessions", "export", session.id[:8],
                     "--format", "markdown", "-o", str(target))
    assert result.returncode == 0, result.stderr
    folder = target.parent / "chat_images"
    assert result.stderr.strip() == (f'Exported "Pictures" to {target}, with 2 images in '
                                     f"{folder}")
    text = target.read_text(encoding="utf-8")
    assert f"![cat.jpg](chat_images/cat-{cat.sha256[:12]}.jpg)" in text
    assert (folder / f"cat-{cat.sha256[:12]}.jpg").read_bytes() == image_files(data)[cat.sha256]
    assert (folder / f"sky-北京-{sky.sha256[:12]}.jpg").read_bytes() == image_files(data)[
        sky.sha256]


def test_markdown_on_standard_output_says_where_the_pictures_are_not(
    pictures: tuple[Path, Session], tmp_path: Path
) -> None:
    data, session = pictures
    result = glm_tui("--data-dir", str(data), "sessions", "export", session.id[:8],
                     "--format", "markdown")
    assert result.returncode == 0, result.stderr
    assert "*Image: cat.jpg (64×48, image/jpeg)*" in result.stdout
    assert result.stderr == (
        "glm-tui: 2 images not written: Markdown on standard output has no folder beside it "
        "for image files, so each image is a line naming it. Use -o FILE to write them beside "
        "FILE and link them, or --format json to embed them.\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "glm-home", "pictures"]


def test_a_deleted_picture_is_named_and_the_rest_is_exported(
    pictures: tuple[Path, Session], tmp_path: Path
) -> None:
    data, session = pictures
    cat = session.messages[0].images[0]
    (data / "images" / cat.sha256[:2] / f"{cat.sha256}.jpg").unlink()
    target = tmp_path / "chat.json"
    result = glm_tui("--data-dir", str(data), "sessions", "export", session.id[:8],
                     "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert (f"glm-tui: cat.jpg (message 1) was exported without its picture: image "
            f"{cat.sha256[:12]}… is missing from {data / 'images' / cat.sha256[:2]}"
            in result.stderr)
    assert len(json.loads(target.read_text(encoding="utf-8"))["messages"][3]["content"]) == 2

    fresh = tmp_path / "fresh"
    imported = glm_tui("--data-dir", str(fresh), "sessions", "import", str(target))
    assert imported.returncode == 0, imported.stderr
    assert imported.stderr.splitlines() == [
        f"glm-tui: parts of {target} were left out; the rest was imported:",
        "  - glm_tui.messages[0].images[0]: cat.jpg has no readable image data in this file "
        "and is not in the image store: its message keeps it as a missing image",
        "  - glm_tui.messages[2].images[1]: cat.jpg has no readable image data in this file "
        "and is not in the image store: its message keeps it as a missing image",
    ]


def test_a_broken_data_url_is_named_and_the_rest_imports(
    pictures: tuple[Path, Session], tmp_path: Path
) -> None:
    data, session = pictures
    exported = glm_tui("--data-dir", str(data), "sessions", "export", session.id[:8])
    document = json.loads(exported.stdout)
    document["messages"][3]["content"][1]["image_url"]["url"] = "data:image/jpeg;base64,@@@@"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document), encoding="utf-8")

    fresh = tmp_path / "fresh"
    result = glm_tui("--data-dir", str(fresh), "sessions", "import", str(broken))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f'Imported "Pictures" (4 messages, 1 image) as {session.id}\n'
    lines = result.stderr.splitlines()
    assert lines[0] == f"glm-tui: parts of {broken} were left out; the rest was imported:"
    assert lines[1].startswith("  - messages[3].content[1]: the base64 text of the data: URL "
                               "is broken (")
    assert lines[1].endswith("); the image was left out")
    assert lines[2].startswith("  - glm_tui.messages[2].images[0]: sky 北京.png has no "
                               "readable image data")
    assert len(lines) == 3
    store = SessionStore(fresh)
    again = store.load_session(session.id)
    assert [m.content for m in again.messages] == [m.content for m in session.messages]
    assert again.messages[2].images == session.messages[2].images  # kept, shown as missing
    assert not store.has_image(session.messages[2].images[0].sha256)
    store.close()


def test_an_image_folder_that_cannot_be_made_is_an_error(
    pictures: tuple[Path, Session], tmp_path: Path
) -> None:
    data, session = pictures
    (tmp_path / "chat_images").write_text("in the way", encoding="utf-8")
    target = tmp_path / "chat.md"
    result = glm_tui("--data-dir", str(data), "sessions", "export", session.id[:8],
                     "--format", "markdown", "-o", str(target))
    assert result.returncode == 1
    assert result.stderr == f"glm-tui: cannot write {tmp_path / 'chat_images'}: File exists\n"
    assert not target.exists()


def test_a_missing_export_folder_is_named_not_the_image_folder(
    pictures: tuple[Path, Session], tmp_path: Path
) -> None:
    data, session = pictures
    target = tmp_path / "no such folder" / "chat.md"
    result = glm_tui("--data-dir", str(data), "sessions", "export", session.id[:8],
                     "--format", "markdown", "-o", str(target))
    assert result.returncode == 1
    assert result.stderr == f"glm-tui: cannot write {target}: No such file or directory\n"
    assert not target.parent.exists()
