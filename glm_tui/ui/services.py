"""What screens need from the app, handed to them when they are built.

A screen never reaches for ``self.app`` to get the settings, the client or the connection state:
the app builds one :class:`Services` at start and passes it to each screen it makes. Screens
read its attributes and call its methods; to change what is shown they post a navigation message
(:mod:`glm_tui.ui.messages`). That keeps the arrows one way (``app -> screens -> services``) and
lets a screen be built in a test with a ``Services`` of its own.

Member names are those the screens have always used (``settings``, ``profile``, ``active_server``,
``server_kind``, ``get_client``, ``set_connection``, ``connection_state``, ``connection_detail``,
``profile_url``, ``remember_choice``, ``update_settings``), so moving code between the app, the
screens and the chat core stays mechanical.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_tui.chat.model_list import unlisted_model_note
from glm_tui.model.server_kind import ServerKind, detect_kind, resolve_kind
from glm_tui.model.session import Session
from glm_tui.settings.config import DEMO_PROFILE, ServerProfile, Settings
from glm_tui.settings.writer import ConfigWriteError
from glm_tui.settings.writer import remember_choice as write_choice
from glm_tui.ui.store_keeper import Notify, StoreKeeper
from glm_tui.ui.widgets.status_bar import ConnectionState

if TYPE_CHECKING:
    from glm_tui.client.client import ChatClient
    from glm_tui.tool_servers.servers import ToolServers

ConnectionListener = Callable[[ConnectionState, str], None]


class Connection:
    """The active server's state (checking, ready, streaming, unreachable...) and its detail.

    Every status bar shows it; a screen subscribes while it is mounted and unsubscribes after.
    """

    def __init__(self) -> None:
        self.state = ConnectionState.CHECKING
        self.detail = ""
        self._listeners: list[ConnectionListener] = []

    def set(self, state: ConnectionState, detail: str) -> None:
        if (state, detail) == (self.state, self.detail):
            return
        self.state, self.detail = state, detail
        for listener in list(self._listeners):
            listener(state, detail)

    def subscribe(self, listener: ConnectionListener) -> Callable[[], None]:
        """Call ``listener(state, detail)`` on every change; returns the unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe


