"""Tool definitions: checking them, the built-in templates, tool_choice, and recognising calls.

A session keeps its tools as the OpenAI tool entries it sends, each optionally carrying a
``"glm_tui"`` block with settings that never reach the server (enabled, a local handler command).
Keeping the stored form a plain dict means the store, the export and the request share one shape;
:func:`request_tools` strips our block and drops disabled tools right before sending.

Checking is strict because a half-formed tool reaches the server as a 422 or, worse, is silently
ignored: the JSON must parse (problems say line and column), have the OpenAI function shape, a
name of 1-64 letters, digits, ``_`` or ``-``, and ``parameters`` that is a valid JSON Schema
(checked against its meta-schema with ``jsonschema``, problems say the JSON path).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from glm_tui.model.session import ToolCall

TOOL_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_DEFINITION_CHARS = 100_000
SETTINGS_KEY = "glm_tui"
BUILTIN_TYPES = ("cogview", "simple_browser", "web_search", "code_interpreter", "retrieval")
TOOL_CHOICE_MODES = ("auto", "none", "required")


@dataclass(frozen=True)
class ToolProblem:
    """One thing wrong with a tool definition, located by line/column or JSON path."""

    message: str
    line: int | None = None
    column: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"line {self.line}, column {self.column}: {self.message}"
        if self.path:
            return f"at {self.path}: {self.message}"
        return self.message


def tool_name(entry: dict[str, Any]) -> str:
    """The name a tool is known by: the function name, or the built-in type (``cogview``)."""
    if entry.get("type") == "function":
        function = entry.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])
        return ""
    return str(entry.get("type", ""))


def tool_settings(entry: dict[str, Any]) -> dict[str, Any]:
    settings = entry.get(SETTINGS_KEY)
    return settings if isinstance(settings, dict) else {}


def is_enabled(entry: dict[str, Any]) -> bool:
    return bool(tool_settings(entry).get("enabled", True))


def handler_of(entry: dict[str, Any]) -> list[str] | None:
    """The local handler command that may run (an argument list, never a shell line).

    ``None`` when the tool names none, or names one that is switched off (it came from an
    imported file and the person has not re-enabled it): nothing runs an off handler.
    """
    if handler_is_off(entry):
        return None
    return stored_handler(entry)


def stored_handler(entry: dict[str, Any]) -> list[str] | None:
    """The handler command the entry names, whether it is switched on or off (for showing it)."""
    handler = tool_settings(entry).get("handler")
    if isinstance(handler, list) and handler and all(isinstance(a, str) for a in handler):
        return list(handler)
    return None


def handler_is_off(entry: dict[str, Any]) -> bool:
    """True when the entry names a handler that is switched off (see :func:`without_permissions`).

    Anything but an explicit ``false`` in ``handler_off`` counts as off: a damaged flag never
    turns a handler on.
    """
    settings = tool_settings(entry)
    return "handler_off" in settings and settings["handler_off"] is not False


def without_permissions(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry that came from outside (an imported file), with every permission taken back.

    The handler command stays, as data, but switched off (``"handler_off": true``) and "always
    allow" is dropped: a file from anyone must never decide that a local program runs unasked.
    The tools screen shows the handler as off and asks, showing the exact command, before it is
    switched on again. A permission added to the ``glm_tui`` block later belongs here too.
    """
    if SETTINGS_KEY not in entry:
        return copy.deepcopy(entry)
    has_handler = "handler" in tool_settings(entry)
    return with_settings(entry, always_allow=None, handler_off=True if has_handler else None)


