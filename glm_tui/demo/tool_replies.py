"""The demo model's tool decisions: which function to call and with what, and what to say after.

A function is chosen by the words its name, description and parameters share with the question;
its arguments are filled from the schema and the question; a tool result is answered with a
sentence built from its content; GLM's built-in All Tools (cogview, simple_browser) get GLM-4's
own ``name\\n<arguments>`` text. Deterministic: the same request always gets the same call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from glm_tui.demo.request_text import CJK_RE, message_text


@dataclass(frozen=True)
class ToolPlan:
    """A function call the demo model decided to make; ``arguments`` is JSON text."""

    name: str
    arguments: str

_STOPWORD_TEXT = """a an and are as at be by can do does e.g for from get give has have how i
    in into is it its let me my of on or out please set should tell than that the their them then
    there these
    this to use used user users using value was what whats what's when where which who why will
    with you your infer"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_PLACE_RE = re.compile(r"\b(?:in|at|for|near|of)\s+([A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*)")
OWN_WORD_WEIGHT = 3
_TIMEZONE_RE = re.compile(r"\b(?:[A-Z][A-Za-z_]+/)+[A-Z][A-Za-z_+-]*[A-Za-z]|\bUTC\b")
_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
_LOCATION_WORDS = (
    "location", "city", "place", "address", "town", "country", "地点", "城市", "位置",
)


def _words(text: str) -> set[str]:
    """Lower-case content words (light plural stemming) and CJK character pairs."""
    out: set[str] = set()
    for word in _WORD_RE.findall(_split_identifier(text).lower()):
        if word in _STOPWORDS or len(word) < 3:
            continue
        out.add(word[:-1] if word.endswith("s") and len(word) > 3 else word)
    cjk = [char if CJK_RE.match(char) else " " for char in text]
    joined = "".join(cjk)
    out.update(joined[i : i + 2] for i in range(len(joined) - 1) if " " not in joined[i : i + 2])
    return out


def _split_identifier(text: str) -> str:
    return re.sub(r"([a-z])([A-Z])", r"\1 \2", text).replace("_", " ").replace("-", " ")


def _function(tool: dict[str, Any]) -> dict[str, Any] | None:
    function = tool.get("function") if isinstance(tool, dict) else None
    if tool.get("type", "function") != "function" or not isinstance(function, dict):
        return None
    return function if isinstance(function.get("name"), str) else None


def _own_words(function: dict[str, Any]) -> set[str]:
    """The words of the tool's name and description (what it is for)."""
    return _words(f"{function.get('name', '')} {function.get('description', '')}")


def _parameter_words(function: dict[str, Any]) -> set[str]:
    """The words of its parameters (their names, descriptions and allowed values)."""
    texts: list[str] = []
    parameters = function.get("parameters")
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    if isinstance(properties, dict):
        for name, schema in properties.items():
            texts.append(str(name))
            if isinstance(schema, dict):
                texts.append(str(schema.get("description", "")))
                texts.extend(str(value) for value in schema.get("enum", []) or [])
    return _words(" ".join(texts))


def choose_tool_call(
    question: str, tools: Sequence[dict[str, Any]], tool_choice: Any
) -> ToolPlan | None:
    """The function to call for ``question``, or None to answer in text.

    A tool is called when words of its name, description or parameters appear in the question
    (a word of the name or description counts three times); the best-scoring tool wins, the
    first on a tie. ``tool_choice`` "none" never calls, "required"
    always calls (the best match, else the first tool), and a named function is always called.
    """
    functions = [f for f in (_function(tool) for tool in tools) if f is not None]
    if not functions or tool_choice == "none":
        return None
    if isinstance(tool_choice, dict):
        wanted = (tool_choice.get("function") or {}).get("name")
        named = [f for f in functions if f.get("name") == wanted]
        if named:
            return ToolPlan(named[0]["name"], build_arguments(named[0], question))
    question_words = _words(question)
    best: dict[str, Any] | None = None
    best_score = 0
    for function in functions:
        # What a tool is for weighs more than its parameters' examples: "current time in
        # Asia/Tokyo" is get_current_time's, though convert_time's schema names Asia/Tokyo.
        score = (OWN_WORD_WEIGHT * len(question_words & _own_words(function))
                 + len(question_words & _parameter_words(function) - _own_words(function)))
        if score > best_score:
            best, best_score = function, score
    if best is None and tool_choice == "required":
        best = functions[0]
    if best is None:
        return None
    return ToolPlan(best["name"], build_arguments(best, question))


def build_arguments(function: dict[str, Any], question: str) -> str:
    """JSON arguments from the function's schema, filled from the question deterministically.

    Required properties (all properties when none are marked required); an enum takes the value
    the question names, else its first; strings come from the question (a place name for
    location-like properties, an IANA name such as ``Asia/Tokyo`` for time zones); numbers are
    the first number in the question.
    """
    parameters = function.get("parameters")
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    if not isinstance(properties, dict):
        return "{}"
    required = parameters.get("required") if isinstance(parameters, dict) else None
    names = [n for n in required if n in properties] if isinstance(required, list) else []
    if not names:
        names = list(properties)
    arguments = {
        name: _argument_value(
            name, properties[name] if isinstance(properties[name], dict) else {}, question
        )
        for name in names
    }
    return json.dumps(arguments, ensure_ascii=False)


def _argument_value(name: str, schema: dict[str, Any], question: str) -> Any:
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        lowered = question.lower()
        named = [value for value in enum if str(value).lower() in lowered]
        return named[0] if named else enum[0]
    kind = schema.get("type", "string")
    if kind in ("integer", "number"):
        match = _NUMBER_RE.search(question)
        if match is not None:
            number = float(match.group(0))
            return int(number) if kind == "integer" else number
        default = schema.get("default", schema.get("minimum", 1))
        return default if isinstance(default, int | float) else 1
    if kind == "boolean":
        default = schema.get("default")
        return default if isinstance(default, bool) else False
    if kind == "array":
        return [_plain_question(question)] if question.strip() else []
    if kind == "object":
        return {}
    described = f"{name} {schema.get('description', '')}".lower()
    if "timezone" in described or "time zone" in described:
        zone = _TIMEZONE_RE.search(question)
        if zone is not None:  # the official MCP time server's tools take IANA names
            return zone.group(0)
    if any(word in described for word in _LOCATION_WORDS):
        place = _PLACE_RE.search(question)
        if place is not None:
            return place.group(1).rstrip(".")
    return _plain_question(question)


def _plain_question(question: str) -> str:
    return question.strip().rstrip("?？!！.。")


def answer_tool_result(messages: Sequence[dict[str, Any]]) -> str | None:
    """The answer after a tool-result turn, built from the tool's content, or None.

    Pictures a tool returned come as a user message right after the tool results (image parts
    may only be in user messages); that message still belongs to the tool-result turn, so it is
    answered, not taken for a new question (which would call the tool again, forever).
    """
    pictures = 0
    if _is_tool_pictures(messages):
        pictures = sum(1 for part in messages[-1]["content"]
                       if isinstance(part, dict) and part.get("type") == "image_url")
        messages = messages[:-1]
    if not messages or messages[-1].get("role") != "tool":
        return None
    results: list[dict[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.insert(0, message)
    calls: list[dict[str, Any]] = []
    index = len(messages) - len(results) - 1
    if index >= 0 and messages[index].get("role") == "assistant":
        raw_calls = messages[index].get("tool_calls")
        calls = [c for c in raw_calls if isinstance(c, dict)] if isinstance(raw_calls, list) else []
    sentences: list[str] = []
    for position, result in enumerate(results):
        content = message_text(result).strip()
        call = calls[position] if position < len(calls) else {}
        raw_function = call.get("function")
        function: dict[str, Any] = raw_function if isinstance(raw_function, dict) else {}
        name = str(result.get("name") or function.get("name") or "the tool")
        arguments = _loads_object(function.get("arguments"))
        place = next(
            (str(v) for k, v in arguments.items() if any(w in k.lower() for w in _LOCATION_WORDS)),
            None,
        )
        if place is not None and re.search(r"weather|temperature|forecast", name, re.I):
            sentences.append(f"It is {content} in {_short_place(place)}.")
        elif place is not None:
            sentences.append(f"For {place}, {name} returned: {content}")
        else:
            sentences.append(f"{name} returned: {content}")
    if pictures:
        sentences.append(f"I looked at the {'picture' if pictures == 1 else f'{pictures} pictures'}"
                         " it returned as well.")
    return "\n\n".join(sentences)


def _is_tool_pictures(messages: Sequence[dict[str, Any]]) -> bool:
    """The last message is a user message of pictures right after tool results."""
    roles = tuple(message.get("role") for message in messages[-2:])
    if roles != ("tool", "user"):
        return False
    content = messages[-1].get("content")
    return isinstance(content, list) and any(
        isinstance(part, dict) and part.get("type") == "image_url" for part in content)


def _short_place(place: str) -> str:
    """'San Francisco, CA' reads better as 'San Francisco' in a sentence."""
    head, _, tail = place.partition(",")
    return head.strip() if tail.strip().isupper() and len(tail.strip()) <= 3 else place


def _loads_object(text: Any) -> dict[str, Any]:
    if not isinstance(text, str):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------------------------------------
# GLM "All Tools"


_DRAW_RE = re.compile(r"画|绘|draw|paint|picture|image|illustrat|sketch", re.IGNORECASE)
_SEARCH_RE = re.compile(
    r"搜索|查|今天|最新|新闻|价格|search|look up|latest|news|today|price|current", re.IGNORECASE
)


def all_tools_text(question: str, tools: Sequence[dict[str, Any]]) -> str | None:
    """The GLM-4 native text for a built-in tool the question calls for, or None.

    GLM-4 writes a tool call as ``name\\n<arguments>``; for the built-ins the arguments are not
    JSON (``cogview\\n<prompt>``, ``simple_browser\\nsearch("...", recency_days=N)``), which is why
    the real server hands them back as plain content.
    """
    types = [tool.get("type") for tool in tools if isinstance(tool, dict)]
    plain = _plain_question(question)
    if "cogview" in types and _DRAW_RE.search(question):
        return f"cogview\n{plain}"
    if "simple_browser" in types and _SEARCH_RE.search(question):
        return f'simple_browser\nsearch("{plain}", recency_days=7)'
    return None
