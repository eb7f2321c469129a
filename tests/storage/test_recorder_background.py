"""A reply of megabytes is stored off the UI's thread, in order (issue 13 item 10).

Storing 10 MB costs seconds (the trigram index takes the old text out and the new one in), and
the app calls the recorder on its event loop: the UI froze for that long at the end of a huge
reply. Here a gate in the store holds the big write open, so the tests see, without timing,
where it runs and what the caller may do meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from glm_tui.model.session import Message, MessageStatus, Role, Session
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.storage.store import SessionStore

BIG = "word " * 60_000  # 300 KB, over the recorder's background size


class GatedStore(SessionStore):
    """A real store whose updates wait at a gate, noting the thread they ran on.

    Only a worker thread waits: a write on the caller's own thread would wait for ever.
    """

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.update_threads: list[threading.Thread] = []

    def update_message(self, message: Message) -> None:
        self.update_threads.append(threading.current_thread())
        self.entered.set()
        if threading.current_thread() is not threading.main_thread():
            assert self.gate.wait(60), "the test never opened the gate"
        super().update_message(message)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GatedStore]:
    s = GatedStore(tmp_path / "data")
    yield s
    s.close()


def test_a_huge_reply_is_written_off_the_callers_thread_and_later_writes_keep_their_order(
    store: GatedStore,
) -> None:
    session = Session()
    recorder = SessionRecorder(store, session)
    recorder.add_message(Message(Role.USER, "tell me everything"))
    reply = Message(Role.ASSISTANT, "", status=MessageStatus.STREAMING)
    recorder.add_message(reply)

    store.gate.clear()
    reply.content = BIG
    reply.status = MessageStatus.COMPLETE
    recorder.update_message(reply)  # returns with the write held at the gate
    assert store.entered.wait(60)
    assert store.update_threads[-1] is not threading.main_thread()
    assert recorder.writing_in_background and recorder.pending == 0

    question = Message(Role.USER, "and now?")
    recorder.add_message(question)  # queued behind the big write, not run beside it
    assert question.id is None

    store.gate.set()
    assert recorder.flush()
    assert not recorder.writing_in_background and recorder.last_error is None
    loaded = store.load_session(session.id).messages
    assert [m.content for m in loaded] == ["tell me everything", BIG, "and now?"]
    assert loaded[1].status is MessageStatus.COMPLETE


def test_small_writes_stay_on_the_callers_thread(store: GatedStore) -> None:
    session = Session()
    recorder = SessionRecorder(store, session)
    reply = Message(Role.ASSISTANT, "short", status=MessageStatus.COMPLETE)
    recorder.add_message(reply)
    reply.content = "short and done"
    assert recorder.update_message(reply) is True
    assert store.update_threads == [threading.main_thread()]
