"""What the demo server says: deterministic replies built only from the request.

The HTTP side (``server``, ``http_handler``) owns sockets and the flavours (``flavors``, ``wire``)
own each server's wire quirks; this module decides the words. Keeping them apart means the replies
can be tested without a socket, and the same request always gets the same answer whichever
flavour of server frames it. Nothing here knows about HTTP.

A reply echoes the last question literally (every character: markup-like text, escapes, NUL, CJK,
emoji), follows a system prompt that asks for a fixed opening phrase, calls a function tool whose
words match the question and answers after a tool result (``tool_replies``), describes an
attached image (``image_reading``), and returns a Markdown showcase when asked for one
(``markdown_samples``). ``[[demo:...]]`` directives (``directives``) are removed from the echoed
question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from glm_tui.demo.directives import parse_directives
from glm_tui.demo.image_reading import ImageInfo, describe_all
from glm_tui.demo.markdown_samples import SHOWCASE, sized_markdown
from glm_tui.demo.request_text import is_cjk, last_user_text, system_prompt
from glm_tui.demo.tool_replies import (
    ToolPlan,
    all_tools_text,
    answer_tool_result,
    choose_tool_call,
)


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
    images: Sequence[ImageInfo] = ()  # the images the model looks at, described in order


def plan_reply(request: ReplyRequest) -> ReplyPlan:
    """Decide what the demo model answers. Deterministic: same conversation, same plan."""
    directives, question = parse_directives(last_user_text(request.messages))
    tool_answer = answer_tool_result(request.messages)
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


def opening_phrase(system: str) -> str | None:
    """A quoted phrase the system prompt asks every answer to start with, if it asks for one."""
    lowered = system.lower()
    if not any(word in lowered for word in _START_WORDS):
        return None
    match = _QUOTED_RE.search(system)
    if match is None:
        return None
    return next(group for group in match.groups() if group is not None)


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
    if request.images:
        parts.append(describe_all(request.images, chinese))
    if _SHOWCASE_RE.search(question):
        parts.append(SHOWCASE)
    if system and phrase is None:
        shown = system if len(system) <= 200 else system[:199] + "…"
        parts.append(f"系统提示：“{shown}”" if chinese else f"Your system prompt says: “{shown}”")
    text = "\n\n".join(parts)
    return f"{phrase} {text}" if phrase else text

