"""atomic_write: all or nothing, no temporary file left behind, private by default, used by all."""

from __future__ import annotations

import ast
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from glm_tui.storage import files
from glm_tui.storage.files import NEW_FILE_MODE, atomic_write

PACKAGE = Path(__file__).resolve().parents[2] / "glm_tui"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An empty directory of its own (tmp_path also holds the isolated glm-tui home)."""
    path = tmp_path / "folder"
    path.mkdir()
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_text_and_bytes_exactly(folder: Path) -> None:
    target = folder / "out.txt"
    atomic_write(target, "line 1\r\nzwei 北京\n")
    assert target.read_bytes() == "line 1\r\nzwei 北京\n".encode()
    atomic_write(target, b"\x00\xff raw")
    assert target.read_bytes() == b"\x00\xff raw"
    assert [p.name for p in folder.iterdir()] == ["out.txt"]


def test_a_failure_mid_write_keeps_the_old_file_and_leaves_no_temp_file(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = folder / "config.toml"
    target.write_text("old = 1\n", encoding="utf-8")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, "new = 2\n" * 10_000)
    assert target.read_text(encoding="utf-8") == "old = 1\n"
    assert [p.name for p in folder.iterdir()] == ["config.toml"]


def test_an_interrupt_mid_write_keeps_the_old_file_and_leaves_no_temp_file(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = folder / "export.json"
    target.write_text("{}", encoding="utf-8")

    def interrupted(src: str, dst: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, '{"new": true}')
    assert target.read_text(encoding="utf-8") == "{}"
    assert [p.name for p in folder.iterdir()] == ["export.json"]


def test_a_missing_directory_is_an_oserror_and_creates_nothing(folder: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write(folder / "missing" / "x.md", "text")
    assert list(folder.iterdir()) == []


def test_a_process_killed_mid_write_never_leaves_half_a_file(folder: Path) -> None:
    """SIGKILL while the bytes are going out: the target holds the old text or the new."""
    target = folder / "library.json"
    target.write_text("OLD", encoding="utf-8")
    code = (
        "import os, sys\n"
        "from glm_tui.storage import files\n"
        "real = files.os.fsync\n"
        "def stop(fd):\n"
        "    os.kill(os.getpid(), 9)\n"
        "files.os.fsync = stop\n"
        f"files.atomic_write({str(target)!r}, 'NEW' * 1_000_000)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert done.returncode == -9
    assert target.read_text(encoding="utf-8") == "OLD"
    # A kill leaves its temporary file (nothing runs after SIGKILL): a hidden name beside it.
    others = [p.name for p in folder.iterdir() if p.name != "library.json"]
    assert all(name.startswith(".library.json.") for name in others)


def test_new_files_are_private_and_existing_files_keep_their_mode(folder: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        fresh = folder / "fresh.md"
        atomic_write(fresh, "x")
        assert _mode(fresh) == NEW_FILE_MODE == 0o600

        shared = folder / "shared.md"
        shared.write_text("x", encoding="utf-8")
        shared.chmod(0o644)
        atomic_write(shared, "y")
        assert _mode(shared) == 0o644

        atomic_write(shared, "z", mode=0o600)
        assert _mode(shared) == 0o600
    finally:
        os.umask(old_umask)


def test_a_symlink_is_written_through_not_replaced(folder: Path) -> None:
    real = folder / "dotfiles" / "config.toml"
    real.parent.mkdir()
    real.write_text("old", encoding="utf-8")
    link = folder / "config.toml"
    link.symlink_to(real)
    atomic_write(link, "new")
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "new"


def test_files_module_imports_nothing_else_of_glm_tui() -> None:
    """Settings may use it (the commented exception in pyproject.toml) only while this holds."""
    tree = ast.parse((PACKAGE / "storage" / "files.py").read_text(encoding="utf-8"))
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert [name for name in imported if name and name.startswith("glm_tui")] == []


def test_every_writer_in_the_tree_goes_through_atomic_write() -> None:
    """No other module writes a whole file its own way (grep as a test)."""
    banned = ("write_text(", "write_bytes(", "os.replace(", "tempfile.", "mkstemp(",
              'open("w', "open('w", '"w")', "'w')", '"wb")', "'wb')")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "storage" / "files.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(word in line for word in banned):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == []
