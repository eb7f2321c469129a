"""The one way glm-tui writes a whole file: :func:`atomic_write`.

Every file glm-tui writes (the config, the last-session hint, the tool library, images, exports)
goes through here, so a crash, a full disk or a kill mid-write never leaves half a file under the
real name: readers see the old content or the new, nothing in between.

How: a temporary file is created in the target's own directory (a rename is only atomic within one
file system), written, flushed and ``fsync``-ed, then renamed over the target; the directory is
then ``fsync``-ed (best effort) so the rename itself survives a power cut. On any failure,
including KeyboardInterrupt, the temporary file is removed and the target is untouched.

File mode: a new file is created ``0600`` (owner only), because everything glm-tui writes can hold
chat history or settings that are nobody else's business; a file that already exists keeps its
permission bits (someone who made an export world-readable on purpose keeps it so). ``mode``
overrides both. A symbolic link is written through, not replaced by a file: a config.toml that
links into a dotfiles repository stays a link.

This module imports nothing else of glm_tui, which is what lets ``settings`` use it too (the one
commented exception to the sibling rule in ``pyproject.toml``).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

NEW_FILE_MODE = 0o600
"""Permission bits of a file glm-tui creates (owner read/write only)."""


def atomic_write(
    path: Path | str,
    data: str | bytes,
    *,
    mode: int | None = None,
    encoding: str = "utf-8",
) -> None:
    """Replace ``path``'s content with ``data`` all at once, or leave it as it was.

    ``data`` as ``str`` is encoded with ``encoding`` (no newline translation: the bytes written
    are exactly the text). Raises ``OSError`` (the target untouched, no temporary file left) when
    the directory is missing or not writable, the disk is full, or anything else fails.
    """
    target = Path(os.path.realpath(path)) if Path(path).is_symlink() else Path(path)
    folder = target.parent
    payload = data.encode(encoding) if isinstance(data, str) else data
    if mode is None:
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            mode = NEW_FILE_MODE
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _sync_directory(folder)


def _sync_directory(folder: Path) -> None:
    """Make the rename durable; some systems cannot open a directory, which only costs that."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
