"""``glm-tui ask PROMPT``: one question, the reply streamed to stdout, for scripts and pipes.

stdout carries the model's text exactly as it arrived, followed by a newline when the text does
not end with one (or, with ``--json``, the final message object), so that ``glm-tui ask ... >
answer.md`` is the answer and nothing else. Everything meant
for the person (warnings, errors, notes such as why a reply is not streamed, tool calls in text
mode) goes to stderr. Exit status: 0 for a reply, 1 when the server or the connection failed
(any text already printed stays printed) or sent pieces of the reply that could not be read (the
text may be incomplete; stderr says how many), 2 for a usage or configuration error, 3 when the
reply was cut short by the token limit (``finish_reason: "length"``: the text printed is all the
server sent, but not a whole answer; stderr names ``max_tokens``), 4 when the model called an
MCP tool that ``--allow-tool`` does not name (the call is printed, not run), 130 when
interrupted with Ctrl+C. A cut reply gets a status of its own rather than 0 (a script would take
half an answer for the whole) or 1 (that means "try again", while here the remedy is
``--max-tokens``); so does a call not allowed (the remedy is a person's decision).

``--mcp NAME`` offers an MCP server's tools and ``--allow-tool`` says which may run
(:mod:`glm_tui.cli.ask_mcp`); the rounds of calls and replies are :mod:`glm_tui.cli.ask_turns`.

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

from glm_tui.cli.ask_args import EXIT_INTERRUPTED, EXIT_USAGE, SAMPLING_FLAGS
from glm_tui.cli.ask_turns import AskView, Shown, converse, usage_error
from glm_tui.cli.output import StreamWriter, emit, error, quiet_on_broken_pipe

if TYPE_CHECKING:
    from glm_tui.chat.image_prep import PreparedImage
    from glm_tui.chat.request import ImageLoader
    from glm_tui.cli.ask_mcp import AskTools
    from glm_tui.model.server_kind import ServerKind
    from glm_tui.model.session import Session
    from glm_tui.settings.config import Settings


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


def not_utf8(text: str) -> str | None:
    """Where ``text`` holds bytes that were not UTF-8, in words, or None.

    Python hands undecodable bytes of the command line and of standard input over as lone
    surrogates (U+DC80-U+DCFF); sent on, they would fail deep inside the request's JSON encoding.
    """
    for index, char in enumerate(text):
        if "\udc80" <= char <= "\udcff":
            before = text[max(0, index - 12):index]
            after = f" after {before!r}" if before else " at the start"
            return f"byte 0x{ord(char) - 0xDC00:02X}{after}"
        if "\ud800" <= char <= "\udfff":
            return f"a lone surrogate U+{ord(char):04X} at character {index + 1}"
    return None


def _ask(args: argparse.Namespace) -> int:
    from glm_tui.model.sampling import SamplingError, parse_field, parse_thinking

    # From stdin, the newline that ends the last line (`echo ... |`) is not part of the question.
    # Read as bytes: a stray non-UTF-8 byte is then named below whatever the locale (a text
    # stream would raise, or not, depending on it).
    prompt = (sys.stdin.buffer.read().decode("utf-8", "surrogateescape").rstrip("\r\n")
              if args.prompt == "-" else str(args.prompt))
    if not prompt.strip():
        return usage_error("the prompt is empty; nothing was sent")
    for what, text in (("the prompt", prompt), ("--system", args.system or "")):
        problem = not_utf8(text)
        if problem is not None:
            return usage_error(f"{what} is not UTF-8 text ({problem}); nothing was sent. Set "
                               "the terminal, locale or file to UTF-8.")
    overrides: dict[str, Any] = {}
    for flag, name in SAMPLING_FLAGS:
        text = getattr(args, name, None)
        if text is None:
            continue
        try:
            overrides[name] = parse_field(name, text)
        except SamplingError as exc:
            return usage_error(f"{flag}: {exc.reason}")
    if args.thinking is not None:
        overrides["thinking"] = parse_thinking(args.thinking)
    try:
        tools = _load_tools(args.tools) if args.tools is not None else []
    except ValueError as exc:
        return usage_error(f"--tools {args.tools}: {exc}")
    if args.demo and (args.base_url is not None or args.server is not None):
        return usage_error("--demo asks the built-in demo server; drop --base-url / --server")
    if args.allow_tool and not args.mcp:
        return usage_error("--allow-tool names a tool of a server given with --mcp; no --mcp")
    settings = settings_from_args(args)
    if settings is None:
        return EXIT_USAGE
    for warning in settings.warnings:
        error(f"warning: {warning}")
    unknown = [name for name in args.mcp or [] if name not in settings.mcp_servers]
    if unknown:
        from glm_tui.settings.config import display_path

        return usage_error(f"--mcp {unknown[0]}: no [mcp_servers.{unknown[0]}] in "
                            f"{display_path(settings.config_path)}; configured: "
                            f"{', '.join(settings.mcp_servers) or 'none'}")

    try:
        pictures = _prepare_images(args.image or [], settings)
    except ValueError as exc:
        return usage_error(f"{exc}; nothing was sent")
    session, kind = _session(settings, prompt, args, overrides, tools)
    loader = _attach(session, pictures)
    shown = Shown(json_mode=args.json, thinking=not args.no_thinking_output,
                   tools=_ask_tools(settings, args.mcp, args.allow_tool))
    if args.demo:
        return _ask_demo(settings, session, kind, loader, shown)
    profile = settings.profile
    return _run(settings, profile.base_url, profile.api_key, session, kind, loader, shown,
                detect=profile.kind is None)


def _ask_tools(settings: Settings, servers: Sequence[str] | None,
               allow: Sequence[str] | None) -> AskTools | None:
    """The MCP servers ``--mcp`` names (``None`` without any): nothing of MCP loads otherwise."""
    if not servers:
        return None
    from glm_tui.cli.ask_mcp import AskTools

    profiles = {name: settings.mcp_servers[name] for name in dict.fromkeys(servers)}
    return AskTools(profiles, settings.data_dir / "logs", allow or [])


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
    built-in demo server, configured as in the app (GLM-4's server; vLLM for a thinking model).
    """
    from dataclasses import replace

    from glm_tui.model.server_kind import demo_kind, resolve_kind
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
        from glm_tui.demo.thinking import built_in_flavor

        kind = resolve_kind(demo_kind(built_in_flavor(model)), "", model)
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


