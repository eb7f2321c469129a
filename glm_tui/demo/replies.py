"""What the demo server says: deterministic replies built only from the request.

The demo server (``demo_server.py``) owns HTTP and each server's wire quirks; this module owns the
words. Keeping them apart means the replies can be tested without a socket, and the same request
always gets the same answer whichever flavour of server frames it. Nothing here knows about HTTP.

A reply echoes the last question literally (every character: markup-like text, escapes, NUL, CJK,
emoji), follows a system prompt that asks for a fixed opening phrase, calls a function tool whose
words match the question, answers after a tool result, describes an attached image with Pillow,
and returns a Markdown showcase when asked for one. ``[[demo:...]]`` directives (see
``demo_server``) are parsed here and removed from the echoed question.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

DIRECTIVE_RE = re.compile(r"\[\[demo:([a-z]+)=(.*?)\]\]", re.DOTALL)

_CJK = (
    "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
)
_TOKEN_RE = re.compile(rf"[{_CJK}]|[ ]?[^\s{_CJK}]{{1,4}}|\s{{1,4}}")
_HAS_CJK_RE = re.compile(rf"[{_CJK}]")


def tokenize(text: str) -> list[str]:
    """Split text into model-like tokens: word pieces of up to four characters, CJK per character.

    Concatenating the tokens gives back ``text`` exactly; every character belongs to one token.
    """
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    return len(_TOKEN_RE.findall(text))


@dataclass(frozen=True)
class Directives:
    """Demo-only controls found in the last user message (see the demo_server docstring)."""

    status: int | None = None
    cut: int | None = None
    size: int | None = None
    rate: float | None = None
    delay: float | None = None
    say: str | None = None


def parse_directives(text: str) -> tuple[Directives, str]:
    """The directives in ``text`` and the text without them.

    Unknown names and values that do not parse are left in the text, so a typo is visible in the
    echoed question instead of silently doing nothing. When a directive is removed the remaining
    question is stripped of surrounding whitespace; otherwise the text is returned untouched.
    """
    values: dict[str, Any] = {}

    def take(match: re.Match[str]) -> str:
        name, raw = match.group(1), match.group(2)
        parsed = _parse_directive_value(name, raw)
        if parsed is None:
            return match.group(0)
        values[name] = parsed
        return ""

    stripped = DIRECTIVE_RE.sub(take, text)
    if not values:
        return Directives(), text
    return Directives(**values), stripped.strip()


def _parse_directive_value(name: str, raw: str) -> int | float | str | None:
    try:
        if name == "status":
            status = int(raw)
            return status if 400 <= status <= 599 else None
        if name in ("cut", "size"):
            count = int(raw)
            return count if count >= 0 else None
        if name in ("rate", "delay"):
            number = float(raw)
            return number if number >= 0 and number == number and number != float("inf") else None
    except ValueError:
        return None
    if name == "say":
        return raw
    return None


# ---------------------------------------------------------------------------------------------
# The request as the reply builder sees it


@dataclass(frozen=True)
class ImageInfo:
    """What Pillow found in an attached image."""

    width: int
    height: int
    mode: str
    format: str
    colour: str


class ImageProblem(ValueError):
    """An attached image could not be decoded; the message says why, for the error response."""


@dataclass(frozen=True)
class ToolPlan:
    """A function call the demo model decided to make; ``arguments`` is JSON text."""

    name: str
    arguments: str


@dataclass(frozen=True)
class ReplyPlan:
    """The demo model's answer: either text or one tool call."""

    text: str = ""
    tool_call: ToolPlan | None = None
    exact: bool = False  # True for say/size directives: never shortened by max_tokens


