"""Where a key is written in a TOML file, and how it is named in a message.

``tomllib`` parses but forgets positions, and its errors carry a line only in their text on
Python 3.11. The messages about a broken config name the file, the line and the key (``line 7,
key servers.work.base_url``), so this module finds those: a light line scanner for the keys, the
line out of ``tomllib``'s error, and a dotted key written as it would be in TOML.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any


def split_toml_error(exc: tomllib.TOMLDecodeError, text: str) -> tuple[str, int | None]:
    """tomllib puts the position in the message on Python 3.11 ("... (at line 3, column 5)")."""
    message = str(exc)
    attribute = getattr(exc, "lineno", None)
    lineno = attribute if isinstance(attribute, int) else None
    match = re.search(r"\s*\(at (?:line (\d+), column \d+|end of document)\)\s*$", message)
    if match:
        message = message[: match.start()]
        if lineno is None:
            lineno = int(match.group(1)) if match.group(1) else max(1, len(text.splitlines()))
    return message, lineno


def toml_type(value: Any) -> str:
    """A value as a message names it ("the string 'x'", "an array")."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string '{value}'"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date/time"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def format_key(path: tuple[str, ...] | None) -> str:
    """A dotted key as it would be written in TOML (odd names quoted)."""
    if not path:
        return ""
    return ".".join(p if _BARE_KEY.fullmatch(p) else '"' + p.replace('"', '\\"') + '"'
                    for p in path)


_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED_KEY = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_HEADER_LINE = re.compile(rf"^\s*\[\[?\s*({_DOTTED_KEY})\s*\]\]?\s*(?:#.*)?$")
_KEY_LINE = re.compile(rf"^\s*({_DOTTED_KEY})\s*=")
_INLINE_KEY = re.compile(rf"[{{,]\s*({_DOTTED_KEY})\s*=")


class KeyLocator:
    """Finds the line where a key is written, for messages tomllib cannot place.

    A light line scanner, not a TOML parser: it knows table headers, dotted keys, inline tables on
    one line and multi-line strings, which is what config files contain. A key it cannot place
    falls back to its nearest written parent (a profile's header for a missing key).
    """

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[str, ...], int] = {}
        self.by_line: dict[int, tuple[str, ...]] = {}
        table: tuple[str, ...] = ()
        in_multiline: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if in_multiline is not None:
                if line.count(in_multiline) % 2 == 1:
                    in_multiline = None
                continue
            header = _HEADER_LINE.match(line)
            if header:
                table = _split_key(header.group(1))
                self._record(table, number)
                continue
            match = _KEY_LINE.match(line)
            if match:
                full = table + _split_key(match.group(1))
                self._record(full, number)
                rest = line[match.end():]
                for inline in _INLINE_KEY.finditer(rest):
                    self._record(full + _split_key(inline.group(1)), number)
                for quote in ('"""', "'''"):
                    if rest.count(quote) % 2 == 1:
                        in_multiline = quote
                        break

    def _record(self, path: tuple[str, ...], number: int) -> None:
        for i in range(1, len(path) + 1):
            self.lines.setdefault(path[:i], number)
        self.by_line.setdefault(number, path)

    def line_of(self, path: tuple[str, ...]) -> int | None:
        for i in range(len(path), 0, -1):
            if path[:i] in self.lines:
                return self.lines[path[:i]]
        return None

    def path_at(self, number: int) -> tuple[str, ...] | None:
        return self.by_line.get(number)


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = []
    for part in re.findall(_KEY_PART, dotted):
        if part.startswith('"'):
            parts.append(str(tomllib.loads(f"k = {part}")["k"]))
        elif part.startswith("'"):
            parts.append(part[1:-1])
        else:
            parts.append(part)
    return tuple(parts)
