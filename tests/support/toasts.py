"""Every toast an app raised, kept: live ones expire, which a loaded machine can outwait.

A test that reads ``app._notifications`` after the toast's timeout finds nothing; this log keeps
what was shown for the whole test, exactly as it was handed to the screen: it records the
``Notify`` messages the app posts, i.e. after the app's own sanitising ``notify``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import App
from textual.message import Message
from textual.notifications import Notify


@dataclass(frozen=True)
class Toast:
    title: str
    message: str
    severity: str


class ToastLog:
    """Wraps ``app.post_message`` before the app runs; ``toasts`` lists every toast in order."""

    def __init__(self, app: App[Any]) -> None:
        self.toasts: list[Toast] = []
        original = app.post_message

        def record(message: Message) -> bool:
            if isinstance(message, Notify):
                shown = message.notification
                self.toasts.append(Toast(shown.title, shown.message, shown.severity))
            return original(message)

        app.post_message = record  # type: ignore[method-assign]

    def messages(self) -> list[str]:
        return [toast.message for toast in self.toasts]

    def titled(self, title: str) -> list[Toast]:
        return [toast for toast in self.toasts if toast.title == title]

    def any_mentions(self, text: str) -> bool:
        return any(text in toast.message for toast in self.toasts)
