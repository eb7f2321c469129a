"""The glm-tui application: settings in, a conversation screen up, services shared by screens.

The App owns what outlives one conversation screen: the settings, the active server profile and
its :class:`~glm_tui.client.client.ChatClient`, the server kind, the connection state shown in every
status bar, the session store, and the in-process demo server. Screens ask it for these; they
never build their own.

Start-up is a feature: the prompt is on screen in the first frame. ``openai`` (about a third of
a second to import) is imported in a thread after that frame, and the connection check
(``GET /models``) runs in the background; a server that is not listening only turns the status to
"unreachable".
"""

from __future__ import annotations

import asyncio
import gc
import importlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.timer import Timer
from textual.worker import WorkerCancelled, WorkerFailed

from glm_tui.model.server_kind import ServerKind, detect_kind, resolve_kind
from glm_tui.model.session import Session
from glm_tui.model.text import sanitize_for_display
from glm_tui.settings.config import DEMO_PROFILE, ServerProfile, Settings
from glm_tui.settings.writer import ConfigWriteError
from glm_tui.settings.writer import remember_choice as write_choice
from glm_tui.storage.last_session import last_shown_session, remember_last_session
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.storage.store import SessionStore, StoreCorruptError, StoreError
from glm_tui.ui.commands import ConversationCommands
from glm_tui.ui.dialogs.modals import (
    DamagedDatabase,
    DamagedDatabaseChoice,
    DamagedDatabaseModal,
)
from glm_tui.ui.screens.conversation import ConversationScreen
from glm_tui.ui.store_damage import carry_over, let_go_of_store, watch_store
from glm_tui.ui.widgets.message_view import INITIAL_WINDOW
from glm_tui.ui.widgets.status_bar import ConnectionState

if TYPE_CHECKING:
    from glm_tui.client.client import ChatClient
    from glm_tui.demo.server import DemoServer

DEMO_TOKEN_RATE = 60.0
"""Tokens per second of the ``--demo`` server: fast enough to read, slow enough to see it stream."""

EXIT_DAMAGED_DATABASE = 1

STORE_RETRY_S = 3.0
"""How often a data directory that could not be opened is tried again (each write tries too)."""


