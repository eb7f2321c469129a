"""The session store against real SQLite files in temporary directories."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from glm_tui.model.sampling import SamplingParams
from glm_tui.model.session import (
    ImageAttachment,
    Message,
    MessageStatus,
    Role,
    Session,
    Timings,
    ToolCall,
    Usage,
)
from glm_tui.storage.store import (
    INTERRUPTED_ERROR,
    SCHEMA_VERSION,
    SNIPPET_END,
    SNIPPET_START,
    SessionStore,
    StoreCorruptError,
    StoreError,
    StoreWriteError,
    snippet_parts,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SessionStore]:
    s = SessionStore(tmp_path / "data")
    yield s
    s.close()


def rich_session() -> Session:
    """A session using every field, so a lossy column shows up as a difference."""
    session = Session(
        title="Weather in 北京",
        server_profile="local-glm",
        model="glm-4",
        system_prompt="You are terse.\nAnswer in one line.",
        sampling=SamplingParams(temperature=0.3, top_p=0.9, presence_penalty=1.2,
                                max_tokens=300, seed=7, stop=("END", "\n\n")),
        tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}}}}],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        stream=False,
    )
    session.messages = [
        Message(Role.USER, "What's the weather in 北京?", images=[
            ImageAttachment("ab" * 32, "image/jpeg", 640, 480, "sky.jpg")]),
        Message(Role.ASSISTANT, "", tool_calls=[
            ToolCall("call_1", "get_weather", '{"city": "北京"}')],
            usage=Usage(12, 9, estimated=True), timings=Timings(1700000000.5, 0.25, 1.5)),
        Message(Role.TOOL, '{"temp": 21}', tool_call_id="call_1", name="get_weather"),
        Message(Role.ASSISTANT, "21 °C and sunny.", usage=Usage(40, 6),
                timings=Timings(1700000002.0, 0.1, 0.4)),
        Message(Role.ASSISTANT, "", status=MessageStatus.FAILED,
                error="HTTP 500: Internal Server Error"),
    ]
    return session


def test_session_round_trips_every_field(store: SessionStore) -> None:
    session = rich_session()
    store.create_session(session)
    assert all(m.id is not None for m in session.messages)
    assert store.load_session(session.id) == session


def test_database_settings(store: SessionStore) -> None:
    conn = sqlite3.connect(store.db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    own = store._conn
    assert own.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert own.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert own.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_append_update_and_partial_loads(store: SessionStore) -> None:
    session = Session(title="long")
    store.save_session(session)
    for i in range(30):
        message = Message(Role.USER if i % 2 == 0 else Role.ASSISTANT, f"message {i}")
        assert store.append_message(session.id, message) == message.id
    assert store.count_messages(session.id) == 30
    tail = store.load_session(session.id, last=5)
    assert [m.content for m in tail.messages] == [f"message {i}" for i in range(25, 30)]
    first_loaded = store.position_of(tail.messages[0].id or 0)
    assert first_loaded == 25 == store.count_messages(session.id) - 5
    older = store.load_messages_before(session.id, first_loaded, 10)
    assert [m.content for m in older] == [f"message {i}" for i in range(15, 25)]
    assert store.load_messages_before(session.id, 3, 10)[0].content == "message 0"

    reply = tail.messages[-1]
    reply.content = "message 29, edited"
    reply.status = MessageStatus.CANCELLED
    reply.usage = Usage(1, 2)
    store.update_message(reply)
    again = store.load_session(session.id, last=1).messages[0]
    assert again == reply


def test_delete_messages_from_keeps_earlier_ones(store: SessionStore) -> None:
    session = Session(title="regen")
    store.save_session(session)
    messages = [Message(Role.USER, f"m{i}") for i in range(6)]
    for m in messages:
        store.append_message(session.id, m)
    store.delete_messages_from(session.id, messages[3].id or 0)
    assert [m.content for m in store.load_session(session.id).messages] == ["m0", "m1", "m2"]
    appended = Message(Role.USER, "again")
    store.append_message(session.id, appended)
    assert store.position_of(appended.id or 0) == 3
    assert store.search("m4") == []


def test_streaming_message_comes_back_interrupted(store: SessionStore) -> None:
    session = Session(title="died")
    store.save_session(session)
    store.append_message(session.id, Message(Role.USER, "hi"))
    store.append_message(session.id, Message(Role.ASSISTANT, "Hel", status=MessageStatus.STREAMING))
    loaded = store.load_session(session.id)
    assert loaded.messages[-1].status is MessageStatus.INTERRUPTED
    assert loaded.messages[-1].error == INTERRUPTED_ERROR
    assert loaded.messages[-1].content == "Hel"


def test_list_sessions_recent_first_with_counts_preview_and_filter(store: SessionStore) -> None:
    ids = []
    for i, model in enumerate(["glm-4", "glm-4v", "gpt-4o"]):
        session = Session(title=f"Chat {i} about 100%_things", model=model,
                          updated_at=1000.0 + i)
        session.messages = [Message(Role.USER, f"question {i}"),
                            Message(Role.ASSISTANT, f"answer   {i}\nsecond line")]
        store.create_session(session)
        ids.append(session.id)
    listed = store.list_sessions()
    assert [s.id for s in listed] == ids[::-1]
    assert listed[0].message_count == 2
    assert listed[0].preview == "answer 2 second line"
    assert [s.model for s in store.list_sessions("GLM-4V")] == ["glm-4v"]
    assert len(store.list_sessions("100%_")) == 3
    assert store.list_sessions("%x") == []
    assert store.count_sessions() == 3 and store.count_sessions("gpt") == 1
    assert [s.id for s in store.list_sessions(limit=1, offset=1)] == [ids[1]]
    assert store.last_session_id() == ids[2]
    store.append_message(ids[0], Message(Role.USER, "bump"))
    assert store.list_sessions()[0].id == ids[0]
    assert store.last_session_id() == ids[0]


def test_search_titles_and_messages_with_snippets(store: SessionStore) -> None:
    session = Session(title="Rust lifetimes")
    session.messages = [
        Message(Role.USER, "Explain borrow checking in Rust. " + "filler " * 60 + "The END."),
        Message(Role.ASSISTANT, "我们在北京天安门见面。Lifetimes name regions of code."),
    ]
    store.create_session(session)
    hits = store.search("lifetimes")
    assert hits[0].message_id is None and hits[0].session_id == session.id
    assert snippet_parts(hits[0].snippet) == [("Rust ", False), ("lifetimes", True)]
    assert hits[1].message_id == session.messages[1].id
    assert f"{SNIPPET_START}Lifetimes{SNIPPET_END}" in hits[1].snippet

    chinese = store.search("天安门")
    assert [h.message_id for h in chinese] == [session.messages[1].id]
    long_hit = store.search("end")[0]
    assert "END" in long_hit.snippet and long_hit.snippet.startswith("…")
    assert len(long_hit.snippet) < 200
    assert store.search("borrow rust")[0].message_id == session.messages[0].id
    assert store.search("borrow python") == []
    assert [h.message_id for h in store.search("北京")] == [session.messages[1].id]  # 2 chars


@pytest.mark.parametrize("query", [
    '"', '""', "'", "*", "-", "-rust", "NEAR(a b)", "NEAR", "AND", "OR NOT", "(", ")",
    "title:rust", "^rust", "a\"b\"c", "rust*", "{x}", "[1]", "%", "_", "\\", "  ",
])
def test_search_never_raises_on_user_text(store: SessionStore, query: str) -> None:
    session = Session(title="special")
    session.messages = [Message(Role.USER, 'He said "NEAR(a b)" and -rust*, ok? 100% {x} [1]')]
    store.create_session(session)
    hits = store.search(query)
    text = (session.messages[0].content + " " + session.title).casefold()
    terms = query.casefold().split()
    should_match = bool(terms) and all(term in text for term in terms)
    assert bool(hits) == should_match, f"{query!r} is matched as literal text"


def test_search_follows_edits_and_deletes(store: SessionStore) -> None:
    session = Session(title="edits")
    store.save_session(session)
    message = Message(Role.ASSISTANT, "first draft")
    store.append_message(session.id, message)
    message.content = "final wording"
    store.update_message(message)
    assert store.search("draft") == []
    assert store.search("wording")[0].message_id == message.id
    store.rename_session(session.id, "Renamed thing")
    assert store.search("edits") == []
    assert store.search("renamed")[0].title == "Renamed thing"
    store.delete_session(session.id)
    assert store.search("wording") == [] and store.search("renamed") == []


def test_rename_duplicate_delete_resolve(store: SessionStore) -> None:
    session = rich_session()
    store.create_session(session)
    store.rename_session(session.id, "New name")
    copy_id = store.duplicate_session(session.id)
    copy = store.load_session(copy_id)
    assert copy.title == "New name (copy)"
    assert [m.content for m in copy.messages] == [m.content for m in session.messages]
    assert copy.sampling == session.sampling and copy.tools == session.tools
    assert {m.id for m in copy.messages}.isdisjoint({m.id for m in session.messages})
    assert store.search("sunny") and len(store.search("sunny")) == 2

    assert store.resolve_id(session.id[:10]) == session.id
    assert store.resolve_id(f"  {copy_id}  ") == copy_id
    with pytest.raises(StoreError, match="No saved session id starts with"):
        store.resolve_id("zzz")
    with pytest.raises(StoreError, match="No session id"):
        store.resolve_id("")
    store.delete_session(session.id)
    with pytest.raises(StoreError, match="no saved session"):
        store.load_session(session.id)
    assert store.count_messages(session.id) == 0  # messages went with it (foreign key)
    with pytest.raises(StoreError):
        store.delete_session(session.id)


def test_resolve_id_refuses_an_ambiguous_prefix(store: SessionStore) -> None:
    store.save_session(Session(id="abc111"))
    store.save_session(Session(id="abc222"))
    with pytest.raises(StoreError, match="More than one"):
        store.resolve_id("abc")
    assert store.resolve_id("abc2") == "abc222"


def test_images_are_files_not_rows(store: SessionStore) -> None:
    data = b"\xff\xd8\xff\xe0" + b"PIXELDATA-UNIQUE-MARKER" * 100
    digest = store.put_image(data, "jpg")
    assert store.put_image(data, ".JPG") == digest  # stored once
    path = store.image_path(digest)
    assert path == store.images_dir / digest[:2] / f"{digest}.jpg"
    assert path.read_bytes() == data
    session = Session(title="pic")
    session.messages = [Message(Role.USER, "look", images=[
        ImageAttachment(digest, "image/jpeg", 2, 2)])]
    store.create_session(session)
    store.close()
    for name in ("sessions.db", "sessions.db-wal"):
        file = store.db_path.with_name(name)
        if file.exists():
            assert b"PIXELDATA-UNIQUE-MARKER" not in file.read_bytes()
    with pytest.raises(StoreError, match="missing"):
        SessionStore(store.data_dir).image_path("cd" * 32)
    with pytest.raises(StoreError, match="not a SHA-256"):
        SessionStore(store.data_dir).image_path("../../etc/passwd")


def test_write_error_on_a_read_only_connection(store: SessionStore) -> None:
    session = Session(title="ro")
    store.save_session(session)
    store._conn.execute("PRAGMA query_only = 1")
    with pytest.raises(StoreWriteError) as caught:
        store.append_message(session.id, Message(Role.USER, "lost?"))
    assert caught.value.path == store.db_path
    assert "readonly" in caught.value.reason
    store._conn.execute("PRAGMA query_only = 0")
    assert store.count_messages(session.id) == 0


# --- schema upgrades ------------------------------------------------------------------------

V1_BY_HAND = """
CREATE TABLE sessions (
    num INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    server_profile TEXT NOT NULL DEFAULT 'default', model TEXT NOT NULL DEFAULT '',
    system_prompt TEXT NOT NULL DEFAULT '', sampling TEXT NOT NULL DEFAULT '{}',
    tools TEXT NOT NULL DEFAULT '[]', tool_choice TEXT, stream INTEGER NOT NULL DEFAULT 1);
