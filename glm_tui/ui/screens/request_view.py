"""Shows the exact JSON the next request will send, and copies it as a ``curl`` command.

Trust comes from seeing the bytes: the body here is the dict the client passes on, shown literally
(a read-only TextArea: no markup, scrollable, selectable). The API key never appears; the copied
command reads it from the profile's ``api_key_env`` variable, or ``$OPENAI_API_KEY`` when the
profile names none (see glm_tui.chat.preview).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static, TextArea

from glm_tui.chat.preview import (
    body_json,
    chat_completions_url,
    curl_command,
    is_secret,
    key_env_name,
    redact_key,
)
from glm_tui.ui.dialogs.dialog import Dialog
from glm_tui.ui.literal import literal, literal_line, safe_text


class RequestViewScreen(Dialog[None]):
    """The next request: method, URL, headers (key redacted) and the pretty JSON body."""

    CSS_PATH = Path(__file__).parent.parent / "styles" / "request_view.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="request.close",
                tooltip="Back to the conversation"),
        Binding("c", "copy_curl", "Copy as curl", id="request.copy_curl",
                tooltip="Copy the request as a curl command (the key read from the environment)"),
        Binding("j", "copy_json", "Copy JSON", id="request.copy_json",
                tooltip="Copy the request body as JSON"),
    ]

    def __init__(self, request: dict[str, Any], base_url: str, api_key: str, *,
                 api_key_env: str | None = None) -> None:
        super().__init__()
        self.request = request
        self.base_url = base_url
        self._api_key = api_key
        self.api_key_env = api_key_env
        self.key_env = key_env_name(api_key_env)
        self.json_text = body_json(request, api_key)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(literal_line(f"POST {chat_completions_url(self.base_url)}", 1000),
                         id="request-line")
            yield Static(literal("Content-Type: application/json\n"
                                 + f"Authorization: Bearer {redact_key(self._api_key)}"),
                         id="request-headers")
            # Shown visible-safe (JSON escapes C0 controls, not C1 or bidi ones); copied exact.
            yield TextArea(safe_text(self.json_text), read_only=True, show_line_numbers=True,
                           soft_wrap=True, id="request-body")
            hint = "c: copy as curl · j: copy the JSON · Esc: close"
            if is_secret(self._api_key):
                hint += f"  (the copied command reads the key from ${self.key_env})"
            yield Static(literal(hint), id="request-help")

    def on_mount(self) -> None:
        self.query_one("#request-body", TextArea).focus()

    @property
    def curl(self) -> str:
        """The command ``c`` copies (with the key as ``$OPENAI_API_KEY`` or ``$api_key_env``)."""
        return curl_command(self.request, self.base_url, self._api_key,
                            api_key_env=self.api_key_env)

    def action_copy_curl(self) -> None:
        self.app.copy_to_clipboard(self.curl)
        message = "Copied the request as a curl command."
        if is_secret(self._api_key):
            message += f" It reads the key from ${self.key_env}: export it before running."
        self.notify(message, markup=False, timeout=4)

    def action_copy_json(self) -> None:
        self.app.copy_to_clipboard(self.json_text)
        self.notify("Copied the request body as JSON.", markup=False, timeout=3)

    def action_close(self) -> None:
        self.dismiss(None)
