"""Autosave for the live session: nothing a user typed or a model said is ever only on screen.

The UI tells the recorder what happened (a message added, a reply grew, a setting changed) and
the recorder writes it: at once for user messages and settings, at most ``interval`` seconds
behind for a streaming reply, always at once for a final status. When the disk refuses
(read-only, full, locked for too long) the writes wait in memory, in order, and go out with the
next write or :meth:`flush`; the conversation carries on meanwhile and ``last_error`` says why
it is not saved yet. When there was no store at all (the data directory could not be opened at
start), :meth:`attach` or the ``reopen`` hook brings one in later and the whole in-memory session
is written then, so a conversation begun while the disk refused is not lost either.

A message of ``background_chars`` or more (a reply of megabytes) is written on a worker thread:
storing it costs seconds (the full-text index takes every trigram of the old text out and of
the new one in: 2.6 s for 10 MB), and the UI calls the recorder on its event loop. While that
thread writes, every later write queues behind it and the thread takes them all in order, so
nothing is reordered and the loop never waits; :meth:`flush` waits for it (leaving a session,
quitting).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from glm_tui.model.session import Message, MessageStatus, Session
from glm_tui.storage.store import SessionStore, StoreError, StoreWriteError

DEFAULT_INTERVAL_S = 0.5
"""How far a stored streaming reply may lag the screen (the promise is "about a second")."""
BACKGROUND_CHARS = 262_144
"""Messages this long are written on the worker thread (about 0.05 s of indexing on the loop)."""


@dataclass
class _Op:
    """One write waiting for the store: ``kind`` is save, add, update or remove."""

    kind: str
    message: Message | None = None
    message_id: int | None = None


class SessionRecorder:
    """Keeps one session's store copy in step with the live one.

    With ``store=None`` (no usable data directory) every call is accepted and nothing is
    written, so the UI needs no second code path. ``reopen``, if given, is asked for a store
    before each write while there is none (streaming updates excepted: the final one follows);
    the first store it returns is attached and the session written from the start.
    """

    def __init__(
        self,
        store: SessionStore | None,
        session: Session,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        reopen: Callable[[], SessionStore | None] | None = None,
        background_chars: int | None = BACKGROUND_CHARS,
    ) -> None:
        self.store = store
        self.background_chars = background_chars
        """Write messages at least this long on a worker thread (None: always on the caller's)."""
        self._lock = threading.Lock()  # the queue and the writer, between the loop and the writer
        self._writer: threading.Thread | None = None
        self.reopen = reopen
        self.session = session
        self.interval = interval
        self._clock = clock
        self._queue: list[_Op] = []
        self._dirty: dict[int, Message] = {}  # id(message) -> throttled streaming message
        self._last_write: dict[int, float] = {}
        self._session_saved = False
        self.last_error: str | None = None

    @property
    def pending(self) -> int:
        """Writes not yet in the store: failed ones waiting to retry plus throttled updates.

        What the background writer is working through does not count: it is being written.
        """
        return len(self._dirty) + (0 if self._writer is not None else len(self._queue))

    @property
    def writing_in_background(self) -> bool:
        """True while the worker thread is writing (see the module docstring)."""
        return self._writer is not None

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the background writer (if any) has written everything queued."""
        writer = self._writer
        if writer is not None:
            writer.join(timeout)

    # --- what the UI reports ----------------------------------------------------------------

    def save_session(self) -> None:
        """Title, settings or system prompt changed: store them now."""
        self.session.updated_at = time.time()
        self._session_saved = True
        self._submit(_Op("save"))

    def add_message(self, message: Message) -> None:
        """Append a message to the session (if it is not already in it) and store it now.

        The UI calls this for the user's message before sending the request, so a failure of
        the server or of glm-tui afterwards cannot lose the question.
        """
        if not any(m is message for m in self.session.messages):
            self.session.messages.append(message)
        self.session.updated_at = time.time()
        if not self._session_saved:
            self._session_saved = True
            self._queue.append(_Op("save"))
        self._last_write[id(message)] = self._clock()
        self._submit(_Op("add", message))

    def update_message(self, message: Message, force: bool = False) -> bool:
        """A message changed (a reply grew, finished, failed...). Returns True if written now.

        While a reply is streaming, writes are spaced ``interval`` apart; any other status is
        final and written at once, as is ``force=True``.
        """
        final = message.status is not MessageStatus.STREAMING
        if self.store is None:
            if force or final:
                self._retry()  # may reopen a store and write the whole session, this included
            return self.store is not None and not self._queue
        if message.id is None and not self._has_pending_write(message):
            raise ValueError("update_message() of a message that was never added")
        key = id(message)
        now = self._clock()
        if not (force or final) and now - self._last_write.get(key, float("-inf")) < self.interval:
            self._dirty[key] = message
            return False
        self._dirty.pop(key, None)
        self._last_write[key] = now
        if self._has_pending_write(message):
            # The queued add/update writes the message as it is at retry time: nothing to add.
            self._retry()
            return not self._queue
        return self._submit(_Op("update", message))

    def remove_from(self, message: Message) -> None:
        """Drop ``message`` and every later one, from the live session and the store."""
        messages = self.session.messages
        index = next((i for i, m in enumerate(messages) if m is message), None)
        removed = messages[index:] if index is not None else [message]
        if index is not None:
            del messages[index:]
        gone = {id(m) for m in removed}
        for key in gone:
            self._dirty.pop(key, None)
            self._last_write.pop(key, None)
        with self._lock:
            self._queue[:] = [op for op in self._queue
                              if op.message is None or id(op.message) not in gone]
        if message.id is not None:
            self._submit(_Op("remove", message_id=message.id))
        else:
            self._retry()
        for m in removed:
            m.id = None

    def flush(self) -> bool:
        """Write everything waiting (throttled updates and earlier failures). True if all done.

        Waits for the background writer, so everything is in the store when this returns.
        """
        for message in list(self._dirty.values()):
            self._last_write[id(message)] = self._clock()
            if not self._has_pending_write(message):
                with self._lock:
                    self._queue.append(_Op("update", message))
        self._dirty.clear()
        self._retry()
        self.wait()
        return not self._queue

    def attach(self, store: SessionStore) -> bool:
        """Start saving into ``store`` a session that so far lived only in memory.

        Everything not yet in a store is written now, in order: the session, then each message
        without an id (as it is now: a finished reply is stored finished). True if all of it
        went out; otherwise the rest waits like any refused write. The ``reopen`` hook is
        dropped: once attached, losing the store again (the session deleted by another glm-tui)
        must not quietly write a partial copy back.
        """
        self.wait()
        self.store = store
        self.reopen = None
        self._queue = self._replay_ops()
        self._dirty.clear()
        self._retry()
        self.wait()
        return not self._queue

    # --- writing ----------------------------------------------------------------------------

    def _replay_ops(self) -> list[_Op]:
        """The writes that put the whole in-memory session into a store that has never seen it."""
        self._session_saved = True
        ops = [_Op("save")]
        ops.extend(_Op("add", m) for m in self.session.messages if m.id is None)
        return ops

    def _has_pending_write(self, message: Message) -> bool:
        return any(op.message is message and op.kind in ("add", "update") for op in self._queue)

    def _submit(self, op: _Op) -> bool:
        with self._lock:
            self._queue.append(op)
        self._retry()
        return not self._queue

    def _is_big(self, op: _Op) -> bool:
        limit = self.background_chars
        return (limit is not None and op.message is not None
                and len(op.message.content) + len(op.message.reasoning) >= limit)

    def _retry(self) -> None:
        """Run queued writes in order; stop at the first the disk refuses and keep the rest.

        While the background writer runs, it takes what was queued; a big write starts it.
        """
        with self._lock:
            if self._writer is not None:
                return
            store = self.store
            if store is not None and any(self._is_big(op) for op in self._queue):
                self._writer = threading.Thread(
                    target=self._write_in_background, args=(store,),
                    name="glm-tui-recorder", daemon=True)
                self._writer.start()
                return
        self._write_queue()

    def _write_in_background(self, store: SessionStore) -> None:
        """The worker thread: write the queue in order, then end (stop at a refusing disk).

        Whatever happens, the writer is marked gone at the end and an op that was not written
        goes back to the front of the queue (a store closed under it, say, after the damaged
        database was let go): it is retried like any refused write, never lost silently.
        """
        dropped = False
        op: _Op | None = None
        try:
            while True:
                with self._lock:
                    if not self._queue or self.store is not store:
                        if not self._queue and not dropped:
                            self.last_error = None
                        return
                    op = self._queue.pop(0)  # off the queue first: a later update queues anew
                try:
                    self._apply(store, op)
                except StoreWriteError as exc:
                    self.last_error = str(exc)
                    return
                except StoreError as exc:
                    self.last_error = str(exc)  # dropped, as on the loop (the row is gone)
                    dropped = True
                except Exception as exc:  # a thread has no one to raise to
                    self.last_error = f"Could not save: {exc}"
                    return
                op = None
        finally:
            with self._lock:
                if op is not None:
                    self._queue.insert(0, op)
                self._writer = None

    def _write_queue(self) -> None:
        store = self.store
        if store is None:
            store = self.reopen() if self.reopen is not None else None
            if store is None:
                self._queue.clear()
                return
            # The queue only holds what came since the last try; the replay covers all of it.
            self.store = store
            self.reopen = None
            self._queue = self._replay_ops()
            self._dirty.clear()
        while self._queue:
            op = self._queue[0]
            try:
                self._apply(store, op)
            except StoreWriteError as exc:
                self.last_error = str(exc)
                return
            except StoreError as exc:
                # Not the disk: the row is gone (another glm-tui deleted the session...).
                # Retrying cannot help, so this write is dropped and the error shown.
                self._queue.pop(0)
                self.last_error = str(exc)
                raise
            self._queue.pop(0)
        self.last_error = None

    def _apply(self, store: SessionStore, op: _Op) -> None:
        if op.kind == "save":
            store.save_session(self.session)
        elif op.kind == "add":
            assert op.message is not None
            store.append_message(self.session.id, op.message)
        elif op.kind == "update":
            assert op.message is not None
            store.update_message(op.message)
        elif op.kind == "remove":
            assert op.message_id is not None
            store.delete_messages_from(self.session.id, op.message_id)
