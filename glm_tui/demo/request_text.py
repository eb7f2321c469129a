"""The text of a chat request as the demo model reads it: messages, the question, tokens, CJK.

Every part of the demo that needs the words of a request (the reply, the tool choice, the
directives, the token counts in usage) reads them through these few functions, so a message with
list content or a Chinese question is read the same way everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_CJK = (
    "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
)
_TOKEN_RE = re.compile(rf"[{_CJK}]|[ ]?[^\s{_CJK}]{{1,4}}|\s{{1,4}}")
CJK_RE = re.compile(rf"[{_CJK}]")


def tokenize(text: str) -> list[str]:
    """Split text into model-like tokens: word pieces of up to four characters, CJK per character.

    Concatenating the tokens gives back ``text`` exactly; every character belongs to one token.
    """
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    return len(_TOKEN_RE.findall(text))


def message_text(message: dict[str, Any]) -> str:
    """The text of a message: a string content, or the text parts of a list joined by spaces."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def last_user_text(messages: Sequence[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return ""


def system_prompt(messages: Sequence[dict[str, Any]]) -> str:
    for message in messages:
        if message.get("role") == "system":
            return message_text(message)
    return ""


def is_cjk(text: str) -> bool:
    """Whether to answer in Chinese: the question has more CJK characters than Latin letters."""
    cjk = len(CJK_RE.findall(text))
    return cjk > 0 and cjk >= sum(1 for char in text if char.isascii() and char.isalpha())

