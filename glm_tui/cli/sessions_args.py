"""The ``sessions`` sub-commands' arguments, apart from the commands themselves.

The main parser is built at every start of the app (and for ``--help``); importing the commands
(:mod:`glm_tui.cli.sessions`) would bring the exporter, the importer and the store along.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from glm_tui.chat.export_formats import EXPORT_FORMATS


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
