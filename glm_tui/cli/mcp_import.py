"""Other MCP clients' server lists read as glm-tui profiles (``glm-tui mcp import FILE``).

Claude Desktop, Cursor, Claude Code and Windsurf keep their servers under ``"mcpServers"``; VS
Code under ``"servers"`` (``.vscode/mcp.json``) or ``"mcp": {"servers": ...}`` (settings.json).
Each entry is a local command (``command`` + ``args`` + ``env``) or a remote server (``url`` +
``headers``, with ``"type": "http"`` or ``"streamable-http"``; Windsurf spells the URL
``serverUrl``, Gemini CLI ``httpUrl``). They become :class:`McpServerProfile` values the writer
stores as ``[mcp_servers.NAME]``.

Nothing is guessed silently. An entry glm-tui cannot run as its owner meant (the SSE transport,
a working directory, an env file, a value VS Code prompts for) is left out with the reason in
:attr:`ImportPlan.skipped`; a key that changes nothing about how the server runs (an always-allow
list, a timeout in another client's unit) is dropped with a note, so the person sees it. Values
are written as they are in the file: secrets in ``env`` stay where the person put them, and a
``${VAR}`` reference in a header or an env value stays a reference (``${env:VAR}``, VS Code's
and Cursor's spelling, becomes glm-tui's ``${VAR}``), expanded only when the server starts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glm_tui.model.mcp_profile import SERVER_NAME_RE, McpServerProfile, header_variables

_HTTP_TYPES = frozenset({"http", "streamable-http", "streamable_http", "streamableHttp"})
_URL_KEYS = ("url", "serverUrl", "httpUrl")
_STDIO_KEYS = frozenset({"type", "command", "args", "env"})
_HTTP_KEYS = frozenset({"type", "headers", *_URL_KEYS})
_UNSUPPORTED_KEYS = {
    "cwd": "it sets a working directory (cwd), which glm-tui cannot set for a server",
    "envFile": "it reads an env file (envFile), which glm-tui does not read",
}
_ALWAYS_ALLOW_KEYS = frozenset({"alwaysAllow", "autoApprove", "trust"})
_REFERENCE = re.compile(r"\$\{[^}]*\}")
_ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_INPUT_REFERENCE = re.compile(r"\$\{input:[^}]*\}")
_EDITOR_VARIABLE = re.compile(r"\$\{(?:workspaceFolder|userHome|fileDirname|cwd)[^}]*\}")


class ImportFileError(Exception):
    """The file cannot be imported at all (unreadable, not JSON, no server list); plain words."""


@dataclass(frozen=True)
class ImportedServer:
    """One entry that becomes ``[mcp_servers.NAME]``; ``notes`` tell what was changed or left."""

    profile: McpServerProfile
    source_name: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SkippedServer:
    """One entry that is not imported, and why (in words for the person)."""

    source_name: str
    reason: str


@dataclass
class ImportPlan:
    """What the file holds, sorted into what can be imported and what cannot."""

    servers: list[ImportedServer] = field(default_factory=list)
    skipped: list[SkippedServer] = field(default_factory=list)


def read_client_config(path: Path) -> ImportPlan:
    """The import plan for the JSON file at ``path``; raises :class:`ImportFileError`."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # an editor's BOM is not an error
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path} is a directory, not a JSON file") from None
    except UnicodeDecodeError:
        raise ImportFileError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return parse_client_config(text, str(path))


