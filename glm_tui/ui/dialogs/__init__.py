"""Dialogs: small modal screens, one module each. Every text they show from outside (a tool name,
a title, a URL, a command) is drawn literally through :mod:`glm_tui.ui.literal`."""

from glm_tui.ui.dialogs.confirm import ConfirmModal, confirm_link
from glm_tui.ui.dialogs.damaged_database import (
    DamagedDatabase,
    DamagedDatabaseChoice,
    DamagedDatabaseModal,
)
from glm_tui.ui.dialogs.export_session import ExportChoice, ExportSessionModal
from glm_tui.ui.dialogs.handler import HandlerChoice, HandlerConfirmModal
from glm_tui.ui.dialogs.pick_entry import PickEntryScreen
from glm_tui.ui.dialogs.rename_session import RenameSessionModal
from glm_tui.ui.dialogs.system_prompt import SystemPromptModal

__all__ = [
    "ConfirmModal",
    "DamagedDatabase",
    "DamagedDatabaseChoice",
    "DamagedDatabaseModal",
    "ExportChoice",
    "ExportSessionModal",
    "HandlerChoice",
    "HandlerConfirmModal",
    "PickEntryScreen",
    "RenameSessionModal",
    "SystemPromptModal",
    "confirm_link",
]
