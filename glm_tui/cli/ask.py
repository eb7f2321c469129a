"""``glm-tui ask PROMPT``: one question, the reply streamed to stdout, for scripts and pipes.

stdout carries the model's text exactly as it arrived (or, with ``--json``, the final message
object), so that ``glm-tui ask ... > answer.md`` is the answer and nothing else. Everything meant
for the person (warnings, errors, notes such as why a reply is not streamed, tool calls in text
mode) goes to stderr. Exit status: 0 for a reply, 1 when the server or the connection failed
(any text already printed stays printed) or sent pieces of the reply that could not be read (the
text may be incomplete; stderr says how many), 2 for a usage or configuration error, 130 when
interrupted with Ctrl+C.

Only when stdout is a terminal is the text passed through the display sanitiser, so that a reply
cannot move the cursor, retitle the window or plant a hyperlink; a pipe gets the bytes unchanged.

A thinking model's reasoning is not the answer: it streams to stderr as it arrives (sanitised and
dimmed on a terminal, exact on a pipe), or nowhere with ``--no-thinking-output``; ``--json``
carries it as ``reasoning_content`` instead of streaming it. A reply that was all thinking (it
ended before any answer) says so on stderr and exits 1. ``--thinking on|off`` sets the switch, sent
in the server kind's own field; when the profile does not say what the server is, ``ask`` asks
``/v1/models`` first so that a vLLM or SGLang server is recognised.
Every other line (tool calls, server errors, warnings) is written through
:mod:`glm_tui.cli.output`, which applies the same rule to the stream it goes to.

The turn itself is the app's (:mod:`glm_tui.chat.turn`): the same request for the same session,
the same kind decision, error words and raw-call adoption. Heavy imports (the client, and through
it ``openai``) happen inside :func:`run_ask`, never at module import, because the CLI imports
this module to build ``--help``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_tui.cli.output import StreamWriter, emit, error, quiet_on_broken_pipe

if TYPE_CHECKING:
    from glm_tui.chat.image_prep import PreparedImage
    from glm_tui.chat.reply_tracker import ReplyStats
    from glm_tui.chat.request import ImageLoader
    from glm_tui.chat.turn import Link, PreparedTurn, TurnOutcome
    from glm_tui.model.server_kind import ServerKind
    from glm_tui.model.session import Session, ToolCall
    from glm_tui.settings.config import Settings

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
EXIT_INTERRUPTED = 130

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
        "status 1 for a server or connection error, 2 for a usage or config error. On a pipe or "
        "in a file the reply is byte-exact; on a terminal, control characters and escape "
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
    parser.add_argument("--image", metavar="FILE", type=Path, action="append", default=None,
                        help="attach a picture to the question (repeatable); it is sent as a "
                        "JPEG shrunk to the config's [images] limits, the file is not changed")
    parser.add_argument("--no-stream", action="store_true",
                        help="ask for the whole reply at once instead of streaming")
    parser.add_argument("--json", action="store_true",
                        help='print the final message as JSON: {"role", "content", '
                        '"tool_calls"}, with "reasoning_content" when the model thought')
    parser.add_argument("--thinking", choices=("on", "off"), default=None,
                        help="turn a thinking model's reasoning on or off (default: the config's "
                        "[sampling], else the server decides)")
    parser.add_argument("--no-thinking-output", action="store_true",
                        help="do not print a thinking model's reasoning (by default it goes to "
                        "stderr, dimmed on a terminal)")
    parser.add_argument("--demo", action="store_true", default=keep,
                        help="ask the built-in demo server (started in-process on loopback)")
    return parser


def run_ask(args: argparse.Namespace) -> int:
    """Run ``ask`` with parsed arguments; returns the exit status."""
    try:
        return quiet_on_broken_pipe(lambda: _ask(args))
    except KeyboardInterrupt:
        emit("\nglm-tui: interrupted", stream=sys.stderr)
        return EXIT_INTERRUPTED


def settings_from_args(args: argparse.Namespace) -> Settings | None:
    """The settings the location flags ask for, or ``None`` after printing why they are unusable.

    Shared by ``ask`` and the app (``glm_tui.cli`` imports it from here: this module is already
    imported to build ``--help``, and cannot import the CLI back) so both word a broken config
    file the same way. Warnings are not printed here: ``ask`` prints them, the app shows them.
    """
    from glm_tui.settings.config import SettingsError, load_settings

    try:
        return load_settings(
            config_path=args.config, data_dir=args.data_dir, server=args.server,
            base_url=args.base_url, api_key=args.api_key, model=args.model,
        )
    except SettingsError as exc:
        error(f"error: {exc}")
        return None


def _ask(args: argparse.Namespace) -> int:
    from glm_tui.model.sampling import SamplingError, parse_field, parse_thinking

    # From stdin, the newline that ends the last line (`echo ... |`) is not part of the question.
    prompt = sys.stdin.read().rstrip("\r\n") if args.prompt == "-" else str(args.prompt)
    if not prompt.strip():
        return _usage_error("the prompt is empty; nothing was sent")
    overrides: dict[str, Any] = {}
    for flag, name in SAMPLING_FLAGS:
        text = getattr(args, name, None)
        if text is None:
            continue
        try:
            overrides[name] = parse_field(name, text)
        except SamplingError as exc:
            return _usage_error(f"{flag}: {exc.reason}")
    if args.thinking is not None:
        overrides["thinking"] = parse_thinking(args.thinking)
    try:
        tools = _load_tools(args.tools) if args.tools is not None else []
    except ValueError as exc:
        return _usage_error(f"--tools {args.tools}: {exc}")
    if args.demo and (args.base_url is not None or args.server is not None):
        return _usage_error("--demo asks the built-in demo server; drop --base-url / --server")
    settings = settings_from_args(args)
    if settings is None:
        return EXIT_USAGE
    for warning in settings.warnings:
        error(f"warning: {warning}")

    try:
        pictures = _prepare_images(args.image or [], settings)
    except ValueError as exc:
        return _usage_error(f"{exc}; nothing was sent")
    session, kind = _session(settings, prompt, args, overrides, tools)
    loader = _attach(session, pictures)
    shown = _Shown(json_mode=args.json, thinking=not args.no_thinking_output)
    if args.demo:
        return _ask_demo(settings, session, kind, loader, shown)
    profile = settings.profile
    return _run(settings, profile.base_url, profile.api_key, session, kind, loader, shown,
                detect=profile.kind is None)


def _prepare_images(paths: Sequence[Path], settings: Settings) -> list[PreparedImage]:
    """Each ``--image`` normalised as the app does it; the first bad one stops everything.

    Raises ValueError (an :class:`~glm_tui.chat.image_prep.ImagePrepError`) in plain words.
    What was changed on the way (downscaled, first frame only) is said on stderr.
    """
    if not paths:
        return []
    from glm_tui.chat.image_prep import prepare_image

    prepared = []
    for path in paths:
        picture = prepare_image(path, settings.images)
        for note in picture.notes:
            error(f"{picture.name}: {note}")
        prepared.append(picture)
    return prepared


def _attach(session: Session, pictures: Sequence[PreparedImage]) -> ImageLoader | None:
    """Put the pictures on the question; ``ask`` keeps no sessions, so they stay in memory."""
    if not pictures:
        return None
    from glm_tui.chat.attachments import images_in_memory

    attachments, loader = images_in_memory(pictures)
    session.messages[-1].images = attachments
    return loader


def _session(
    settings: Settings,
    prompt: str,
    args: argparse.Namespace,
    overrides: dict[str, Any],
    tools: list[dict[str, Any]],
) -> tuple[Session, ServerKind]:
    """The one-question session ``ask`` sends, as the app would hold it, and its server kind.

    The kind is decided by the same function as the app's (``resolve_kind``), without asking
    ``/v1/models`` first: one question does not justify the round trip. ``--demo`` is the
    built-in demo server, configured as GLM-4 as in the app.
    """
    from dataclasses import replace

    from glm_tui.model.server_kind import ServerKind, resolve_kind
    from glm_tui.model.session import Message, Role, Session

    profile = settings.profile
    # The demo server answers as GLM-4 or GLM-4V by model: pictures go to its vision model.
    demo_model = "glm-4v" if args.image else "glm-4"
    model = args.model if args.model is not None else (demo_model if args.demo else profile.model)
    session = Session(
        server_profile=profile.name,
        model=model,
        system_prompt=args.system or "",
        sampling=replace(settings.sampling, **overrides),
        tools=tools,
        tool_choice="auto" if tools else None,
        stream=settings.stream and not args.no_stream,
        messages=[Message(Role.USER, prompt)],
    )
    if args.demo:
        kind = resolve_kind(ServerKind.GLM4, "", model)
    else:
        kind = resolve_kind(profile.kind, profile.base_url, model)
    return session, kind


def _load_tools(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot be read: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"is not valid JSON: {exc}") from None
    entries = data if isinstance(data, list) else [data]
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise ValueError(f"entry {index} is not a tool object with a \"type\"")
    return entries


class _Shown:
    """What ``ask`` prints besides the answer: the JSON message, the reasoning."""

    def __init__(self, *, json_mode: bool, thinking: bool) -> None:
        self.json_mode = json_mode
        self.thinking = thinking


def _ask_demo(settings: Settings, session: Session, kind: ServerKind,
              loader: ImageLoader | None, shown: _Shown) -> int:
    from glm_tui.demo.server import DemoServer

    server = DemoServer(flavor="glm4")
    url = server.start()
    try:
        return _run(settings, url, "EMPTY", session, kind, loader, shown, detect=False)
    finally:
        server.stop()


def _run(settings: Settings, base_url: str, api_key: str, session: Session, kind: ServerKind,
         loader: ImageLoader | None, shown: _Shown, *, detect: bool) -> int:
    import asyncio

    from glm_tui.chat.turn import prepare_turn
    from glm_tui.model.server_kind import ServerKind

    if detect and session.sampling.thinking is not None and kind is ServerKind.GENERIC:
        # The switch goes in a field that depends on the server: worth one /v1/models.
        kind = asyncio.run(_detected_kind(settings, base_url, api_key, session.model))
    json_mode = shown.json_mode
    prepared = prepare_turn(session, kind, image_loader=loader)
    if prepared.refusal:
        return _usage_error(prepared.refusal)
    for note in prepared.notes:
        error(note)
    for warning in prepared.warnings:
        error(f"warning: {warning.message}")
    stdout = sys.stdout
    sanitize: Callable[[str], str] | None = None
    if stdout.isatty():
        from glm_tui.model.text import sanitize_for_display

        sanitize = sanitize_for_display
    thinking = _reasoning_writer(enabled=shown.thinking and not json_mode)
    writer = StreamWriter(stdout, sanitize, enabled=not json_mode, before_first=thinking.finish)
    # A reader that goes away (`| head`) raises BrokenPipeError here; run_ask's
    # quiet_on_broken_pipe ends the command quietly, as other Unix tools do.
    return asyncio.run(_stream(settings, base_url, api_key, prepared,
                               _AskView(writer, thinking), json_mode))


def _reasoning_writer(*, enabled: bool) -> StreamWriter:
    """Where the reasoning goes: stderr, sanitised and dimmed when that is a terminal."""
    from glm_tui.cli.output import dimmed, is_terminal

    stderr = sys.stderr
    if is_terminal(stderr):
        from glm_tui.model.text import sanitize_for_display

        return StreamWriter(stderr, sanitize_for_display, enabled=enabled, style=dimmed)
    return StreamWriter(stderr, None, enabled=enabled)


async def _detected_kind(settings: Settings, base_url: str, api_key: str,
                         model: str) -> ServerKind:
    """The kind ``/v1/models`` gives away (vLLM, SGLang by their owned_by); generic when the
    list cannot be had (the request itself then reports the connection)."""
    from glm_tui.client.client import ChatClient
    from glm_tui.client.errors import ClientError
    from glm_tui.model.server_kind import ServerKind, detect_kind, resolve_kind

    client = ChatClient(base_url, api_key, connect_timeout=settings.connect_timeout,
                        read_timeout=settings.read_timeout)
    try:
        models = await client.list_models()
    except ClientError:
        return ServerKind.GENERIC
    finally:
        await client.aclose()
    detected = detect_kind(models, base_url, model, owners=client.model_owners)
    return resolve_kind(None, base_url, model, detected)


async def _stream(
    settings: Settings,
    base_url: str,
    api_key: str,
    prepared: PreparedTurn,
    view: _AskView,
    json_mode: bool,
) -> int:
    """Run the turn as the app does; the reply text goes to stdout as it arrives."""
    from glm_tui.chat.turn import Turn
    from glm_tui.client.client import ChatClient
    from glm_tui.model.session import Message, MessageStatus, Role

    client = ChatClient(base_url, api_key, connect_timeout=settings.connect_timeout,
                        read_timeout=settings.read_timeout)

    async def connect() -> ChatClient:
        return client

    turn = Turn(prepared, Message(Role.ASSISTANT, status=MessageStatus.STREAMING),
                save_interval=float("inf"), base_url=base_url)
    writer = view.writer
    try:
        await turn.run(connect, view)
    except BrokenPipeError:
        raise  # the reader went away: run_ask stops quietly
    except Exception:
        pass  # glm-tui's own failure: the turn worded it on the reply, reported below
    finally:
        await client.aclose()
    outcome = turn.outcome
    assert outcome is not None  # run() always leaves one
    reply = outcome.reply
    view.thinking.finish()
    writer.write(outcome.tail)  # a server that buffers may hand the whole text over at the end
    writer.finish()
    if outcome.adopted_note:
        error(outcome.adopted_note)
    if reply.status is MessageStatus.COMPLETE:
        if json_mode:
            _print_json(reply.content, reply.tool_calls, reply.reasoning)
        else:
            _describe_tool_calls(reply.tool_calls)
        if outcome.all_thinking:  # no answer came: not a reply a script can use
            from glm_tui.chat.turn import ALL_THINKING

            error(ALL_THINKING)
            return EXIT_SERVER
        if reply.error:  # the server sent pieces that could not be read: text may be missing
            error(f"error: {reply.error}")
            return EXIT_SERVER
        return EXIT_OK
    error(f"error: {reply.error or 'the reply did not complete'}")
    if outcome.images_refused:
        error(f"the server cannot read images with the model {prepared.session.model}: ask "
              "without --image, or choose a vision model")
    if writer.printed:
        error("the reply was interrupted: the text printed is incomplete")
    return EXIT_SERVER


class _AskView:
    """``ask``'s :class:`~glm_tui.chat.turn.TurnView`: text to stdout, reasoning to stderr."""

    def __init__(self, writer: StreamWriter, thinking: StreamWriter) -> None:
        self.writer = writer
        self.thinking = thinking
        self.text: Callable[[str], None] = writer.write
        self.reasoning: Callable[[str], None] = thinking.write

    def answer_was_reasoning(self, text: str) -> None:
        """What was printed as the answer was thinking: it cannot be taken back, so say so."""
        if self.writer.printed:
            self.writer.finish()
            error("the text above was the model's thinking (it ended with </think> only then); "
                  "the answer follows")

    def state(self) -> None:
        pass

    def link(self, state: Link, detail: str) -> None:
        pass

    def stats(self, stats: ReplyStats) -> None:
        pass

    def save(self) -> None:
        pass

    def finished(self, outcome: TurnOutcome) -> None:
        pass


def _print_json(text: str, tool_calls: Sequence[ToolCall], reasoning: str) -> None:
    from glm_tui.chat.export import json_text  # C1 and bidi escaped too: safe to print as is

    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if (tool_calls and not text) else text,
    }
    if reasoning:  # only when the model thought: a plain reply's JSON is as it always was
        message["reasoning_content"] = reasoning
    message["tool_calls"] = [call.to_openai() for call in tool_calls]
    emit(json_text(message))
    sys.stdout.flush()


def _describe_tool_calls(tool_calls: Sequence[ToolCall]) -> None:
    """In text mode a tool call is not reply text: tell the person on stderr how to get it."""
    for call in tool_calls:
        error(f"the model called the tool {call.name} with {call.arguments} "
              "(use --json to get the call as data)")


def _usage_error(message: str) -> int:
    emit(f"glm-tui ask: error: {message}", stream=sys.stderr)
    return EXIT_USAGE
