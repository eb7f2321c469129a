"""Keeping the chat history private: the data directory 0700, its files 0600.

Chat history is nobody else's business, but SQLite creates ``sessions.db`` (and its ``-wal`` and
``-shm`` side files) with ``0644`` under the usual umask, and ``mkdir`` makes a ``0755`` data
directory. So glm-tui:

* creates the data directory ``0700`` and an empty ``sessions.db`` ``0600`` before SQLite opens
  it. SQLite gives ``-wal``, ``-shm`` and ``-journal`` the permission bits of the database file
  itself, so they follow. The process umask is deliberately left alone: tool handlers run as
  child processes and inherit it, and a user's program has no reason to change behaviour;
* writes every other file through :func:`glm_tui.storage.files.atomic_write`, which creates new
  files ``0600`` (images, the last-session hint, the tool library, exports);
* tightens what an older glm-tui (or a copy from elsewhere) left readable by others, once, when a
  store is opened for writing: :func:`tighten` removes the group and other bits and returns what
  it changed, so the app and the CLI can say so. A read-only command changes nothing, so it only
  reports (:func:`loose_paths`).

Only glm-tui's own files are touched (by name), because ``--data-dir`` may point at a folder that
holds other things too.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_OTHERS = stat.S_IRWXG | stat.S_IRWXO

OWN_FILE_PATTERNS = (
    "sessions.db", "sessions.db-wal", "sessions.db-shm", "sessions.db-journal",
    "sessions.db.corrupt-*", "last_session", "tool_library.json",
)
"""glm-tui's files directly in the data directory (moved-aside databases hold history too).
The tool library's name is ``glm_tui.chat.tool_library.LIBRARY_FILE``, which storage may not
import."""
IMAGES_DIR = "images"


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) with the leaf ``0700``; an existing one is kept.

    Raises ``OSError``.
    """
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and ``0600`` if it does not exist (an empty file is a new SQLite
    database), so SQLite does not create it ``0644``. Raises ``OSError``."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def loose_paths(data_dir: Path) -> list[Path]:
    """glm-tui's paths in ``data_dir`` that group or others may read, write or enter.

    The images tree is walked only when its top folder is loose (a store from before glm-tui
    made things private): everything this glm-tui writes there is private already, so a store
    with thousands of images is not walked at every start.
    """
    found: list[Path] = []
    if _is_loose(data_dir):
        found.append(data_dir)
    for pattern in OWN_FILE_PATTERNS:
        found += [p for p in sorted(data_dir.glob(pattern)) if _is_loose(p)]
    images = data_dir / IMAGES_DIR
    if _is_loose(images):
        found.append(images)
        for folder, dirs, files in os.walk(images):
            here = Path(folder)
            found += [here / name for name in sorted(dirs) if _is_loose(here / name)]
            found += [here / name for name in sorted(files) if _is_loose(here / name)]
    return found


def tighten(data_dir: Path) -> list[Path]:
    """Remove group and other permission bits from glm-tui's paths; returns those changed.

    Best effort: a path that cannot be changed (someone else's file, a read-only disk) is left
    as it was and not listed.
    """
    changed: list[Path] = []
    for path in loose_paths(data_dir):
        with contextlib.suppress(OSError):
            os.chmod(path, stat.S_IMODE(path.stat().st_mode) & ~_OTHERS)
            changed.append(path)
    return changed


def describe(paths: list[Path], data_dir: Path) -> str:
    """The paths as a person reads them: names relative to the data directory, few of them."""
    names = ["the data directory" if p == data_dir else _relative(p, data_dir) for p in paths]
    shown = names[:6]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


def tightened_notice(paths: list[Path], data_dir: Path) -> str:
    """The one sentence said when :func:`tighten` changed something."""
    return (f"Session history in {data_dir} was readable by other users; made it private "
            f"(owner only): {describe(paths, data_dir)}.")


def loose_notice(paths: list[Path], data_dir: Path) -> str:
    """What a read-only command says instead of changing anything."""
    return (f"Session history in {data_dir} is readable by other users "
            f"({describe(paths, data_dir)}); glm-tui makes it private the next time it "
            f"opens it for writing (or: chmod -R go-rwx '{data_dir}').")


def _relative(path: Path, data_dir: Path) -> str:
    try:
        return str(path.relative_to(data_dir))
    except ValueError:
        return str(path)


def _is_loose(path: Path) -> bool:
    """Group/other bits set on a real (not symlinked) file or directory of ours."""
    try:
        info = path.lstat()
    except OSError:
        return False
    if stat.S_ISLNK(info.st_mode):
        return False  # a link's target may be anywhere; its owner chose its permissions
    return bool(stat.S_IMODE(info.st_mode) & _OTHERS)
