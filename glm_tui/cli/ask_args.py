"""The arguments of ``glm-tui ask`` and its exit statuses, apart from the command.

Building the command line happens at every start, so this module imports only ``argparse``; the
command itself is :mod:`glm_tui.cli.ask`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

# Flag -> SamplingParams field; values are parsed with core.sampling.parse_field.
SAMPLING_FLAGS: tuple[tuple[str, str], ...] = (
    ("--temperature", "temperature"),
    ("--top-p", "top_p"),
    ("--presence-penalty", "presence_penalty"),
    ("--max-tokens", "max_tokens"),
)

EXIT_OK = 0
EXIT_SERVER = 1
EXIT_USAGE = 2
EXIT_CUT = 3
EXIT_NOT_ALLOWED = 4
"""The model called an MCP tool that no ``--allow-tool`` names: the call is printed, not run."""
EXIT_INTERRUPTED = 130

MAX_TOOL_ROUNDS = 10
"""``ask --mcp``: rounds of tool calls run before ``ask`` stops asking the model again."""


def add_ask_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add the ``ask`` subcommand. Options also given before ``ask`` are not overwritten."""
    parser = subparsers.add_parser(
        "ask",
        parents=parents,
        help="ask one question and print the reply (for scripts)",
        description="Ask one question and stream the reply to stdout. Errors go to stderr; exit "
        "status 1 for a server or connection error (an MCP server that fails too), 2 for a "
        "usage or config error, 3 when the reply was cut short by the token limit (max_tokens; "
        f"stderr says so), {EXIT_NOT_ALLOWED} when the model called an MCP tool that no "
        "--allow-tool names (the call is printed on stderr, and in the JSON with --json, and "
        "not run). On a pipe or "
        "in a file the reply is byte-exact, followed by a newline unless it ends with one "
        "(--json for the exact text); on a terminal, control characters and escape "
        "sequences in it (and in tool calls and server messages) are shown as visible stand-ins "
        "instead of being acted on.",
    )
    parser.add_argument("prompt", metavar="PROMPT",
                        help="the question; '-' reads it from standard input")
    parser.add_argument("--system", metavar="TEXT", default=None, help="a system prompt")
    keep = argparse.SUPPRESS
    parser.add_argument("--server", metavar="NAME", default=keep,
                        help="the server profile from the config file")
    parser.add_argument("--base-url", metavar="URL", default=keep, help="the server's base URL")
    parser.add_argument("--api-key", metavar="KEY", default=keep, help="the api key to send")
    parser.add_argument("--model", metavar="M", default=keep, help="the model name to request")
    for flag, name in SAMPLING_FLAGS:
        parser.add_argument(flag, dest=name, metavar="N", default=None,
                            help=f"{name} for this request (default: the config's [sampling])")
    parser.add_argument("--tools", metavar="FILE", type=Path, default=None,
                        help="a JSON file with OpenAI tool entries (a list, or one entry); "
                        "the model may call them (tool_choice auto)")
    parser.add_argument("--mcp", metavar="NAME", action="append", default=None,
                        help="offer the tools of the MCP server NAME ([mcp_servers.NAME] in the "
                        "config; repeatable). A call runs only when --allow-tool names it; the "
                        f"model's reply to the results follows (at most {MAX_TOOL_ROUNDS} rounds "
                        "of calls)")
    parser.add_argument("--allow-tool", metavar="NAME", action="append", default=None,
                        help="let calls of this MCP tool run (repeatable): the name sent to the "
                        "model, or SERVER/TOOL. A call of any other MCP tool is printed, not "
                        f"run, and ask exits with status {EXIT_NOT_ALLOWED}")
    parser.add_argument("--image", metavar="FILE", type=Path, action="append", default=None,
                        help="attach a picture to the question (repeatable); it is sent as a "
                        "JPEG shrunk to the config's [images] limits, the file is not changed")
    parser.add_argument("--no-stream", action="store_true",
                        help="ask for the whole reply at once instead of streaming")
    parser.add_argument("--json", action="store_true",
                        help='print the final message as JSON: {"role", "content", '
                        '"tool_calls"}, with "reasoning_content" when the model thought and '
                        '"not_allowed" (each MCP call not run: id, name, server, tool, '
                        f'arguments) with exit status {EXIT_NOT_ALLOWED}')
    parser.add_argument("--thinking", choices=("on", "off"), default=None,
                        help="turn a thinking model's reasoning on or off (default: the config's "
                        "[sampling], else the server decides)")
    parser.add_argument("--no-thinking-output", action="store_true",
                        help="do not print a thinking model's reasoning (by default it goes to "
                        "stderr, dimmed on a terminal)")
    parser.add_argument("--demo", action="store_true", default=keep,
                        help="ask the built-in demo server (started in-process on loopback)")
    return parser