class GlmTuiApp(App[int]):
    """Full-screen chat with GLM-4 / GLM-4V and OpenAI-compatible servers."""

    CSS_PATH = Path(__file__).parent / "styles" / "app.tcss"
    TITLE = "glm-tui"
    COMMANDS = App.COMMANDS | {ConversationCommands}
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    connection_state: reactive[ConnectionState] = reactive(ConnectionState.CHECKING)
    connection_detail: reactive[str] = reactive("")

    def __init__(self, settings: Settings, *, resume: str | None = None,
                 demo_server: DemoServer | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.active_server = settings.server
        self.resume = resume
        self.demo_server = demo_server
        self.store: SessionStore | None = None
        self.models: list[str] = []
        self._client: ChatClient | None = None
        self._client_lock = asyncio.Lock()
        self._detected: ServerKind | None = None  # what /models gave away, once checked
        self._closed = False
        self.conversation: ConversationScreen | None = None
        self._unsaved: list[SessionRecorder] = []  # conversations left while nothing was saved

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every literal notification is sanitised here, once for all callers.

        ``markup=False`` marks text that may quote a server, a model, a file or a handler; Textual
        draws it as content, which does not stop escape sequences reaching the terminal.
        """
        if not markup:
            message = sanitize_for_display(message)
            title = sanitize_for_display(title)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # -- server and client ------------------------------------------------------------------

    @property
    def profile(self) -> ServerProfile:
        return self.settings.servers[self.active_server]

    @property
    def profile_url(self) -> str:
        return self.profile.base_url

    @property
    def server_kind(self) -> ServerKind:
        """The kind for the model of the conversation on screen (see ``resolve_kind``)."""
        conversation = self.conversation
        model = conversation.session.model if conversation is not None else self.profile.model
        return resolve_kind(self.profile.kind, self.profile.base_url, model, self._detected)

    async def get_client(self) -> ChatClient:
        """The client for the active server, created on first use.

        ``openai`` is imported in a thread so the screen keeps drawing meanwhile.
        """
        async with self._client_lock:
            if self._client is None:
                await asyncio.to_thread(importlib.import_module, "openai")
                from glm_tui.client.client import ChatClient

                profile = self.profile
                self._client = ChatClient(
                    profile.base_url, profile.api_key,
                    connect_timeout=self.settings.connect_timeout,
                    read_timeout=self.settings.read_timeout,
                )
            return self._client

    def remember_choice(self, *, server: str, model: str | None = None) -> None:
        """New sessions start with the last server and model chosen: in this run (settings)
        and in the next ones (config.toml).

        The built-in demo server is never written to the file: it exists only for this run,
        and a plain ``glm-tui`` tomorrow must still go to the user's own server.
        """
        if model is not None and server in self.settings.servers:
            profile = self.settings.servers[server]
            self.update_settings(servers={**self.settings.servers,
                                          server: replace(profile, model=model)})
        if self.demo_server is not None and server == DEMO_PROFILE:
            return
        try:
            write_choice(self.settings.config_path, server=server, model=model)
        except ConfigWriteError as exc:
            self.notify(f"Not remembered for next time: {exc}", severity="warning",
                        markup=False)

    def update_settings(self, **changes: Any) -> None:
        """Replace settings fields (presets or defaults saved from the settings screen)."""
        self.settings = replace(self.settings, **changes)

    def set_connection(self, state: ConnectionState, detail: str) -> None:
        self.connection_state = state
        self.connection_detail = detail

    @work(exclusive=True, exit_on_error=False, group="connection-check")
    async def check_connection(self) -> None:
        """Ask the server for its models: sets the connection state and detects the kind."""
        from glm_tui.client.errors import ClientError
        from glm_tui.client.events import ErrorKind

        self.set_connection(ConnectionState.CHECKING, "")
        client = await self.get_client()
        try:
            models = await client.list_models()
        except ClientError as exc:
            if self._reply_in_flight():
                return
            if exc.kind in (ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT):
                self.set_connection(ConnectionState.UNREACHABLE, self.profile_url)
            else:
                self.set_connection(ConnectionState.ERROR,
                                    f"HTTP {exc.status}" if exc.status else exc.kind.value)
            self.notify(exc.message, title="Server check", severity="warning", markup=False)
            return
        self.models = models
        self._detected = detect_kind(models, self.profile.base_url)
        if not self._reply_in_flight():
            self.set_connection(ConnectionState.READY, "")

    def _reply_in_flight(self) -> bool:
        return self.connection_state in (ConnectionState.WAITING, ConnectionState.STREAMING)

    async def switch_server(self, name: str) -> None:
        """Make another configured profile the active one (new client, new check)."""
        if name not in self.settings.servers:
            self.notify(f"There is no server profile named {name!r}.", severity="error",
                        markup=False)
            return
        old, self._client = self._client, None
        if old is not None:
            await old.aclose()
        self.active_server = name
        self._detected = None
        self.models = []
        self.check_connection()

    # -- sessions ---------------------------------------------------------------------------

    def new_session(self) -> Session:
        """A new, empty session with the active server's model and the configured defaults."""
        return Session(
            server_profile=self.active_server,
            model=self.profile.model,
            sampling=self.settings.sampling,
            stream=self.settings.stream,
        )

    async def start_new_session(self) -> None:
        session = self.new_session()
        reopen = self._reopen_store if self.store is None else None
        recorder = SessionRecorder(self.store, session, reopen=reopen)
        await self._show(ConversationScreen(session, recorder))

    async def open_session(self, session_id: str, *,
                           focus_message_id: int | None = None) -> bool:
        """Open a saved session, scrolled to the end (or to one message); False if it failed."""
        store = self.store
        if store is None:
            return False
        try:
            total = store.count_messages(session_id)
            window = INITIAL_WINDOW
            if focus_message_id is not None:
                window = max(window, total - store.position_of(focus_message_id) + 3)
            session = store.load_session(session_id, last=window)
        except StoreError as exc:
            self.notify(str(exc), title="Cannot open the session", severity="error",
                        markup=False)
            return False
        self._adopt_session_server(session)
        screen = ConversationScreen(
            session, SessionRecorder(store, session),
            older_in_store=max(0, total - len(session.messages)),
            focus_message_id=focus_message_id,
        )
        await self._show(screen)
        return True

    def _adopt_session_server(self, session: Session) -> None:
        """A session continues on the active server, never silently on another one.

        The active server is what the person chose for this run (``--demo``, ``--server``,
        ``--base-url`` or F9); jumping to whatever a stored session last used would send their
        next question somewhere they did not pick. They are told, and F9 switches.
        """
        if session.server_profile == self.active_server:
            return
        model_note = ""
        if session.model != self.profile.model:
            model_note = (f" It keeps its model {session.model!r}; F8 picks another if this "
                          "server does not have it.")
        self.notify(
            f"This session was last used with the server {session.server_profile!r}; it "
            f"continues on {self.active_server!r} (F9 switches servers).{model_note}",
            timeout=10, markup=False,
        )
        session.server_profile = self.active_server

    async def _show(self, screen: ConversationScreen) -> None:
        """Make ``screen`` the conversation (replacing the current one, if any)."""
        current = self.conversation
        self.conversation = screen
        if current is not None and current.recorder.store is None and current.session.messages:
            self._unsaved.append(current.recorder)  # saved too once the store opens
        if self.store is not None:
            remember_last_session(self.store.db_path.parent, screen.session.id)
        if current is not None and current.is_attached and self.screen is current:
            self._flush_recorder(current.recorder)
            await self.switch_screen(screen)
        else:
            await self.push_screen(screen)

    def _flush_recorder(self, recorder: SessionRecorder) -> None:
        try:
            recorder.flush()
        except StoreError as exc:
            self.notify(str(exc), title="Not saved", severity="error", markup=False)

    # -- start-up and shutdown --------------------------------------------------------------

    async def on_mount(self) -> None:
        for warning in self.settings.warnings:
            self.notify(warning, title="Config", severity="warning", timeout=10, markup=False)
        damaged = self._open_store()
        if damaged is not None:
            await self.start_new_session()
            self.push_screen(DamagedDatabaseModal(damaged), self._damaged_answered)
        else:
            await self._open_first_session()
        self.call_after_refresh(self.check_connection)

    def _open_store(self) -> DamagedDatabase | None:
        """Open the session store; a damaged file is reported, any other failure shown."""
        try:
            self.store = SessionStore(self.settings.data_dir, check=False)
        except StoreCorruptError as exc:
            return DamagedDatabase(exc.path, exc.reason, readable=exc.readable)
        except StoreError as exc:
            self.store = None
            self.notify(f"{exc}\nThe conversation is kept in memory and saved as soon as "
                        "the data directory can be written.",
                        title="Sessions are not saved", severity="error", timeout=15,
                        markup=False)
            self._start_store_retry()
        else:  # say what was made private; look for damage inside (ui/store_damage.py)
            watch_store(self, self.store, self._damaged_answered)
        return None

    _store_retry: Timer | None = None

    def _start_store_retry(self) -> None:
        """Try the data directory again every few seconds until it opens."""
        if self._store_retry is None:
            self._store_retry = self.set_interval(STORE_RETRY_S, self._retry_store)

    def _reopen_store(self) -> SessionStore | None:
        """The store, opening it now if it failed before; None while it still cannot be opened.

        A new session's recorder calls this before each write while it has no store, so what
        is typed once the directory is fixed is saved at once, not at the next timer tick. A
        damaged file is not touched here: moving it aside needs the user's word (at start).
        """
        if self._closed:
            return None
        if self.store is not None:
            return self.store
        try:
            store = SessionStore(self.settings.data_dir, check=False)
        except StoreError:
            return None
        self.store = store
        watch_store(self, store, self._damaged_answered)
        if self._store_retry is not None:
            self._store_retry.stop()
            self._store_retry = None
        self.notify(f"Sessions are saved again, in {store.db_path}.", title="Saving",
                    markup=False)
        return store

    def _retry_store(self) -> None:
        """Timer tick: once the store opens, write the in-memory conversation into it."""
        store = self._reopen_store()
        if store is None:
            return
        recorders = list(self._unsaved)
        if self.conversation is not None:
            recorders.append(self.conversation.recorder)
        self._unsaved.clear()
        for recorder in recorders:
            if recorder.store is not None or recorder.reopen is None:
                continue
            try:
                recorder.attach(store)
            except StoreError as exc:
                self.notify(str(exc), title="Not saved", severity="error", markup=False)

    async def _open_first_session(self) -> None:
        store = self.store
        if self.resume is None or store is None:
            if self.resume is not None:
                self.notify("Cannot resume: the session database is not available.",
                            severity="error")
            await self.start_new_session()
            return
        try:
            session_id = (self._last_session(store) if self.resume == "last"
                          else store.resolve_id(self.resume))
        except StoreError as exc:
            self.notify(f"{exc} Started a new session instead.", title="Cannot resume",
                        severity="error", timeout=10, markup=False)
            session_id = None
        if session_id is None:
            if self.resume == "last":
                self.notify("There is no saved session yet; this is a new one.")
            await self.start_new_session()
            return
        if not await self.open_session(session_id):
            await self.start_new_session()

    @staticmethod
    def _last_session(store: SessionStore) -> str | None:
        """The session last shown, if it is still saved; else the one updated last."""
        shown = last_shown_session(store.db_path.parent)
        if shown is not None and store.has_session(shown):
            return shown
        return store.last_session_id()

    async def _damaged_answered(self, choice: DamagedDatabaseChoice | None) -> None:
        if choice is not DamagedDatabaseChoice.MOVE_ASIDE:
            await self.shutdown()  # a store found damaged after start is open: close it
            self.exit(EXIT_DAMAGED_DATABASE, return_code=EXIT_DAMAGED_DATABASE)
            return
        carried = let_go_of_store(self.store, self.conversation)  # damage found after start
        self.store = None
        db_path = Path(self.settings.data_dir) / "sessions.db"
        try:
            moved = SessionStore.move_aside(db_path)
        except StoreError as exc:
            self.notify(f"{exc}\nNothing was changed; this conversation is kept in memory only.",
                        severity="error", timeout=15, markup=False)
            return
        self.notify(f"The damaged database was moved to {moved}.", timeout=10, markup=False)
        if self._open_store() is not None:
            self.notify("The new database cannot be opened either; this conversation is kept "
                        "in memory only.", severity="error")
            return
        if carried is not None and self.store is not None:
            self.notify(carry_over(carried, self.store), markup=False)
            return
        await self._open_first_session()

    async def action_quit(self) -> None:
        await self.shutdown()
        self.exit(0, return_code=0)

    async def shutdown(self) -> None:
        """Stop the reply in flight (keeping it), write what is pending, close the client."""
        if self._closed:
            return
        self._closed = True
        screen = self.conversation
        if screen is not None:
            for worker in screen.workers.cancel_group(screen, "reply"):
                try:
                    await asyncio.wait_for(worker.wait(), timeout=5)
                except TimeoutError:
                    self.log.warning("the reply worker did not stop within 5 s")
                except (WorkerCancelled, WorkerFailed):
                    pass  # its finally block has stored the reply
            try:
                screen.recorder.flush()
            except StoreError as exc:
                self.log.error(f"could not save on exit: {exc}")
            screen.recorder.store = None  # the store closes below; nothing writes after it
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self.store is not None:
            self.store.close()
            self.store = None

    async def on_unmount(self) -> None:
        await self.shutdown()


def demo_settings(settings: Settings, base_url: str) -> Settings:
    """The settings with an extra active profile for the in-process demo server (kind glm4)."""
    profile = ServerProfile(name=DEMO_PROFILE, base_url=base_url, api_key="EMPTY",
                            api_key_env=None, model="glm-4", kind=ServerKind.GLM4)
    return replace(settings, servers={**settings.servers, DEMO_PROFILE: profile},
                   server=DEMO_PROFILE)


GC_FIRST_GENERATION_THRESHOLD = 10_000
"""Drawing a streaming reply creates many short-lived objects; with Python's default (700) enough
of them are promoted to trigger a full collection about every second, and the cost of those grows
with the reply. A larger first threshold lets them die young: about 30% less CPU while streaming
and linear growth with reply length (tests/benchmarks/bench_app_streaming.py), for a few MB."""


def tune_gc() -> None:
    """Apply the app's garbage-collector setting (the benchmarks call it too)."""
    _, second, third = gc.get_threshold()
    gc.set_threshold(GC_FIRST_GENERATION_THRESHOLD, second, third)


def run_app(settings: Settings, *, demo: bool, resume: str | None) -> int:
    """Run the full-screen app until the user quits; returns the exit status."""
    tune_gc()
    server: DemoServer | None = None
    if demo:
        from glm_tui.demo.server import DemoServer

        server = DemoServer(flavor="glm4", token_rate=DEMO_TOKEN_RATE)
        settings = demo_settings(settings, server.start())
    try:
        app = GlmTuiApp(settings, resume=resume, demo_server=server)
        result = app.run()
        return int(result) if isinstance(result, int) else (app.return_code or 0)
    finally:
        if server is not None:
            server.stop()
