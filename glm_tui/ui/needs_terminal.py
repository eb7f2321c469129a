"""Whether the full-screen app can run here: it needs a terminal to read keys from and draw on.

Started from a script, a cron job, an editor's "run" button or with its output piped
(``glm-tui | less``), the app would draw escape codes into a pipe, read no keys, and spin until
killed. Refusing at once, with the command meant for that use (``glm-tui ask``), is what a
person can act on. The other commands (``ask``, ``sessions``, ``serve-demo``) are made for pipes
and never ask this. ``run_app`` asks it last, after every configuration error has been said (a
broken config file is worth fixing whatever the terminal). Plain Python: no Textual here.
"""

from __future__ import annotations

from typing import TextIO

EXIT_NO_TERMINAL = 2
"""A usage error (argparse's convention): the same command works when run from a terminal."""


def _is_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):  # a closed or detached stream
        return False


def missing_terminal(stdin: TextIO | None, stdout: TextIO | None) -> str | None:
    """Why the app cannot start on these streams, for standard error; ``None`` when it can."""
    missing = [name for name, stream in (("standard input", stdin), ("standard output", stdout))
               if not _is_terminal(stream)]
    if not missing:
        return None
    which = " and ".join(missing)
    verb = "is" if len(missing) == 1 else "are"
    return (f"glm-tui: the chat app needs a terminal, but {which} {verb} not one. "
            "From a script or a pipe, ask one question at a time with: "
            "glm-tui ask \"your question\" (or glm-tui ask - to read it from standard input); "
            "see glm-tui ask --help.")