def _ask_demo(settings: Settings, session: Session, kind: ServerKind,
              loader: ImageLoader | None, shown: Shown) -> int:
    from glm_tui.demo.server import DemoServer
    from glm_tui.demo.thinking import built_in_flavor

    server = DemoServer(flavor=built_in_flavor(session.model))
    url = server.start()
    try:
        return _run(settings, url, "EMPTY", session, kind, loader, shown, detect=False)
    finally:
        server.stop()


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


def _run(settings: Settings, base_url: str, api_key: str, session: Session, kind: ServerKind,
         loader: ImageLoader | None, shown: Shown, *, detect: bool) -> int:
    import asyncio

    from glm_tui.model.server_kind import ServerKind

    if detect and session.sampling.thinking is not None and kind is ServerKind.GENERIC:
        # The switch goes in a field that depends on the server: worth one /v1/models.
        kind = asyncio.run(_detected_kind(settings, base_url, api_key, session.model))
    stdout = sys.stdout
    sanitize: Callable[[str], str] | None = None
    if stdout.isatty():
        from glm_tui.model.text import sanitize_for_display

        sanitize = sanitize_for_display
    json_mode = shown.json_mode
    thinking = _reasoning_writer(enabled=shown.thinking and not json_mode)
    writer = StreamWriter(stdout, sanitize, enabled=not json_mode)
    # A reader that goes away (`| head`) raises BrokenPipeError here; run_ask's
    # quiet_on_broken_pipe ends the command quietly, as other Unix tools do.
    return asyncio.run(converse(settings, base_url, api_key, session, kind, loader,
                                 AskView(writer, thinking), shown))


