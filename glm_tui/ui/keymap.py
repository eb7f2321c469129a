"""Every key binding of the app, found where it is declared; the README's tables and the keymap.

Each screen and dialog declares its keys once, in its ``BINDINGS``, with an ``id`` and a
``tooltip``. From there:

* the Footer shows the description (and the tooltip on hover);
* the command palette lists the screen's active bindings (:mod:`glm_tui.ui.commands`);
* the README's key tables are generated here (``python -m glm_tui.ui.keymap`` prints them; a test
  fails when the README differs);
* the ``[keys]`` table of config.toml remaps them by id through Textual's keymap
  (:func:`keymap_for`), an unknown id being refused at start like any other config error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from textual.binding import Binding, BindingType

from glm_tui.settings.config import ConfigError, Settings
from glm_tui.settings.keys import unknown_binding
from glm_tui.ui.key_names import key_words

APP_BINDINGS: list[BindingType] = [
    Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit",
            tooltip="Quit; a reply in flight is kept, marked cancelled"),
]
"""The app's own keys (``GlmTuiApp.BINDINGS``), declared here so this module needs no app."""


@dataclass(frozen=True)
class Section:
    """One README table: a title, the classes whose keys it lists, and the key that opens it."""

    title: str
    owners: tuple[type, ...]
    opened_by: str | None = None  # the binding id that opens this screen, for the title


def sections() -> tuple[Section, ...]:
    """The README's tables, in order. The screens are imported here, not at module import: the
    app needs none of them for its first frame unless ``[keys]`` remaps something."""
    from glm_tui.ui.dialogs.attach_image import AttachImageModal, PathInput
    from glm_tui.ui.dialogs.confirm import ConfirmModal
    from glm_tui.ui.dialogs.damaged_database import DamagedDatabaseModal
    from glm_tui.ui.dialogs.export_session import ExportSessionModal
    from glm_tui.ui.dialogs.handler import HandlerConfirmModal
    from glm_tui.ui.dialogs.pick_entry import PickEntryScreen
    from glm_tui.ui.dialogs.rename_session import RenameSessionModal
    from glm_tui.ui.dialogs.server_call import ServerCallConfirmModal
    from glm_tui.ui.dialogs.system_prompt import SystemPromptModal
    from glm_tui.ui.screens.continue_reply import ContinueReply
    from glm_tui.ui.screens.conversation import ConversationScreen
    from glm_tui.ui.screens.conversation_base import ConversationBase
    from glm_tui.ui.screens.conversation_everyday import EverydayConversation
    from glm_tui.ui.screens.image_view import ImageViewScreen
    from glm_tui.ui.screens.model_picker import ModelPickerScreen, ServerPickerScreen
    from glm_tui.ui.screens.request_view import RequestViewScreen
    from glm_tui.ui.screens.sampling import SamplingScreen
    from glm_tui.ui.screens.sessions import SessionsScreen
    from glm_tui.ui.screens.tools import ToolsScreen
    from glm_tui.ui.widgets.attachment_tray import AttachmentChip
    from glm_tui.ui.widgets.image_thumbnail import ImageThumbnail
    from glm_tui.ui.widgets.message_view import MessageView

    return (
        Section("Conversation", (ConversationScreen, ContinueReply, ConversationBase,
                                 EverydayConversation,
                                 MessageView)),
        Section("Images", (AttachImageModal, PathInput, AttachmentChip, ImageThumbnail,
                           ImageViewScreen), "conversation.attach_image"),
        Section("Sampling settings", (SamplingScreen,), "conversation.open_settings"),
        Section("Tools", (ToolsScreen,), "conversation.open_tools"),
        Section("Sessions", (SessionsScreen,), "conversation.open_sessions"),
        Section("The request", (RequestViewScreen,), "conversation.show_request"),
        Section("Model and server", (ModelPickerScreen, ServerPickerScreen)),
        Section("Dialogs", (ConfirmModal, SystemPromptModal, HandlerConfirmModal,
                            ServerCallConfirmModal, RenameSessionModal, ExportSessionModal,
                            PickEntryScreen, DamagedDatabaseModal)),
    )



def own_bindings(owner: type) -> list[Binding]:
    """The bindings ``owner`` declares itself (not inherited), with an id."""
    declared = owner.__dict__.get("BINDINGS", [])
    return [b for b in declared if isinstance(b, Binding) and b.id]


def all_bindings() -> dict[str, Binding]:
    """Every binding with an id, by id (the app's, then each section's)."""
    found: dict[str, Binding] = {}
    bindings: list[Binding] = [b for b in APP_BINDINGS if isinstance(b, Binding)]
    for section in sections():
        for owner in section.owners:
            bindings.extend(own_bindings(owner))
    for binding in bindings:
        assert binding.id is not None
        if binding.id in found:
            raise ValueError(f"two key bindings share the id {binding.id!r}")
        found[binding.id] = binding
    return found


def keymap_for(settings: Settings) -> dict[str, str]:
    """The Textual keymap from ``[keys]``; an id that names no binding is a :class:`ConfigError`."""
    if not settings.keys:
        return {}  # the usual case: nothing to check, no screen imported before the first frame
    known = all_bindings()
    bad = unknown_binding(settings.keys, set(known))
    if bad is not None:
        key = "keys." + (bad.binding_id if re.fullmatch(r"[A-Za-z0-9_-]+", bad.binding_id)
                         else '"' + bad.binding_id.replace('"', '\\"') + '"')
        raise ConfigError(settings.config_path, bad.line, key,
                          "no key binding has this id; the README's key tables list them")
    return {remap.binding_id: remap.keys for remap in settings.keys}


# -- the README's key tables ------------------------------------------------------------------

def readme_tables() -> str:
    """The Markdown of every key table, as the README holds it between its ``keys`` markers."""
    everything = all_bindings()
    blocks = []
    for section in sections():
        title = section.title
        if section.opened_by is not None:
            title += f" ({key_words(everything[section.opened_by].key)})"
        rows = [f"| {title} | | id |", "|---|---|---|"]
        bindings = [b for owner in section.owners for b in own_bindings(owner)]
        if section.title == "Conversation":
            bindings += [b for b in APP_BINDINGS if isinstance(b, Binding)]
        for binding in bindings:
            rows.append(f"| {key_words(binding.key)} | {binding.tooltip} | `{binding.id}` |")
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks) + "\n"


README_START = "<!-- keys: generated from the bindings by `python -m glm_tui.ui.keymap` -->"
README_END = "<!-- /keys -->"


if __name__ == "__main__":
    print(README_START)
    print(readme_tables(), end="")
    print(README_END)