class Services:
    """The settings, the active server and its client, the connection state and the store."""

    def __init__(self, settings: Settings, *, keeper: StoreKeeper, notify: Notify,
                 remember_demo: bool = True) -> None:
        self.settings = settings
        self.active_server = settings.server
        self.keeper = keeper
        self.connection = Connection()
        self.models: list[str] = []
        self._notify = notify
        self._remember_demo = remember_demo  # False while the built-in demo server runs
        self._client: ChatClient | None = None
        self._client_lock = asyncio.Lock()
        self._detected: ServerKind | None = None  # what /models gave away, once checked
        self._images_refused: set[tuple[str, str]] = set()  # (server, model) said "no images"
        self.image_folder: Path | None = None  # where the picture picker opens next
        self._model_notes_said: set[tuple[str, str]] = set()  # (server, model) told unlisted
        self._tool_servers: ToolServers | None = None

    # -- MCP tool servers -------------------------------------------------------------------

    @property
    def tool_servers(self) -> ToolServers:
        """The configured MCP servers, each started when a screen first needs it.

        Made on first use, so an app that never opens the tools screen or meets an MCP call
        imports nothing of MCP and starts nothing.
        """
        if self._tool_servers is None:
            from glm_tui.tool_servers.servers import ToolServers

            self._tool_servers = ToolServers(self.settings.mcp_servers,
                                             self.settings.data_dir / "logs")
        return self._tool_servers

    async def stop_tool_servers(self) -> None:
        """Stop every MCP server started in this run (on exit)."""
        if self._tool_servers is not None:
            await self._tool_servers.stop_all()

    # -- server and client ------------------------------------------------------------------

    @property
    def profile(self) -> ServerProfile:
        return self.settings.servers[self.active_server]

    @property
    def profile_url(self) -> str:
        return self.profile.base_url

    def kind_for(self, model: str) -> ServerKind:
        """The kind a request to ``model`` on the active server is shaped for (``resolve_kind``:
        the configured kind, the host, what ``/models`` gave away, and the model itself)."""
        return resolve_kind(self.profile.kind, self.profile.base_url, model, self._detected)

    def images_refused(self, model: str) -> bool:
        """Whether the active server answered that ``model`` cannot read images (this run)."""
        return (self.active_server, model) in self._images_refused

    def remember_images_refused(self, model: str) -> None:
        self._images_refused.add((self.active_server, model))

    @property
    def server_kind(self) -> ServerKind:
        """The kind for the profile's own model (a session's may differ: :meth:`kind_for`)."""
        return self.kind_for(self.profile.model)

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

    async def close_client(self) -> None:
        old, self._client = self._client, None
        if old is not None:
            await old.aclose()

    async def switch_server(self, name: str) -> bool:
        """Make another configured profile the active one (new client; the caller re-checks)."""
        if name not in self.settings.servers:
            self._notify(f"There is no server profile named {name!r}.", severity="error",
                         markup=False)
            return False
        await self.close_client()
        self.active_server = name
        self._detected = None
        self.models = []
        return True

    # -- connection state -------------------------------------------------------------------

    @property
    def connection_state(self) -> ConnectionState:
        return self.connection.state

    @property
    def connection_detail(self) -> str:
        return self.connection.detail

    def set_connection(self, state: ConnectionState, detail: str) -> None:
        self.connection.set(state, detail)

    @property
    def reply_in_flight(self) -> bool:
        return self.connection_state in (ConnectionState.WAITING, ConnectionState.STREAMING)

    async def check_connection(self) -> None:
        """Ask the server for its models: sets the connection state and detects the kind."""
        from glm_tui.client.errors import ClientError
        from glm_tui.client.events import ErrorKind

        self.set_connection(ConnectionState.CHECKING, "")
        client = await self.get_client()
        try:
            models = await client.list_models()
        except ClientError as exc:
            if self.reply_in_flight:
                return
            if exc.kind in (ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT):
                self.set_connection(ConnectionState.UNREACHABLE, self.profile_url)
            else:
                self.set_connection(ConnectionState.ERROR,
                                    f"HTTP {exc.status}" if exc.status else exc.kind.value)
            self._notify(exc.message, title="Server check", severity="warning", markup=False)
            return
        self.models = models
        self._detected = detect_kind(models, self.profile.base_url, owners=client.model_owners)
        if not self.reply_in_flight:
            self.set_connection(ConnectionState.READY, "")

    def model_note(self, model: str) -> str | None:
        """The words when the active server's ``/models`` lacks ``model``: once per server and
        model in a run (after each check, and when a session with another model is opened)."""
        said = (self.active_server, model)
        if not self.models or said in self._model_notes_said:
            return None
        glm_local = self.kind_for(model) in (ServerKind.GLM4, ServerKind.GLM4V)
        note = unlisted_model_note(model, self.models, glm_local=glm_local)
        if note is not None:
            self._model_notes_said.add(said)
        return note

    # -- settings ---------------------------------------------------------------------------

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
        if not self._remember_demo and server == DEMO_PROFILE:
            return
        try:
            write_choice(self.settings.config_path, server=server, model=model)
        except ConfigWriteError as exc:
            self._notify(f"Not remembered for next time: {exc}", severity="warning",
                         markup=False)

    def update_settings(self, **changes: Any) -> None:
        """Replace settings fields (presets or defaults saved from the settings screen)."""
        self.settings = replace(self.settings, **changes)

    def new_session(self) -> Session:
        """A new, empty session with the active server's model and the configured defaults."""
        return Session(
            server_profile=self.active_server,
            model=self.profile.model,
            sampling=self.settings.sampling,
            stream=self.settings.stream,
        )