def with_settings(entry: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """A copy of the entry with some glm-tui settings changed (``None`` removes one)."""
    out = copy.deepcopy(entry)
    block = dict(tool_settings(out))
    for key, value in settings.items():
        if value is None:
            block.pop(key, None)
        else:
            block[key] = value
    if block:
        out[SETTINGS_KEY] = block
    else:
        out.pop(SETTINGS_KEY, None)
    return out


def spec_only(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry as the server sees it: without glm-tui's own settings."""
    return {key: value for key, value in entry.items() if key != SETTINGS_KEY}


def request_tools(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``tools`` list to send: enabled entries only, glm-tui settings stripped."""
    return [spec_only(entry) for entry in entries if is_enabled(entry)]


def enabled_function_names(entries: Iterable[dict[str, Any]]) -> set[str]:
    return {
        tool_name(entry)
        for entry in entries
        if is_enabled(entry) and entry.get("type") == "function" and tool_name(entry)
    }


def parse_tool_text(text: str) -> tuple[dict[str, Any] | None, list[ToolProblem]]:
    """Parse and check a tool definition typed in the editor."""
    if len(text) > MAX_DEFINITION_CHARS:
        return None, [
            ToolProblem(
                f"the definition is {len(text):,} characters; the limit is "
                f"{MAX_DEFINITION_CHARS:,} (a tool this large would fill the model's context)"
            )
        ]
    if not text.strip():
        return None, [ToolProblem("the definition is empty")]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [ToolProblem(f"not valid JSON: {exc.msg}", exc.lineno, exc.colno)]
    problems = check_tool(data)
    return (data if not problems else None), problems


def check_tool(data: Any) -> list[ToolProblem]:
    """Every problem with one tool entry (already parsed JSON)."""
    if not isinstance(data, dict):
        return [ToolProblem("a tool must be a JSON object like {\"type\": \"function\", ...}")]
    kind = data.get("type")
    if kind is None:
        return [ToolProblem('missing "type" (use "function", or a GLM built-in like "cogview")',
                            path="$.type")]
    if not isinstance(kind, str):
        return [ToolProblem('"type" must be a string', path="$.type")]
    if kind != "function":
        if kind in BUILTIN_TYPES:
            return []
        return [ToolProblem(
            f'unknown tool type "{kind}": use "function" or one of {", ".join(BUILTIN_TYPES)}',
            path="$.type",
        )]
    problems: list[ToolProblem] = []
    function = data.get("function")
    if not isinstance(function, dict):
        return [ToolProblem('a function tool needs a "function" object', path="$.function")]
    name = function.get("name")
    if not isinstance(name, str) or not name:
        problems.append(ToolProblem("the function needs a name", path="$.function.name"))
    elif not TOOL_NAME_RE.match(name):
        reason = (
            f"is {len(name)} characters; the limit is 64"
            if len(name) > 64
            else "may only use letters, digits, _ and - (no spaces)"
        )
        problems.append(ToolProblem(f'the name "{name}" {reason}', path="$.function.name"))
    description = function.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.append(ToolProblem(
            "add a description: the model decides when to call a tool from it",
            path="$.function.description",
        ))
    if "parameters" in function:
        problems += check_parameters_schema(function["parameters"])
    unknown = set(data) - {"type", "function", SETTINGS_KEY}
    if unknown:
        problems.append(ToolProblem(f"unknown key(s): {', '.join(sorted(unknown))}", path="$"))
    return problems


def check_parameters_schema(schema: Any) -> list[ToolProblem]:
    """Check ``parameters`` against the JSON Schema meta-schema and the object shape wanted."""
    base = "$.function.parameters"
    if not isinstance(schema, dict):
        return [ToolProblem("parameters must be a JSON Schema object", path=base)]
    from jsonschema import exceptions, validators

    validator_class = validators.validator_for(schema, default=validators.Draft202012Validator)
    problems = []
    for error in validator_class(validator_class.META_SCHEMA).iter_errors(schema):
        where = base + error.json_path[1:]
        problems.append(ToolProblem(f"not a valid JSON Schema: {error.message}", path=where))
    if not problems:
        try:
            validator_class.check_schema(schema)
        except exceptions.SchemaError as exc:  # belt and braces: check_schema is the contract
            problems.append(ToolProblem(f"not a valid JSON Schema: {exc.message}", path=base))
    if not problems and schema.get("type", "object") != "object":
        problems.append(ToolProblem('parameters must describe an object ("type": "object")',
                                    path=base + ".type"))
    return problems


def check_tool_set(entries: Sequence[dict[str, Any]]) -> list[str]:
    """Problems across a session's tools: two tools with one name."""
    seen: dict[str, int] = {}
    problems = []
    for index, entry in enumerate(entries):
        name = tool_name(entry)
        if name in seen:
            problems.append(
                f'two tools are named "{name}" (#{seen[name] + 1} and #{index + 1}); '
                "rename or remove one"
            )
        else:
            seen[name] = index
    return problems


def tool_choice_value(choice: str) -> str | dict[str, Any]:
    """``auto``/``none``/``required`` as is; any other text names one function to force."""
    if choice in TOOL_CHOICE_MODES:
        return choice
    return {"type": "function", "function": {"name": choice}}


def tool_choice_label(value: str | dict[str, Any] | None) -> str:
    if value is None:
        return "auto"
    if isinstance(value, str):
        return value
    function = value.get("function")
    return str(function.get("name", "?")) if isinstance(function, dict) else "?"


def pretty_arguments(arguments: str) -> tuple[str, bool]:
    """Arguments pretty-printed when they are JSON; otherwise the raw text and ``False``."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:
        return arguments, False
    return json.dumps(value, indent=2, ensure_ascii=False), True


def call_warnings(call: ToolCall, entries: Sequence[dict[str, Any]]) -> list[str]:
    """What is wrong with a call the model made, in words for the person answering it."""
    warnings = []
    known = {tool_name(entry): entry for entry in entries}
    entry = known.get(call.name)
    if entry is None:
        warnings.append(f'the model called "{call.name}", which is not defined in this session')
    elif not is_enabled(entry):
        warnings.append(f'the model called "{call.name}", which is disabled in this session')
    _, ok = pretty_arguments(call.arguments)
    if not ok:
        warnings.append("the arguments are not valid JSON; they are shown as the model wrote them")
    return warnings


_RAW_CALL_RE = re.compile(r"^\s*([A-Za-z0-9_-]{1,64})\n(\{.*)\Z", re.DOTALL)


def recognise_raw_call(content: str, enabled_names: set[str], call_id: str) -> ToolCall | None:
    """GLM-4's native ``name\\n{json}`` text for an enabled tool, offered as the call it is.

    The GLM-4 server returns that raw text as ``content`` when the model's JSON does not parse
    (PROTOCOL.md); the arguments are kept exactly as written so the user sees what went wrong.
    """
    match = _RAW_CALL_RE.match(content)
    if not match or match.group(1) not in enabled_names:
        return None
    return ToolCall(id=call_id, name=match.group(1), arguments=match.group(2).strip())


WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {
                    "type": "string",
                    "description": "The city and state, e.g. San Francisco, CA",
                },
                "format": {
                    "type": "string",
                    "enum": ["celsius", "fahrenheit"],
                    "description": (
                        "The temperature unit to use. Infer this from the users location."
                    ),
                },
            },
            "required": ["location", "format"],
        },
    },
}

TEMPLATES: dict[str, dict[str, Any]] = {
    "get_current_weather (reference client)": WEATHER_TOOL,
    "empty function": {
        "type": "function",
        "function": {
            "name": "my_function",
            "description": "Say what this function does and when the model should call it",
            "parameters": {"type": "object", "properties": {}, "required": []},
        },
    },
    "cogview (GLM All Tools: image generation)": {"type": "cogview"},
    "simple_browser (GLM All Tools: web browsing)": {"type": "simple_browser"},
    "web_search (hosted GLM API)": {
        "type": "web_search",
        "web_search": {"enable": True, "search_result": True},
    },
}
