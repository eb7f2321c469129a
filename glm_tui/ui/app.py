"""The glm-tui application: settings in, services built, conversations shown.

The App owns what outlives one conversation screen and hands it down as one
:class:`~glm_tui.ui.services.Services` (settings, the active server and its client, the server
kind, the connection state every status bar shows) and a
:class:`~glm_tui.ui.store_keeper.StoreKeeper` (the session store, retried and re-attached when the
data directory failed). Screens never reach back into the app: they post navigation messages
(:mod:`glm_tui.ui.messages`) and the app handles them here, awaiting the leaving screen's own
``suspend()`` first.

Start-up is a feature: the prompt is on screen in the first frame. ``openai`` (about a third of
a second to import) is imported in a thread after that frame, and the connection check
(``GET /models``) runs in the background; a server that is not listening only turns the status to
"unreachable".
"""

from __future__ import annotations

import gc
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import App
from textual.binding import BindingType
from textual.notifications import SeverityLevel

from glm_tui.model.server_kind import ServerKind, demo_kind
from glm_tui.model.session import Session
from glm_tui.settings.config import DEMO_PROFILE, ConfigError, ServerProfile, Settings
from glm_tui.storage.last_session import last_shown_session, remember_last_session
from glm_tui.storage.store import SessionStore, StoreError
from glm_tui.ui import messages
from glm_tui.ui.commands import BindingCommands
from glm_tui.ui.dialogs.damaged_database import DamagedDatabaseChoice, DamagedDatabaseModal
from glm_tui.ui.keymap import APP_BINDINGS, keymap_for
from glm_tui.ui.literal import safe_text
from glm_tui.ui.needs_terminal import EXIT_NO_TERMINAL, missing_terminal
from glm_tui.ui.screens.conversation import ConversationScreen
from glm_tui.ui.services import Services
from glm_tui.ui.store_damage import watch_store
from glm_tui.ui.store_keeper import StoreKeeper
from glm_tui.ui.theme_choice import apply_saved_theme, remember_theme_choices
from glm_tui.ui.widgets.message_view import INITIAL_WINDOW
from glm_tui.ui.widgets.status_bar import ConnectionState

if TYPE_CHECKING:
    from glm_tui.demo.server import DemoServer

DEMO_TOKEN_RATE = 60.0
"""Tokens per second of the ``--demo`` server: fast enough to read, slow enough to see it stream."""

EXIT_DAMAGED_DATABASE = 1
EXIT_CONFIG = 2

NOTIFICATION_LIMIT = 4_000
"""Characters of a toast kept: a toast quoting a 1 MB server error must not stall the screen."""


