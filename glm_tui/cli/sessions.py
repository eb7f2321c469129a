"""``glm-tui sessions ...``: list, export, import and delete saved sessions without the UI.

Kept apart from ``cli.py`` so the main command line only wires it in (its arguments are in
:mod:`glm_tui.cli.sessions_args`, light to import): ``run_sessions`` runs one sub-command and
returns the exit status. Output for people goes to
stdout, every error to stderr as one plain sentence, with a non-zero status.

Titles, model names and stored replies came from a model, a server or an imported file, so every
line is written through :mod:`glm_tui.cli.output`: made visible-safe on a terminal, byte-exact on
a pipe or in a file (``sessions export ID > chat.md`` is exactly what ``-o chat.md`` writes,
except for images: ``-o`` writes them into a folder beside the file and links them, while
standard output has no folder beside it, so there each image stays a line naming it and stderr
says how to get the files).

``list`` and ``export`` only read: they open the database read-only and leave the data directory
exactly as it was (no file created, upgraded, checkpointed, deleted or re-permissioned), and they
read what they can from a database damaged inside, saying on stderr what was lost (exit 2).
``import`` and ``delete`` open it for writing, which also makes the history private (said once).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from glm_tui.chat.export import (
    ExportFormat,
    image_folder_name,
    json_text,
    prepare_export,
    write_export,
)
from glm_tui.chat.importing import ImportProblems, read_import, save_import
from glm_tui.cli.output import emit, error, safe_for
from glm_tui.model.session import Session
from glm_tui.storage.private import loose_notice, loose_paths, tightened_notice
from glm_tui.storage.store import SessionStore, SessionSummary, StoreCorruptError, StoreError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DATABASE = 2
"""The database cannot be used, or is damaged and only part of it could be read."""

READ_ONLY_COMMANDS = frozenset({"list", "export"})


def run_sessions(args: argparse.Namespace, data_dir: Path) -> int:
    """Run the chosen ``sessions`` sub-command; returns the process exit status."""
    command = args.sessions_command
    read_only = command in READ_ONLY_COMMANDS
    try:
        store = SessionStore.open_read_only(data_dir) if read_only else SessionStore(data_dir)
    except StoreCorruptError as exc:
        _err(_damaged_advice(exc))
        return EXIT_DATABASE
    except StoreError as exc:
        _err(str(exc))
        return EXIT_DATABASE
    if store is None:
        return _nothing_saved(args, data_dir)
    _say_privacy(store, data_dir)
    for warning in store.warnings:
        _err(f"{store.db_path}: {warning}")
    try:
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


def _damaged_advice(exc: StoreCorruptError) -> str:
    if exc.readable:
        return (f"{exc}\n'glm-tui sessions list' and 'glm-tui sessions export ID -o FILE' still "
                "read what is readable; then start glm-tui to move the file aside.")
    return f"{exc}\nStart glm-tui to move it aside, or move {exc.path} away yourself."


def _nothing_saved(args: argparse.Namespace, data_dir: Path) -> int:
    """A read-only command with no database: nothing was ever saved, and nothing is created."""
    if args.sessions_command == "list":
        return _print_list([], data_dir / "sessions.db", as_json=args.json)
    _err(f"There are no saved sessions in {data_dir}.")
    return EXIT_ERROR


def _say_privacy(store: SessionStore, data_dir: Path) -> None:
    """One line on stderr when history was (or, read-only, still is) readable by others."""
    if store.tightened:
        _err(tightened_notice(store.tightened, data_dir))
    elif store.read_only:
        loose = loose_paths(data_dir)
        if loose:
            _err(loose_notice(loose, data_dir))


def _err(text: str) -> None:
    error(text)


def _list(store: SessionStore, *, as_json: bool) -> int:
    page = 500
    summaries: list[SessionSummary] = []
    offset = 0
    try:
        while True:
            chunk = store.list_sessions(limit=page, offset=offset)
            summaries += chunk
            offset += page
            if len(chunk) < page:
                break
    except StoreCorruptError as exc:
        summaries, lost = store.salvage_summaries()
        _err(f"{exc}\nListed the {len(summaries)} sessions that could be read"
             + (", some could not be." if lost else "."))
        _print_list(summaries, store.db_path, as_json=as_json)
        return EXIT_DATABASE
    return _print_list(summaries, store.db_path, as_json=as_json)


def _print_list(summaries: list[SessionSummary], db_path: Path, *, as_json: bool) -> int:
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
        emit(f"No saved sessions in {db_path}.")
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
    lost = ""
    try:
        session = store.load_session(store.resolve_id(prefix))
    except StoreCorruptError:
        salvaged = store.salvage_session(_resolve_salvaging(store, prefix))
        session, lost = salvaged.session, salvaged.losses()
    export = prepare_export(session, fmt, store, output)
    if output is None:
        emit(export.text, end="")
        images = _image_count(session)
        if fmt == "markdown" and images:
            _err(f"{_count(images, 'image')} not written: Markdown on standard output has no "
                 "folder beside it for image files, so each image is a line naming it. Use -o "
                 "FILE to write them beside FILE and link them, or --format json to embed them.")
    else:
        try:
            write_export(export, output)
        except OSError as exc:
            _err(f"cannot write {exc.filename or output}: {exc.strerror or exc}")
            return EXIT_ERROR
        files = (f", with {_count(len(export.image_files), 'image')} in "
                 f"{output.parent / image_folder_name(output)}" if export.image_files else "")
        emit(f"Exported \"{session.title or session.id}\" to {output}{files}",
             stream=sys.stderr)
    for note in export.notes:
        _err(note)
    if lost:
        _err(f"the session database {store.db_path} is damaged: {lost} of session "
             f"{session.id} could not be read; the {len(session.messages)} readable messages "
             "were exported.")
        return EXIT_DATABASE
    return EXIT_OK


def _image_count(session: Session) -> int:
    return len({image.sha256 for message in session.messages for image in message.images})


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _resolve_salvaging(store: SessionStore, prefix: str) -> str:
    """The full id of ``prefix`` when the id index may be damaged: the ids that can be read."""
    try:
        return store.resolve_id(prefix)
    except StoreCorruptError:
        wanted = prefix.strip()
        ids = [s.id for s in store.salvage_summaries()[0] if s.id.startswith(wanted)]
        if wanted in ids:
            return wanted
        if len(ids) != 1:
            raise StoreError(f"No readable saved session id starts with '{wanted}'"
                             if not ids else f"More than one saved session id starts with "
                             f"'{wanted}'; type more of the id.") from None
        return ids[0]


def _import(store: SessionStore, file: str) -> int:
    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        _err(f"cannot read {file}: {exc.strerror or exc}")
        return EXIT_ERROR
    try:
        imported = read_import(raw, image_stored=store.has_image)
    except ImportProblems as exc:
        _err(f"{file} was not imported:")
        for problem in exc.problems:
            emit(f"  - {problem}", stream=sys.stderr)
        return EXIT_ERROR
    session = save_import(store, imported)  # a copy under a new id when the original is here
    images = f", {_count(len(imported.images), 'image')}" if imported.images else ""
    emit(f"Imported \"{session.title or 'untitled'}\" ({len(session.messages)} messages"
         f"{images}) as {session.id}")
    if imported.left_out:
        _err(f"parts of {file} were left out; the rest was imported:")
        for line in imported.left_out:
            emit(f"  - {line}", stream=sys.stderr)
    return EXIT_OK


def _delete(store: SessionStore, prefix: str) -> int:
    session_id = store.resolve_id(prefix)
    summary = store.load_session(session_id, last=0)
    store.delete_session(session_id)
    emit(f"Deleted \"{summary.title or 'untitled'}\" ({session_id})")
    return EXIT_OK
