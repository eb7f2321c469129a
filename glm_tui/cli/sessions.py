"""``glm-tui sessions ...``: list, export, import and delete saved sessions without the UI.

Kept apart from ``cli.py`` so the main command line only wires it in: ``add_sessions_parser`` adds
the sub-commands, ``run_sessions`` runs one and returns the exit status. Output for people goes to
stdout, every error to stderr as one plain sentence, with a non-zero status.

Titles, model names and stored replies came from a model, a server or an imported file, so every
line is written through :mod:`glm_tui.cli.output`: made visible-safe on a terminal, byte-exact on
a pipe or in a file (``sessions export ID > chat.md`` is exactly what ``-o chat.md`` writes).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from glm_tui.chat.export import EXPORT_FORMATS, ExportFormat, json_text, render
from glm_tui.chat.importing import ImportProblems, import_json
from glm_tui.cli.output import emit, error, safe_for
from glm_tui.model.session import new_session_id
from glm_tui.storage.files import atomic_write
from glm_tui.storage.store import SessionStore, StoreCorruptError, StoreError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DATABASE = 2


def add_sessions_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser] = (),
) -> None:
    """Add ``sessions`` with its sub-commands to the main parser's sub-commands.

    ``parents`` (e.g. the ``--data-dir`` option) are added to every sub-command so that such
    options may also come after ``sessions list``.
    """
    inherited = list(parents)
    parser = subparsers.add_parser(
        "sessions", help="list, export, import or delete saved sessions",
        description="Saved sessions live in sessions.db in the data directory.",
    )
    commands = parser.add_subparsers(dest="sessions_command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", parents=inherited,
                                  help="saved sessions, most recent first")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")

    export = commands.add_parser("export", parents=inherited,
                                 help="write a session as Markdown or JSON")
    export.add_argument("id", metavar="ID", help="session id or a unique start of it")
    export.add_argument("--format", choices=sorted(EXPORT_FORMATS), default="json",
                        help="json (lossless, re-importable; the default) or markdown")
    export.add_argument("-o", "--output", metavar="FILE", type=Path,
                        help="write to FILE instead of standard output")

    importing = commands.add_parser("import", parents=inherited,
                                    help="add a session from a JSON export")
    importing.add_argument("file", metavar="FILE", help="a JSON export ('-' for standard input)")

    delete = commands.add_parser("delete", parents=inherited, help="delete a saved session")
    delete.add_argument("id", metavar="ID", help="session id or a unique start of it")


def run_sessions(args: argparse.Namespace, data_dir: Path) -> int:
    """Run the chosen ``sessions`` sub-command; returns the process exit status."""
    try:
        store = SessionStore(data_dir)
    except StoreCorruptError as exc:
        _err(f"{exc}\nStart glm-tui to move it aside, or move {exc.path} away yourself.")
        return EXIT_DATABASE
    except StoreError as exc:
        _err(str(exc))
        return EXIT_DATABASE
    try:
        command = args.sessions_command
        if command == "list":
            return _list(store, as_json=args.json)
        if command == "export":
            return _export(store, args.id, args.format, args.output)
        if command == "import":
            return _import(store, args.file)
        if command == "delete":
            return _delete(store, args.id)
        _err(f"unknown sessions command {command!r}")
        return EXIT_ERROR
    except StoreError as exc:
        _err(str(exc))
        return EXIT_ERROR
    finally:
        store.close()


def _err(text: str) -> None:
    error(text)


def _list(store: SessionStore, *, as_json: bool) -> int:
    page = 500
    summaries = []
    offset = 0
    while True:
        chunk = store.list_sessions(limit=page, offset=offset)
        summaries += chunk
        offset += page
        if len(chunk) < page:
            break
    if as_json:
        rows = [
            {"id": s.id, "title": s.title, "model": s.model, "updated_at": s.updated_at,
             "updated": _iso(s.updated_at), "message_count": s.message_count,
             "preview": s.preview}
            for s in summaries
        ]
        emit(json_text(rows, indent=2))
        return EXIT_OK
    if not summaries:
        emit(f"No saved sessions in {store.db_path}.")
        return EXIT_OK
    emit(f"{'ID':<12}  {'UPDATED':<16}  {'MSGS':>5}  {'MODEL':<16}  TITLE")
    for s in summaries:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.updated_at))
        title = _one_line(s.title) or "(untitled)"
        model = _one_line(safe_for(sys.stdout, s.model))[:16]  # made safe first: cut what shows
        emit(f"{_one_line(s.id)[:12]:<12}  {when:<16}  {s.message_count:>5}  {model:<16}  {title}")
    return EXIT_OK


def _one_line(text: str) -> str:
    """``text`` with its whitespace (line breaks, tabs) folded to single spaces: one table cell."""
    return " ".join(text.split())


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(epoch))


def _export(store: SessionStore, prefix: str, fmt: ExportFormat, output: Path | None) -> int:
    session = store.load_session(store.resolve_id(prefix))
    text = render(session, fmt)
    if output is None:
        emit(text, end="")
        return EXIT_OK
    try:
        atomic_write(output, text)
    except OSError as exc:
        _err(f"cannot write {output}: {exc.strerror or exc}")
        return EXIT_ERROR
    emit(f"Exported \"{session.title or session.id}\" to {output}", stream=sys.stderr)
    return EXIT_OK


def _import(store: SessionStore, file: str) -> int:
    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        _err(f"cannot read {file}: {exc.strerror or exc}")
        return EXIT_ERROR
    try:
        session = import_json(raw)
    except ImportProblems as exc:
        _err(f"{file} was not imported:")
        for problem in exc.problems:
            emit(f"  - {problem}", stream=sys.stderr)
        return EXIT_ERROR
    if store.has_session(session.id):
        session.id = new_session_id()  # the original is still here: import as a copy
    store.create_session(session)
    emit(f"Imported \"{session.title or 'untitled'}\" ({len(session.messages)} messages) "
         f"as {session.id}")
    return EXIT_OK


def _delete(store: SessionStore, prefix: str) -> int:
    session_id = store.resolve_id(prefix)
    summary = store.load_session(session_id, last=0)
    store.delete_session(session_id)
    emit(f"Deleted \"{summary.title or 'untitled'}\" ({session_id})")
    return EXIT_OK