CREATE INDEX sessions_by_update ON sessions(updated_at, num);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    position INTEGER NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL DEFAULT '',
    images TEXT NOT NULL DEFAULT '[]', tool_calls TEXT NOT NULL DEFAULT '[]',
    tool_call_id TEXT, name TEXT, status TEXT NOT NULL DEFAULT 'complete', error TEXT,
    created_at REAL NOT NULL, UNIQUE (session_id, position));
INSERT INTO sessions (id, title, created_at, updated_at, model, sampling)
    VALUES ('0123abcd', 'Old chat about zebras', 10.0, 20.0, 'glm-4',
            '{"temperature": 0.5, "top_p": 0.7, "stop": ["x"]}');
INSERT INTO messages (session_id, position, role, content, created_at)
    VALUES ('0123abcd', 0, 'user', 'How fast do giraffes run?', 11.0);
INSERT INTO messages (session_id, position, role, content, status, created_at)
    VALUES ('0123abcd', 1, 'assistant', 'About 60 km/h.', 'complete', 12.0);
PRAGMA user_version = 1;
"""


def test_upgrade_from_a_version_1_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "sessions.db")
    conn.executescript(V1_BY_HAND)
    conn.close()

    store = SessionStore(data)
    try:
        assert store._user_version() == SCHEMA_VERSION == 6
        session = store.load_session("0123abcd")
        assert session.title == "Old chat about zebras"
        assert session.sampling == SamplingParams(temperature=0.5, top_p=0.7, stop=("x",))
        assert [m.content for m in session.messages] == [
            "How fast do giraffes run?", "About 60 km/h."]
        assert session.messages[1].usage is None
        # The version 2 additions work on the old rows: search was back-filled...
        assert store.search("giraffes")[0].message_id == session.messages[0].id
        assert store.search("zebras")[0].message_id is None
        # ...and usage/timings can be stored.
        reply = session.messages[1]
        reply.usage = Usage(5, 7)
        reply.timings = Timings(12.0, 0.2, 0.9)
        # ...and so can reasoning (version 3), which is searchable from then on.
        assert reply.reasoning == "" and reply.reasoning_seconds is None
        reply.reasoning, reply.reasoning_seconds = "Okapis are related to giraffes.", 1.5
        store.update_message(reply)
        assert store.load_session("0123abcd").messages[1] == reply
        assert [(h.message_id, h.in_reasoning) for h in store.search("okapis")] == [
            (reply.id, True)]
        # ...and a draft (version 4).
        store.save_draft("0123abcd", "and elephants?")
        assert store.load_draft("0123abcd") == "and elephants?"
    finally:
        store.close()
    SessionStore(data).close()  # opening an up-to-date database again changes nothing


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "sessions.db")
    conn.execute("CREATE TABLE future (x)")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer glm-tui"):
        SessionStore(data)
    conn = sqlite3.connect(data / "sessions.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
    conn.close()


# --- damaged files --------------------------------------------------------------------------


def test_garbage_file_is_reported_and_moved_aside_intact(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    garbage = b"this is not sqlite at all\n" * 200
    db = data / "sessions.db"
    db.write_bytes(garbage)
    with pytest.raises(StoreCorruptError) as caught:
        SessionStore(data)
    assert caught.value.path == db
    assert str(db) in str(caught.value)
    assert "not a database" in caught.value.reason
    assert db.read_bytes() == garbage  # never overwritten

    moved = SessionStore.move_aside(db)
    assert moved.name.startswith("sessions.db.corrupt-") and moved.read_bytes() == garbage
    assert not db.exists()
    fresh = SessionStore(data)
    assert fresh.count_sessions() == 0
    fresh.close()
    assert moved.read_bytes() == garbage


def test_truncated_file_is_reported(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = SessionStore(data)
    for i in range(40):
        session = Session(title=f"s{i}")
        session.messages = [Message(Role.USER, "x" * 2000)]
        store.create_session(session)
    store.close()
    db = data / "sessions.db"
    assert not (data / "sessions.db-wal").exists()
    full = db.read_bytes()
    db.write_bytes(full[: len(full) // 2])
    with pytest.raises(StoreCorruptError) as caught:
        SessionStore(data)
    assert "truncated" in caught.value.reason and caught.value.path == db
    moved = SessionStore.move_aside(db)
    assert moved.read_bytes() == full[: len(full) // 2]


def test_move_aside_takes_wal_and_shm_along_and_never_clobbers(tmp_path: Path) -> None:
    db = tmp_path / "sessions.db"
    db.write_bytes(b"garbage 1")
    Path(f"{db}-wal").write_bytes(b"wal 1")
    first = SessionStore.move_aside(db)
    assert Path(f"{first}-wal").read_bytes() == b"wal 1"
    db.write_bytes(b"garbage 2")
    second = SessionStore.move_aside(db)
    assert second != first
    assert first.read_bytes() == b"garbage 1" and second.read_bytes() == b"garbage 2"


# --- two writers ----------------------------------------------------------------------------


def _write_many(store: SessionStore, tag: str, count: int) -> None:
    for i in range(count):
        session = Session(title=f"{tag} {i}")
        store.save_session(session)
        for j in range(3):
            store.append_message(session.id, Message(Role.USER, f"{tag} says {j}"))


def test_two_stores_in_one_process_write_at_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    one, two = SessionStore(data), SessionStore(data)
    threads = [threading.Thread(target=_write_many, args=(s, tag, 40))
               for s, tag in ((one, "alpha"), (two, "beta"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert one.count_sessions("alpha") == 40 and one.count_sessions("beta") == 40
    assert two.count_sessions() == 80
    assert len(two.search("alpha says")) == 100  # limit; there are 120 matches
    assert one._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    one.close()
    two.close()


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    SessionStore(data).close()
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from glm_tui.model.session import Message, Role, Session
        from glm_tui.storage.store import SessionStore
        store = SessionStore(Path({str(data)!r}))
        print("ready", flush=True)
        sys.stdin.readline()  # start together
        tag = sys.argv[1]
        for i in range(60):
            session = Session(title=f"{{tag}} {{i}}")
            store.save_session(session)
            for j in range(3):
                store.append_message(session.id, Message(Role.USER, f"{{tag}} line {{j}}"))
        store.close()
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, tag], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for tag in ("procA", "procB")]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    store = SessionStore(data)
    try:
        assert store.count_sessions("procA") == 60 and store.count_sessions("procB") == 60
        for summary in store.list_sessions(limit=500):
            assert summary.message_count == 3
        assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        store.close()


def test_each_store_sees_the_other_ones_sessions_on_refresh(tmp_path: Path) -> None:
    data = tmp_path / "data"
    one, two = SessionStore(data), SessionStore(data)
    first = Session(title="from one")
    one.save_session(first)
    assert [s.title for s in two.list_sessions()] == ["from one"]
    time.sleep(0.01)
    second = Session(title="from two")
    two.save_session(second)
    two.append_message(second.id, Message(Role.USER, "hello from two"))
    assert [s.title for s in one.list_sessions()] == ["from two", "from one"]
    assert one.search("hello from")[0].session_id == second.id
    one.close()
    two.close()


def test_checkpoints_happen_off_the_writing_thread(store: SessionStore) -> None:
    session = Session(title="big")
    store.save_session(session)
    wal = Path(f"{store.db_path}-wal")
    for i in range(12):
        store.append_message(session.id, Message(Role.ASSISTANT, f"{i} " + "y" * 1_000_000))
    deadline = time.monotonic() + 60
    while store._checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store._checkpointer.checkpoints >= 1 and store._checkpointer.last_error is None
    assert store.db_path.stat().st_size > 4_000_000  # pages reached the database file
    assert wal.exists()
    assert store.count_messages(session.id) == 12
    assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_search_that_the_index_cannot_narrow_stops_at_its_time_budget(
    store: SessionStore,
) -> None:
    session = Session(title="many")
    session.messages = [Message(Role.USER, f"line {i} of text") for i in range(3000)]
    session.messages[0].content = "the oldest says zq here"
    store.create_session(session)
    assert store.search("zq", time_budget=0.0) == []
    assert store.last_search_complete is False
    hits = store.search("zq")
    assert store.last_search_complete is True
    assert [h.message_id for h in hits] == [session.messages[0].id]
