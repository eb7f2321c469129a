"""Content-addressed image files beside the session database.

Messages refer to images by SHA-256 only, so rows stay small and a picture attached twice is stored
once. A file is ``images/ab/abcdef….<ext>``: the two-character fan-out keeps any one directory
small. Files are written with :func:`~glm_tui.storage.files.atomic_write`, so a crash never leaves
half an image under its final name; they are ``0600`` in ``0700`` folders (pictures are history).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from glm_tui.storage.files import atomic_write
from glm_tui.storage.private import make_private_dir

_SHA256 = re.compile(r"[0-9a-f]{64}")
_EXT = re.compile(r"[a-z0-9]{1,8}")


class ImageStoreError(Exception):
    """An image could not be written or found; the message says which file and why."""


class ImageStore:
    """Image bytes stored by content hash under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes, ext: str) -> str:
        """Store ``data`` (if not already there) and return its SHA-256 in hex."""
        clean_ext = ext.lower().lstrip(".")
        if not _EXT.fullmatch(clean_ext):
            raise ImageStoreError(f"'{ext}' is not a usable file extension for an image")
        digest = hashlib.sha256(data).hexdigest()
        target = self._dir(digest) / f"{digest}.{clean_ext}"
        if target.exists():
            return digest
        try:
            make_private_dir(self.root)  # each level itself: mkdir's parents get the umask's bits
            make_private_dir(target.parent)
            atomic_write(target, data)
        except OSError as exc:
            raise ImageStoreError(
                f"could not save image {target}: {exc.strerror or exc}"
            ) from exc
        return digest

    def path(self, sha256: str) -> Path:
        """The file holding the image with this hash; ImageStoreError if it is not there."""
        if not _SHA256.fullmatch(sha256):
            raise ImageStoreError(f"'{sha256[:80]}' is not a SHA-256 image reference")
        folder = self._dir(sha256)
        matches = sorted(folder.glob(f"{sha256}.*")) if folder.is_dir() else []
        if not matches:
            raise ImageStoreError(f"image {sha256[:12]}… is missing from {folder}")
        return matches[0]

    def _dir(self, sha256: str) -> Path:
        return self.root / sha256[:2]
