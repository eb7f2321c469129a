"""The sessions browser: every saved session, filter as you type, search every message, manage.

The screen is pushed by the conversation with the store and the id of the session that is open,
and dismisses with what the user chose: `OpenSession`, `NewSession` (the navigation messages the
conversation then posts to the app), or None (Esc). It never loads
sessions into widgets: `SessionList` draws rows and pulls them from the store a page at a time.

Typing filters titles and models (debounced, so a fast typist costs one query, not one per key);
a leading ``/`` switches to full-text search over every message, with the matching snippet under
each title. Rename, duplicate, delete (confirmed, naming the session) and export act on the
highlighted row when the list has focus; their keys would otherwise type into the filter.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState

from glm_tui.chat.export import (
    Export,
    ExportFormat,
    image_folder_name,
    prepare_export,
    write_export,
)
from glm_tui.storage.store import (
    SessionStore,
    StoreError,
)
from glm_tui.ui.dialogs.confirm import ConfirmModal
from glm_tui.ui.dialogs.export_session import (
    ExportChoice,
    ExportSessionModal,
    default_export_path,
    safe_file_stem,
)
from glm_tui.ui.dialogs.rename_session import RenameSessionModal, quoted
from glm_tui.ui.literal import LiteralStatic, one_line_text
from glm_tui.ui.messages import NewSession, OpenSession
from glm_tui.ui.widgets.session_list import (
    RowSource,
    SessionList,
    StaticRows,
)
from glm_tui.ui.widgets.store_rows import StoreRows, hit_row

DEBOUNCE_S = 0.08
"""Pause in typing before the filter or search runs; short enough to feel immediate."""

SEARCH_PREFIX = "/"
EMPTY_STORE_TEXT = "No saved sessions yet · n starts one"
SEARCH_PROMPT_TEXT = "Type words to search every message"
SEARCH_LIMIT = 100

__all__ = [  # the dialogs this screen opens, importable from here as before
    "ExportSessionModal", "NewSession", "OpenSession", "RenameSessionModal", "SessionsScreen",
    "default_export_path", "safe_file_stem",
]


SessionsResult = OpenSession | NewSession | None


# -- export -----------------------------------------------------------------------------------


def session_export(store: SessionStore, session_id: str, fmt: ExportFormat,
                   path: Path) -> Export:
    """The export (text, image files), from the one renderer the CLI uses too."""
    return prepare_export(store.load_session(session_id), fmt, store, path)


# -- the screen ---------------------------------------------------------------------------------


class SessionsScreen(Screen[SessionsResult]):
    """Browse, search and manage saved sessions; dismisses with what to open."""

    CSS_PATH = Path(__file__).parent.parent / "styles" / "sessions.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="sessions.close",
                tooltip="Back to the conversation"),
        Binding("n", "new_session", "New", id="sessions.new_session",
                tooltip="Start a new session (Tab to the list first: typed keys filter)"),
        Binding("r", "rename", "Rename", id="sessions.rename",
                tooltip="Rename the highlighted session"),
        Binding("d", "duplicate", "Duplicate", id="sessions.duplicate",
                tooltip="Duplicate the highlighted session"),
        Binding("x,delete", "delete", "Delete", key_display="x", id="sessions.delete",
                tooltip="Delete the highlighted session (asks first)"),
        Binding("e", "export", "Export", id="sessions.export",
                tooltip="Export the highlighted session as Markdown or JSON"),
        Binding("slash", "search", "Search text", key_display="/", id="sessions.search",
                tooltip="Search the text of every message (or type / in the filter)"),
        # While the filter has focus, the list still follows the arrows and Enter opens.
        Binding("down", "list('cursor_down')", show=False),
        Binding("up", "list('cursor_up')", show=False),
        Binding("pagedown", "list('page_down')", show=False),
        Binding("pageup", "list('page_up')", show=False),
    ]

    ROW_ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {"new_session", "rename", "duplicate", "delete", "export", "search"}
    )

    def __init__(self, store: SessionStore, current_session_id: str | None) -> None:
        super().__init__()
        self._store = store
        self._current_session_id = current_session_id
        self._debounce: Timer | None = None
        self._query_text = ""
        self._query_generation = 0
        self._search_complete = True
        self._open_when_found = False
        self._shown_generation = 0

    # -- layout --

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder=one_line_text(
                "Filter by title or model · start with / to search every message"),
            id="sessions-filter",
        )
        yield LiteralStatic("", id="sessions-hint")
        yield SessionList(
            current_session_id=self._current_session_id,
            empty_text=EMPTY_STORE_TEXT,
            id="sessions-list",
        )
        yield Footer()

    def on_mount(self) -> None:
        self._apply_query(reload=True)
        self.query_one("#sessions-filter", Input).focus()

    @property
    def session_list(self) -> SessionList:
        return self.query_one("#sessions-list", SessionList)

    # -- filter and search --

    @on(Input.Changed, "#sessions-filter")
    def _filter_changed(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE_S, self._apply_query)

    def _apply_query(self, *, reload: bool = False, keep_cursor: bool = False) -> None:
        """Show rows for what is typed; ``reload`` re-reads the store even if nothing changed.

        Filtering (a LIKE over titles and models, then one page) runs here because it takes a
        few milliseconds; full-text search can take longer on a big store, so it runs in a
        thread and only the answer to the latest query is shown.
        """
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        text = self.query_one("#sessions-filter", Input).value
        if text == self._query_text and not reload:
            return
        self._query_text = text
        self._query_generation += 1
        self._open_when_found = False
        if text.startswith(SEARCH_PREFIX):
            query = text[len(SEARCH_PREFIX) :].strip()
            if query:
                self._search(query, self._query_generation, keep_cursor)
            else:
                self._show_rows(StaticRows([]), SEARCH_PROMPT_TEXT, keep_cursor)
            return
        filter_text = text.strip()
        source = StoreRows(self._store, filter_text, self._store_failed)
        try:
            count = source.count()
        except StoreError as error:
            self._store_failed(error)
            return
        empty = "No session title or model matches" if filter_text else EMPTY_STORE_TEXT
        self._show_rows(source, empty, keep_cursor, count)

    @work(thread=True, exclusive=True, group="sessions-search", exit_on_error=False)
    def _search(self, query: str, generation: int, keep_cursor: bool) -> None:
        try:
            hits = self._store.search(query, limit=SEARCH_LIMIT)
        except StoreError as error:
            self.app.call_from_thread(self._store_failed, error)
            self.app.call_from_thread(self._show_hits, StaticRows([]), generation, False, True)
            return
        # The store stops a slow search (short words read messages one by one) at its time
        # budget and says so; the hint tells the user that older messages were not searched.
        complete = self._store.last_search_complete
        rows = StaticRows([hit_row(hit) for hit in hits])
        self.app.call_from_thread(self._show_hits, rows, generation, keep_cursor, complete)

    def _show_hits(
        self, rows: StaticRows, generation: int, keep_cursor: bool, complete: bool
    ) -> None:
        # An older query's answer, or one arriving after the screen closed, is not shown.
        if generation == self._query_generation and self.is_attached:
            self._search_complete = complete
            open_now, self._open_when_found = self._open_when_found, False
            empty = (
                "No message or title contains that"
                if complete
                else "No match in the newest messages (stopped early; try longer words)"
            )
            self._show_rows(rows, empty, keep_cursor)
            if open_now:
                self.session_list.action_select()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "sessions-search" and event.state is WorkerState.ERROR:
            self.notify(
                f"Search failed: {event.worker.error}",
                title="Sessions",
                severity="error",
                markup=False,
            )

    def _show_rows(
        self, source: RowSource, empty_text: str, keep_cursor: bool, count: int | None = None
    ) -> None:
        self._shown_generation = self._query_generation
        self.session_list.set_source(
            source, empty_text=empty_text, keep_cursor=keep_cursor, count=count
        )
        self._update_hint()

    def _refresh_rows(self) -> None:
        """Show the store as it is now (after a change), keeping the query and the cursor spot."""
        self._apply_query(reload=True, keep_cursor=True)

    def _store_failed(self, error: StoreError) -> None:
        self.notify(str(error), title="Sessions", severity="error", markup=False)

    def _update_hint(self) -> None:
        text = self._query_text
        count = self.session_list.row_count
        if text.startswith(SEARCH_PREFIX):
            if not text[len(SEARCH_PREFIX) :].strip():
                hint = "Full-text search: type words to find in any message · delete / to filter"
            else:
                more = "+" if count >= SEARCH_LIMIT else ""
                hint = f"{count}{more} match{'' if count == 1 else 'es'} in titles and messages"
                if not self._search_complete:
                    hint += " (stopped early: older messages not searched; use longer words)"
                hint += " · delete / to filter titles"
        elif text.strip():
            hint = f"{count:,} session{'' if count == 1 else 's'} match · / searches messages"
        else:
            hint = f"{count:,} session{'' if count == 1 else 's'}, most recent first"
        hint += " · Tab to the list for n r d x e"
        self.query_one("#sessions-hint", LiteralStatic).show(hint)

    # -- choosing --

    @on(SessionList.Selected)
    def _selected(self, event: SessionList.Selected) -> None:
        self.dismiss(OpenSession(event.row.session_id, event.row.message_id))

    @on(Input.Submitted, "#sessions-filter")
    def _filter_submitted(self) -> None:
        if self._debounce is not None:
            # Enter before the pause ran out: open from what was typed, not the previous rows.
            self._apply_query()
        if self._shown_generation != self._query_generation:
            # The hits for what was typed are still coming: open the first when they arrive.
            self._open_when_found = True
            return
        self.session_list.action_select()

    def action_list(self, action: str) -> None:
        getattr(self.session_list, f"action_{action}")()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_new_session(self) -> None:
        self.dismiss(NewSession())

    def action_search(self) -> None:
        filter_input = self.query_one("#sessions-filter", Input)
        if not filter_input.value.startswith(SEARCH_PREFIX):
            filter_input.value = SEARCH_PREFIX + filter_input.value
        filter_input.focus()
        filter_input.cursor_position = len(filter_input.value)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in self.ROW_ACTIONS or action == "search":
            return True  # typing "/" into the filter does what the binding does
        if isinstance(self.focused, Input):
            # These keys type into the filter; shown dimmed until the list has focus.
            return None
        if action == "new_session":
            return True
        return True if self.session_list.highlighted_row is not None else None

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def on_descendant_blur(self) -> None:
        self.refresh_bindings()

    @on(SessionList.Highlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    # -- managing --

    def action_rename(self) -> None:
        row = self.session_list.highlighted_row
        if row is None:
            return

        def renamed(title: str | None) -> None:
            if title is None:
                return
            try:
                self._store.rename_session(row.session_id, title)
            except StoreError as error:
                self._store_failed(error)
                return
            self._refresh_rows()
            self.notify(f"Renamed to {quoted(title)}", markup=False)

        self.app.push_screen(RenameSessionModal(row.title), renamed)

    def action_duplicate(self) -> None:
        row = self.session_list.highlighted_row
        if row is None:
            return
        try:
            self._store.duplicate_session(row.session_id)
        except StoreError as error:
            self._store_failed(error)
            return
        # The copy is the most recent session: show the top of the list, where it now is.
        self._apply_query(reload=True)
        self.notify(f"Duplicated {quoted(row.title)}", markup=False)

    def action_delete(self) -> None:
        row = self.session_list.highlighted_row
        if row is None:
            return

        def answered(delete: bool | None) -> None:
            if not delete:
                return
            try:
                self._store.delete_session(row.session_id)
            except StoreError as error:
                self._store_failed(error)
                return
            self._refresh_rows()
            self.notify(f"Deleted {quoted(row.title)}", markup=False)

        count = ""
        if row.message_count is not None:
            count = f" and its {row.message_count} message" + (
                "" if row.message_count == 1 else "s")
        self.app.push_screen(ConfirmModal(
            "Delete this session?",
            f"Delete {quoted(row.title)}{count}? This cannot be undone.",
            confirm="Delete", cancel="Keep", danger=True,
        ), answered)

    def action_export(self) -> None:
        row = self.session_list.highlighted_row
        if row is None:
            return

        def chosen(choice: ExportChoice | None) -> None:
            if choice is None:
                return
            try:
                export = session_export(self._store, row.session_id, choice.fmt, choice.path)
                choice.path.parent.mkdir(parents=True, exist_ok=True)
                write_export(export, choice.path)  # never half a file, even on a full disk
            except StoreError as error:
                self._store_failed(error)
                return
            except OSError as error:
                self.notify(
                    f"Could not write {error.filename or choice.path}: "
                    f"{error.strerror or error}",
                    title="Export failed",
                    severity="error",
                    markup=False,
                )
                return
            images = len(export.image_files)
            folder = choice.path.parent / image_folder_name(choice.path)
            with_images = (f", with {images} image{'' if images == 1 else 's'} in {folder}"
                           if images else "")
            self.notify(f"Exported to {choice.path}{with_images}", title="Export", markup=False)
            for note in export.notes:  # a picture whose file is gone: said, not hidden
                self.notify(note, title="Export", severity="warning", markup=False)

        self.app.push_screen(ExportSessionModal(row.title, row.session_id), chosen)
