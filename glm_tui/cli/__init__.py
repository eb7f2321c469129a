"""The command line: the app (default), ``serve-demo``, ``ask``, ``sessions`` and ``mcp``.

Parsing must stay fast (``glm-tui --help`` is typed while learning the tool), so this module
imports only ``argparse`` at the top; settings, the demo server, the app (textual) and the client
(openai) are imported by the command that needs them, after the arguments are known.

Every command returns its exit status from :func:`main`: 0 success, 1 a runtime failure (server
unreachable, ...), 2 a usage or configuration error (argparse's convention, and what a broken
config file gives).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from glm_tui import __version__
from glm_tui.cli.ask import run_ask, settings_from_args
from glm_tui.cli.ask_args import EXIT_USAGE, add_ask_parser

RESUME_LATEST = "last"
"""The value of ``--resume`` given without an id: reopen the most recently updated session
(what ``glm_tui.ui.app`` looks for; a session id is hex, so it cannot collide)."""


def build_parser() -> argparse.ArgumentParser:
    """The full parser: the app's options and every command."""
    parser = argparse.ArgumentParser(
        prog="glm-tui",
        description="A full-screen terminal chat client for GLM-4 / GLM-4V and any "
        "OpenAI-compatible server. Without a command it opens the chat.",
        epilog="Configuration: config.toml in the platform's config directory (see --config). "
        "Precedence: flags > environment (OPENAI_BASE_URL, OPENAI_API_KEY, GLM_TUI_CONFIG, "
        "GLM_TUI_DATA_DIR) > config file > defaults.",
    )
    parser.add_argument("--version", action="version", version=f"glm-tui {__version__}")
    parser.add_argument("--demo", action="store_true",
                        help="chat with the built-in demo server (no model needed)")
    parser.add_argument("--server", metavar="NAME", default=None,
                        help="the server profile to use ([servers.NAME] in the config file)")
    parser.add_argument("--base-url", metavar="URL", default=None,
                        help="the server's base URL (default http://127.0.0.1:8000/v1/)")
    parser.add_argument("--api-key", metavar="KEY", default=None,
                        help="the api key to send (default EMPTY)")
    parser.add_argument("--model", metavar="M", default=None,
                        help="the model name to request (default glm-4)")
    _add_location_options(parser, default=None)
    parser.add_argument("--resume", metavar="ID", nargs="?", const=RESUME_LATEST, default=None,
                        help="reopen a saved session (the most recent one without an ID)")

    locations = argparse.ArgumentParser(add_help=False)
    _add_location_options(locations, default=argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_serve_demo_parser(subparsers)
    add_ask_parser(subparsers, [locations])
    from glm_tui.cli.sessions_args import add_sessions_parser  # argparse only; no store import

    add_sessions_parser(subparsers, parents=[locations])
    from glm_tui.cli.mcp_args import add_mcp_parser  # argparse only; no mcp SDK import

    add_mcp_parser(subparsers, parents=[locations])
    return parser


def _add_location_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """``--config`` / ``--data-dir``, accepted before or after a command.

    Subcommands use ``SUPPRESS`` as the default so that a value given before the command is not
    overwritten by the subcommand's own default.
    """
    parser.add_argument("--config", metavar="FILE", type=Path, default=default,
                        help="the config file (default: config.toml in the user config "
                        "directory; env GLM_TUI_CONFIG)")
    parser.add_argument("--data-dir", metavar="DIR", type=Path, default=default,
                        help="where sessions and images are stored (env GLM_TUI_DATA_DIR)")


def _add_serve_demo_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    parser = subparsers.add_parser(
        "serve-demo",
        help="run the demo GLM-4-compatible server",
        description="Run a deterministic GLM-4-compatible (or clean OpenAI) chat server, "
        "for trying glm-tui or the reference client without a model. Binds loopback by default.",
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to bind (default 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=_port, default=8000, help="the port (default 8000)")
    parser.add_argument("--flavor", choices=("glm4", "openai", "vllm", "inline"), default="glm4",
                        help="glm4: the GLM-4 server's frames and quirks; openai: clean frames, "
                        "thinking models (glm-4.6, glm-5) send reasoning_content; vllm: as openai "
                        "from vLLM, reasoning in 'reasoning'; inline: <think> tags in the content")
    parser.add_argument("--token-rate", metavar="N", type=_positive_float, default=None,
                        help="tokens per second to stream (default: the demo server's pace)")
    parser.add_argument("--log-requests", metavar="FILE", type=Path, default=None,
                        help="append each request body received as one JSON line")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (0-65535)")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``glm-tui`` script and ``python -m glm_tui``; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command == "serve-demo":
        return _serve_demo(args)
    if args.command == "ask":
        return run_ask(args)
    if args.command == "sessions":
        from glm_tui.cli.output import quiet_on_broken_pipe
        from glm_tui.cli.sessions import run_sessions
        from glm_tui.settings.config import resolve_data_dir

        return quiet_on_broken_pipe(lambda: run_sessions(args, resolve_data_dir(args.data_dir)))
    if args.command == "mcp":
        from glm_tui.cli.mcp import run_mcp

        return run_mcp(args)
    return _run_app(args)


def _serve_demo(args: argparse.Namespace) -> int:
    from glm_tui.demo.server import run_demo_server

    pace = {} if args.token_rate is None else {"token_rate": args.token_rate}
    return int(run_demo_server(host=args.host, port=args.port, flavor=args.flavor,
                               log_requests=args.log_requests, **pace))


def _run_app(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if settings is None:
        return EXIT_USAGE
    from glm_tui.ui.app import run_app

    return int(run_app(settings, demo=args.demo, resume=args.resume, demo_model=args.model))