class GlmTuiApp(App[int]):
    """Full-screen chat with GLM-4 / GLM-4V and OpenAI-compatible servers."""

    CSS_PATH = Path(__file__).parent / "styles" / "app.tcss"
    TITLE = "glm-tui"
    COMMANDS = App.COMMANDS | {BindingCommands}
    BINDINGS: ClassVar[list[BindingType]] = APP_BINDINGS

    def __init__(self, settings: Settings, *, resume: str | None = None,
                 demo_server: DemoServer | None = None) -> None:
        """Raises :class:`ConfigError` when ``[keys]`` names a binding that does not exist."""
        super().__init__()
        keymap = keymap_for(settings)
        self.resume = resume
        self.demo_server = demo_server
        self.keeper = StoreKeeper(
            settings.data_dir, notify=self.notify, schedule=self.set_interval,
            opened=lambda store: watch_store(self, store, self._damaged_answered))
        self.services = Services(settings, keeper=self.keeper, notify=self.notify,
                                 remember_demo=demo_server is None)
        self.conversation: ConversationScreen | None = None
        self._closed = False
        if keymap:
            self.set_keymap(keymap)
        self._theme_warning = apply_saved_theme(self, self.services)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification is made visible-safe here, once for all callers and all screens.

        Control characters are made visible whatever ``markup`` says: Textual draws the text,
        which does not stop escape sequences reaching the terminal. Markup is off unless a
        caller asks for it for words of its own: a toast quoting a server, a model, a file or a
        handler cannot turn ``[@click=app.quit]`` into an action by someone forgetting a flag.
        """
        message = safe_text(message, NOTIFICATION_LIMIT)
        title = safe_text(title, NOTIFICATION_LIMIT)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    async def on_event(self, event: events.Event) -> None:
        """A key typed on a focused message goes to the prompt: the focus moves before the key
        is delivered (``ConversationBase.redirect_typing``)."""
        if isinstance(event, events.Key) and not event.is_forwarded:
            screen = self.screen
            if isinstance(screen, ConversationScreen):
                screen.redirect_typing(event)
        await super().on_event(event)

    def action_help_quit(self) -> None:
        """Ctrl+C: say how to quit (Textual's own words use markup, which toasts here do not)."""
        self.notify("Press ctrl+q to quit the app.", title="Do you want to quit?")

    # -- what tests and benchmarks read (the state itself lives in the services) -------------

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def active_server(self) -> str:
        return self.services.active_server

    @property
    def store(self) -> SessionStore | None:
        return self.keeper.store

    @property
    def connection_state(self) -> ConnectionState:
        return self.services.connection_state

    @property
    def server_kind(self) -> ServerKind:
        """The kind for the model of the conversation on screen (``Services.kind_for``)."""
        conversation = self.conversation
        model = (conversation.session.model if conversation is not None
                 else self.services.profile.model)
        return self.services.kind_for(model)

    @work(exclusive=True, exit_on_error=False, group="connection-check")
    async def check_connection(self) -> None:
        """Ask the server for its models (in the background): state and kind follow."""
        await self.services.check_connection()
        self.note_unlisted_model()

    def note_unlisted_model(self) -> None:
        """Say once if the server's model list lacks the model of the conversation on screen."""
        conversation = self.conversation
        model = (conversation.session.model if conversation is not None
                 else self.services.profile.model)
        note = self.services.model_note(model)
        if note is not None:
            self.notify(f"{note} F8 picks one of them.", title="Model", severity="warning",
                        timeout=12, markup=False)

    # -- navigation (messages from screens) ---------------------------------------------------

    @on(messages.NewSession)
    async def _new_session_asked(self) -> None:
        await self._suspend_current()
        await self.start_new_session()

    @on(messages.OpenSession)
    async def _open_session_asked(self, message: messages.OpenSession) -> None:
        await self._suspend_current()
        await self.open_session(message.session_id, focus_message_id=message.message_id)

    @on(messages.SwitchServer)
    async def _switch_server_asked(self, message: messages.SwitchServer) -> None:
        screen = self.conversation
        if screen is not None:
            await screen.suspend()  # the reply in flight used the old server's client
        if await self.services.switch_server(message.name):
            if screen is not None:
                screen.server_switched()
            self.check_connection()

    async def _suspend_current(self) -> None:
        if self.conversation is not None:
            await self.conversation.suspend()

    # -- sessions ---------------------------------------------------------------------------

    def new_session(self) -> Session:
        return self.services.new_session()

    async def start_new_session(self) -> None:
        session = self.services.new_session()
        await self._show(ConversationScreen(session, self.keeper.recorder_for(session),
                                            self.services))

    async def open_session(self, session_id: str, *,
                           focus_message_id: int | None = None) -> bool:
        """Open a saved session, scrolled to the end (or to one message); False if it failed."""
        store = self.keeper.store
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
            session, self.keeper.recorder_for(session), self.services,
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
        active = self.services.active_server
        if session.server_profile == active:
            return
        model_note = ""
        if session.model != self.services.profile.model:
            model_note = (f" It keeps its model {session.model!r}; F8 picks another if this "
                          "server does not have it.")
        self.notify(
            f"This session was last used with the server {session.server_profile!r}; it "
            f"continues on {active!r} (F9 switches servers).{model_note}",
            timeout=10, markup=False,
        )
        session.server_profile = active

    async def _show(self, screen: ConversationScreen) -> None:
        """Make ``screen`` the conversation (replacing the current one, already suspended)."""
        current = self.conversation
        self.conversation = screen
        if self.keeper.store is not None:
            remember_last_session(self.keeper.store.db_path.parent, screen.session.id)
        if current is not None and current.is_attached and self.screen is current:
            await self.switch_screen(screen)
        else:
            await self.push_screen(screen)
        self.note_unlisted_model()  # a saved session may use another model than the last one

    # -- start-up and shutdown --------------------------------------------------------------

    async def on_mount(self) -> None:
        for warning in (*self.settings.warnings, self._theme_warning):
            if warning:
                self.notify(warning, title="Config", severity="warning", timeout=10)
        remember_theme_choices(self, self.services)
        damaged = self.keeper.open()
        if damaged is not None:
            await self.start_new_session()
            self.push_screen(DamagedDatabaseModal(damaged), self._damaged_answered)
        else:
            await self._open_first_session()
        self.call_after_refresh(self.check_connection)

    async def _open_first_session(self) -> None:
        store = self.keeper.store
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
        # Damage found after start: the store is open, and the conversation on screen may be
        # carried over whole into the new database (ui/store_damage.py).
        screen = self.conversation
        carried = screen is not None and screen.release_damaged_store()
        self.keeper.let_go()
        try:
            moved = self.keeper.move_aside()
        except StoreError as exc:
            self.notify(f"{exc}\nNothing was changed; this conversation is kept in memory only.",
                        severity="error", timeout=15, markup=False)
            return
        self.notify(f"The damaged database was moved to {moved}.", timeout=10, markup=False)
        if self.keeper.open() is not None:
            self.notify("The new database cannot be opened either; this conversation is kept "
                        "in memory only.", severity="error")
            return
        if carried and screen is not None and self.keeper.store is not None:
            self.notify(screen.carry_into(self.keeper.store), markup=False)
            return
        await self._suspend_current()
        await self._open_first_session()

    async def action_quit(self) -> None:
        await self.shutdown()
        self.exit(0, return_code=0)

    async def shutdown(self) -> None:
        """Stop the reply in flight (keeping it), write what is pending, close the client, stop
        the MCP servers."""
        if self._closed:
            return
        self._closed = True
        if self.conversation is not None:
            await self.conversation.suspend(final=True)  # a running MCP call is cancelled
        await self.services.close_client()
        self.keeper.close()
        await self.services.stop_tool_servers()  # last: what was typed is saved first

    async def on_unmount(self) -> None:
        await self.shutdown()


def demo_settings(settings: Settings, base_url: str, model: str | None = None,
                  kind: ServerKind = ServerKind.GLM4) -> Settings:
    """The settings with an extra active profile for the in-process demo server.

    ``model`` is ``--model`` (``glm-4`` without it): the demo server answers as the model a
    request names, and ``resolve_kind`` gives a vision model the GLM-4V rules. ``kind``: what
    the demo server runs as (GLM-4's server; vLLM for a thinking model, see ``run_app``).
    """
    profile = ServerProfile(name=DEMO_PROFILE, base_url=base_url, api_key="EMPTY",
                            api_key_env=None, model=model or "glm-4", kind=kind)
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


def run_app(settings: Settings, *, demo: bool, resume: str | None,
            demo_model: str | None = None) -> int:
    """Run the full-screen app until the user quits; returns the exit status.

    ``demo_model``: the model ``--model`` named for the ``--demo`` server (the settings' own
    profile, which ``--model`` also changed, is not the one the demo runs on).
    """
    tune_gc()
    server: DemoServer | None = None
    if demo:
        from glm_tui.demo.server import DemoServer
        from glm_tui.demo.thinking import built_in_flavor

        flavor = built_in_flavor(demo_model)  # a thinking model: as served by vLLM
        server = DemoServer(flavor=flavor, token_rate=DEMO_TOKEN_RATE)
        settings = demo_settings(settings, server.start(), demo_model, demo_kind(flavor))
    try:
        try:
            app = GlmTuiApp(settings, resume=resume, demo_server=server)
        except ConfigError as exc:  # [keys] names a binding that does not exist
            print(f"glm-tui: error: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        problem = missing_terminal(sys.stdin, sys.stdout)  # after every config error is said
        if problem is not None:
            print(problem, file=sys.stderr)
            return EXIT_NO_TERMINAL
        result = app.run()
        return int(result) if isinstance(result, int) else (app.return_code or 0)
    finally:
        if server is not None:
            server.stop()