@dataclass
class ReplyRequest:
    """The parts of a chat request the reply depends on, already checked by the server."""

    messages: Sequence[dict[str, Any]]
    model: str = "glm-4"
    tools: Sequence[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = None
    honour_system: bool = True
    image: ImageInfo | None = None


def message_text(message: dict[str, Any]) -> str:
    """The text of a message: a string content, or the text parts of a list joined by spaces."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def last_user_text(messages: Sequence[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return ""


def plan_reply(request: ReplyRequest) -> ReplyPlan:
    """Decide what the demo model answers. Deterministic: same conversation, same plan."""
    directives, question = parse_directives(last_user_text(request.messages))
    tool_answer = _answer_tool_result(request)
    if tool_answer is not None:
        return ReplyPlan(text=tool_answer)
    if directives.say is not None:
        return ReplyPlan(text=directives.say, exact=True)
    if directives.size is not None:
        return ReplyPlan(text=sized_markdown(directives.size), exact=True)
    call = choose_tool_call(question, request.tools, request.tool_choice)
    if call is not None:
        return ReplyPlan(tool_call=call)
    if request.tool_choice != "none":
        builtin = all_tools_text(question, request.tools)
        if builtin is not None:
            return ReplyPlan(text=builtin)
    return ReplyPlan(text=compose_text(question, request))


# ---------------------------------------------------------------------------------------------
# Plain answers


_START_WORDS = ("start", "begin", "prefix", "open with", "开头", "开始", "起始", "开首")
_QUOTED_RE = re.compile(
    r"“([^”]{1,40})”|\"([^\"]{1,40})\"|「([^」]{1,40})」|‘([^’]{1,40})’|'([^']{1,40})'"
)
_SHOWCASE_RE = re.compile(r"markdown|showcase|\bdemo\b|演示|示例", re.IGNORECASE)


def system_prompt(messages: Sequence[dict[str, Any]]) -> str:
    for message in messages:
        if message.get("role") == "system":
            return message_text(message)
    return ""


def opening_phrase(system: str) -> str | None:
    """A quoted phrase the system prompt asks every answer to start with, if it asks for one."""
    lowered = system.lower()
    if not any(word in lowered for word in _START_WORDS):
        return None
    match = _QUOTED_RE.search(system)
    if match is None:
        return None
    return next(group for group in match.groups() if group is not None)


def is_cjk(text: str) -> bool:
    """Whether to answer in Chinese: the question has more CJK characters than Latin letters."""
    cjk = len(_HAS_CJK_RE.findall(text))
    return cjk > 0 and cjk >= sum(1 for char in text if char.isascii() and char.isalpha())


def compose_text(question: str, request: ReplyRequest) -> str:
    """The text answer: optional opening phrase, the echoed question, image, showcase, notes."""
    chinese = is_cjk(question)
    system = system_prompt(request.messages) if request.honour_system else ""
    phrase = opening_phrase(system) if system else None
    parts: list[str] = []
    if chinese:
        parts.append(f"你问：“{question}”" if question else "你发来了一条空消息。")
        parts.append(
            f"我是 glm-tui 内置的演示服务器（模型 {request.model}），"
            "回答由你的请求确定地生成：同样的请求总是得到同样的回答。"
        )
    else:
        parts.append(f"You asked: “{question}”" if question else "You sent an empty message.")
        parts.append(
            f"This is the glm-tui demo server answering as {request.model}. Replies are built from "
            "your request, so the same request always gets the same answer."
        )
    if request.image is not None:
        parts.append(describe(request.image, chinese))
    if _SHOWCASE_RE.search(question):
        parts.append(SHOWCASE)
    if system and phrase is None:
        shown = system if len(system) <= 200 else system[:199] + "…"
        parts.append(f"系统提示：“{shown}”" if chinese else f"Your system prompt says: “{shown}”")
    text = "\n\n".join(parts)
    return f"{phrase} {text}" if phrase else text


def describe(image: ImageInfo, chinese: bool = False) -> str:
    if chinese:
        return (
            f"图片大小 {image.width}×{image.height} 像素，模式 {image.mode}（{image.format}），"
            f"主要颜色是 {image.colour}。"
        )
    return (
        f"The image is {image.width}×{image.height} pixels, mode {image.mode} ({image.format}), "
        f"and its dominant colour is {image.colour}."
    )


SHOWCASE = """# Markdown showcase

Everything below is **Markdown** the demo server sends so you can see how it renders: *emphasis*,
`inline code`, ~~strike-through~~ and a [link to the CommonMark help](https://commonmark.org/help/).

## Lists

- A bullet point
- Another one, with a nested list:
  1. first step
  2. second step
- The last bullet

## A table

| Language | Typing  | First released |
|----------|:-------:|---------------:|
| Python   | dynamic |           1991 |
| Rust     | static  |           2015 |
| Go       | static  |           2009 |

## Code

```python
def fibonacci(n: int) -> list[int]:
    numbers = [0, 1]
    while len(numbers) < n:
        numbers.append(numbers[-1] + numbers[-2])
    return numbers[:n]
```

```rust
fn main() {
    let squares: Vec<u32> = (1..=5).map(|n| n * n).collect();
    println!("{squares:?}");
}
```

> A block quote, to finish.
"""


def sized_markdown(size: int) -> str:
    """Exactly ``size`` bytes (ASCII) of mixed Markdown: paragraphs, a 300-item list, long code.

    Long lists and long fenced code blocks are what makes Markdown rendering slow, so the document
    is built from them, in a fixed order, and cut at ``size``.
    """
    pieces: list[str] = []
    total = 0
    section = 0
    while total < size:
        section += 1
        block = _sized_section(section)
        pieces.append(block)
        total += len(block)
    return "".join(pieces)[:size]


def _sized_section(number: int) -> str:
    lines = [f"## Section {number}\n\n"]
    for paragraph in range(3):
        lines.append(
            f"Paragraph {paragraph + 1} of section {number}. This text is deterministic filler "
            "with **bold**, *italic* and `code` so that inline styles are measured too. "
            "It keeps going for a while to make a realistic paragraph of a long answer.\n\n"
        )
    lines.extend(f"- item {item} of section {number}\n" for item in range(1, 301))
    lines.append("\n```python\n")
    lines.extend(
        f"def step_{number}_{index}(value: int) -> int:\n    return value * {index} + {number}\n"
        for index in range(60)
    )
    lines.append("```\n\n```json\n[\n")
    lines.extend(f'  {{"section": {number}, "row": {row}}},\n' for row in range(60))
    lines.append('  {"end": true}\n]\n```\n\n')
    return "".join(lines)


# ---------------------------------------------------------------------------------------------
# Tools


_STOPWORD_TEXT = """a an and are as at be by can do does e.g for from get give has have how i
    in into is it its let me my of on or out please set should tell than that the their them then
    there these
    this to use used user users using value was what whats what's when where which who why will
    with you your infer"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_PLACE_RE = re.compile(r"\b(?:in|at|for|near|of)\s+([A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*)")
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
    cjk = [char if _HAS_CJK_RE.match(char) else " " for char in text]
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


def _tool_words(function: dict[str, Any]) -> set[str]:
    texts = [str(function.get("name", "")), str(function.get("description", ""))]
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

    A tool is called when words of its name, description or parameters appear in the question;
    the best-scoring tool wins, the first on a tie. ``tool_choice`` "none" never calls, "required"
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
        score = len(question_words & _tool_words(function))
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
    location-like properties); numbers are the first number in the question.
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
    if any(word in described for word in _LOCATION_WORDS):
        place = _PLACE_RE.search(question)
        if place is not None:
            return place.group(1).rstrip(".")
    return _plain_question(question)


def _plain_question(question: str) -> str:
    return question.strip().rstrip("?？!！.。")


def _answer_tool_result(request: ReplyRequest) -> str | None:
    """The answer after a tool-result turn, built from the tool's content, or None."""
    if not request.messages or request.messages[-1].get("role") != "tool":
        return None
    results: list[dict[str, Any]] = []
    for message in reversed(request.messages):
        if message.get("role") != "tool":
            break
        results.insert(0, message)
    calls: list[dict[str, Any]] = []
    index = len(request.messages) - len(results) - 1
    if index >= 0 and request.messages[index].get("role") == "assistant":
        raw_calls = request.messages[index].get("tool_calls")
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
    return "\n\n".join(sentences)


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


# ---------------------------------------------------------------------------------------------
# Images


_PALETTE: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("black", (0, 0, 0)),
    ("white", (255, 255, 255)),
    ("gray", (128, 128, 128)),
    ("red", (220, 20, 20)),
    ("orange", (255, 140, 0)),
    ("yellow", (240, 220, 30)),
    ("green", (40, 160, 40)),
    ("cyan", (0, 200, 200)),
    ("blue", (30, 60, 220)),
    ("purple", (130, 50, 170)),
    ("pink", (255, 150, 190)),
    ("brown", (130, 80, 40)),
)


def decode_data_url(url: str) -> bytes:
    """The bytes of a ``data:...;base64,`` URL; ImageProblem when it is not one."""
    header, sep, payload = url.partition(",")
    if not sep or not header.startswith("data:") or not header.endswith(";base64"):
        raise ImageProblem("the image URL is not a base64 data: URL")
    try:
        return base64.b64decode(payload)
    except (binascii.Error, ValueError) as error:
        raise ImageProblem(f"the image data is not valid base64 ({error})") from None


def inspect_image(data: bytes) -> ImageInfo:
    """Open an image with Pillow (imported only now) and find its size, mode and main colour."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            width, height = image.size
            mode = image.mode
            fmt = image.format or "unknown format"
            small = image.convert("RGB")
            small.thumbnail((32, 32))
    except UnidentifiedImageError:
        raise ImageProblem("the image data is not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ImageProblem(f"the image could not be decoded ({error})") from None
    colours = small.getcolors(maxcolors=small.width * small.height) or []
    return ImageInfo(width, height, mode, fmt, dominant_colour(colours))


def dominant_colour(colours: Sequence[tuple[int, Any]]) -> str:
    """The palette name most pixels are closest to, from ``(count, (r, g, b))`` pairs.

    Palette order breaks ties, so the answer is deterministic.
    """
    counts = dict.fromkeys((name for name, _ in _PALETTE), 0)
    for count, pixel in colours:
        rgb = (int(pixel[0]), int(pixel[1]), int(pixel[2]))
        name = min(
            _PALETTE,
            key=lambda entry: sum((a - b) ** 2 for a, b in zip(entry[1], rgb, strict=True)),
        )[0]
        counts[name] += count
    return max(counts, key=lambda name: counts[name])