def parse_client_config(text: str, source: str) -> ImportPlan:
    """The import plan for ``text``, a client's JSON config; ``source`` names it in messages."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ""
        if text[exc.pos: exc.pos + 2] in ("//", "/*"):
            hint = " (comments are not JSON: remove them, or copy the server list alone)"
        raise ImportFileError(f"{source} is not valid JSON: line {exc.lineno}, column "
                              f"{exc.colno}: {exc.msg}{hint}") from None
    except RecursionError:
        raise ImportFileError(f"{source} is nested too deeply to read") from None
    entries = _server_list(document, source)
    plan = ImportPlan()
    taken: dict[str, str] = {}  # profile name -> the entry it came from
    for source_name, entry in entries.items():
        name = profile_name(source_name)
        if name is None:
            plan.skipped.append(SkippedServer(source_name, "its name has no letters or digits "
                                              "to make a profile name from"))
            continue
        if name in taken:
            plan.skipped.append(SkippedServer(
                source_name, f"it would be named {name}, like the entry {taken[name]!r}"))
            continue
        result = _convert(name, entry)
        if isinstance(result, str):
            plan.skipped.append(SkippedServer(source_name, result))
            continue
        profile, notes = result
        if name != source_name:
            notes.insert(0, f"imported as {name} (a profile name is 1-64 letters, digits, "
                         "'_' or '-')")
        taken[name] = source_name
        plan.servers.append(ImportedServer(profile, source_name, tuple(notes)))
    return plan


def profile_name(source_name: str) -> str | None:
    """``source_name`` when it is a valid profile name, else one made of it (``None``: none)."""
    if SERVER_NAME_RE.match(source_name):
        return source_name
    made = re.sub(r"[^A-Za-z0-9_-]+", "-", source_name).strip("-")[:64].strip("-")
    return made if re.search(r"[A-Za-z0-9]", made) else None


def _server_list(document: Any, source: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ImportFileError(f"{source}: expected a JSON object with \"mcpServers\"")
    for key in ("mcpServers", "servers"):
        if key in document:
            return _object(document[key], source, key)
    nested = document.get("mcp")
    if isinstance(nested, dict) and "servers" in nested:  # VS Code's settings.json
        return _object(nested["servers"], source, "mcp.servers")
    raise ImportFileError(f"{source} has no \"mcpServers\" (nor VS Code's \"servers\"): "
                          "nothing to import")


def _object(value: Any, source: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ImportFileError(f"{source}: \"{key}\" is not an object of servers")
    return value


def _convert(name: str, entry: Any) -> tuple[McpServerProfile, list[str]] | str:
    """The profile for one entry and its notes, or the reason it cannot be imported."""
    if not isinstance(entry, dict):
        return "it is not an object"
    if entry.get("disabled") is True:
        return "it is disabled in that file"
    for key, reason in _UNSUPPORTED_KEYS.items():
        if entry.get(key) not in (None, "", {}):
            return reason
    kind = entry.get("type")
    if kind is not None and not isinstance(kind, str):
        return "its \"type\" is not text"
    url_key = next((key for key in _URL_KEYS if key in entry), None)
    if kind == "sse" or (kind is None and url_key == "url" and _looks_like_sse(entry["url"])):
        return ("it uses the SSE transport, which glm-tui does not speak (only streamable "
                "HTTP); if the server also offers streamable HTTP (often at /mcp), add that URL "
                "by hand")
    if "command" in entry and url_key is not None:
        return "it has both a command and a URL"
    if kind in _HTTP_TYPES or (kind is None and url_key is not None):
        return _remote(name, entry, url_key)
    if kind in (None, "stdio"):
        return _local(name, entry)
    return f"its transport type {kind!r} is not one glm-tui knows (stdio, http)"


def _looks_like_sse(url: Any) -> bool:
    return isinstance(url, str) and url.rstrip("/").endswith("/sse")


def _local(name: str, entry: dict[str, Any]) -> tuple[McpServerProfile, list[str]] | str:
    command = entry.get("command")
    if not isinstance(command, str) or not command.strip():
        return "it has no command (nor a URL)"
    args = entry.get("args", [])
    if not isinstance(args, list):
        return "its \"args\" is not a list"
    words: list[str] = []
    for arg in args:
        word = _scalar(arg)
        if word is None:
            return f"an argument ({json.dumps(arg)[:40]}) is not text"
        words.append(word)
    env = _strings(entry.get("env", {}), "env")
    if isinstance(env, str):
        return env
    notes = _ignored(entry, _STDIO_KEYS)
    for reference in dict.fromkeys(_EDITOR_VARIABLE.findall(" ".join([command, *words]))):
        notes.append(f"{reference} is another client's variable: glm-tui passes it as written")
    for key, value in env.items():
        if _ENV_REFERENCE.search(value):
            notes.append(f"env {key}: ${{env:VAR}} is written as ${{VAR}}, glm-tui's spelling "
                         "(read from the environment when the server starts)")
    env = {key: _ENV_REFERENCE.sub(r"${\1}", value) for key, value in env.items()}
    for key, value in env.items():
        if len(_REFERENCE.findall(value)) > len(header_variables(value)):
            notes.append(f"env {key} holds a reference glm-tui does not expand: only ${{VAR}} "
                         "is read from the environment")
    if _INPUT_REFERENCE.search(" ".join([command, *words, *env.values()])):
        return "it asks VS Code for a value when it starts (${input:...}), which glm-tui cannot"
    return McpServerProfile(name=name, command=command, args=tuple(words), env=env), notes


def _remote(name: str, entry: dict[str, Any],
            url_key: str | None) -> tuple[McpServerProfile, list[str]] | str:
    url = entry.get(url_key) if url_key is not None else None
    if not isinstance(url, str) or not re.match(r"https?://[^/\s]", url):
        return "it has no http:// or https:// URL"
    headers = _strings(entry.get("headers", {}), "headers")
    if isinstance(headers, str):
        return headers
    if _INPUT_REFERENCE.search(" ".join([url, *headers.values()])):
        return "it asks VS Code for a value when it starts (${input:...}), which glm-tui cannot"
    notes = _ignored(entry, _HTTP_KEYS)
    for key, value in headers.items():
        if _ENV_REFERENCE.search(value):
            notes.append(f"header {key}: ${{env:VAR}} is written as ${{VAR}}, glm-tui's "
                         "spelling (read from the environment when the server is used)")
    headers = {key: _ENV_REFERENCE.sub(r"${\1}", value) for key, value in headers.items()}
    for key, value in headers.items():
        if len(_REFERENCE.findall(value)) > len(header_variables(value)):
            notes.append(f"header {key} holds a reference glm-tui does not expand: only "
                         "${VAR} is read from the environment")
    return McpServerProfile(name=name, url=url, headers=headers), notes


def _strings(value: Any, key: str) -> dict[str, str] | str:
    """A JSON object of text values (numbers and booleans as JSON spells them), or the reason."""
    if not isinstance(value, dict):
        return f"its \"{key}\" is not an object"
    out: dict[str, str] = {}
    for name, item in value.items():
        text = _scalar(item)
        if text is None:
            return f"{key} {name} is not text"
        out[name] = text
    return out


def _scalar(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return None


def _ignored(entry: Mapping[str, Any], used: frozenset[str]) -> list[str]:
    notes: list[str] = []
    allow = sorted(key for key in entry if key in _ALWAYS_ALLOW_KEYS)
    if allow:
        notes.append(f"{', '.join(allow)} not imported: glm-tui asks before every call "
                     "(F6 or ask --allow-tool allows a tool)")
    other = sorted(key for key in entry
                   if key not in used and key not in _ALWAYS_ALLOW_KEYS and key != "disabled")
    if other:
        notes.append(f"ignored: {', '.join(other)}")
    return notes
