"""The demo model's thinking: which models think, in which shape each flavour sends it, and what.

Why it exists: a thinking model's reasoning reaches clients in three shapes (PROTOCOL.md,
"Thinking models"), and each is switched off in the server's own field. Every shape is a flavour
of the demo server, so each path of the client is tested against real HTTP:

``openai``
    ``reasoning_content`` beside the content, as the hosted GLM API, DeepSeek and llama.cpp send
    it; usage reports ``completion_tokens_details.reasoning_tokens``. Off switch: the hosted GLM
    API's ``"thinking": {"type": "disabled"}``.
``vllm``
    ``reasoning`` beside the content (vLLM 0.17+ with a reasoning parser); no reasoning figure
    in usage. Off switch: ``"chat_template_kwargs": {"enable_thinking": false}``.
``inline``
    ``<think>...</think>`` inside the content, as vLLM without a reasoning parser sends it; with
    ``[[demo:think=unopened]]`` the reply starts mid-thought (the chat template opened the tag)
    and only ``</think>`` appears. Off switch as ``vllm``.

A model thinks when its name says it is a thinking model (:func:`is_thinking_model`: GLM-4.5 and
later, GLM-5, GLM-Z1, names with "thinking", DeepSeek-R1, Qwen3). It thinks before a plain
answer, before a tool call and before answering a tool result, every time: the same request
always gets the same reasoning. ``max_tokens`` counts the reasoning first, so a small limit ends
the reply while it is still thinking (finish ``length``, no answer, an unclosed ``<think>``).
``[[demo:reasoning=N]]`` asks for exactly N characters of reasoning (benchmarks).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from glm_tui.demo.directives import Directives
from glm_tui.demo.request_text import is_cjk, tokenize
from glm_tui.demo.tool_replies import ToolPlan

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


class Shape(StrEnum):
    """Where a flavour puts the reasoning."""

    REASONING_CONTENT = "reasoning_content"
    REASONING = "reasoning"
    INLINE = "inline"


SHAPES: dict[str, Shape] = {
    "openai": Shape.REASONING_CONTENT,
    "vllm": Shape.REASONING,
    "inline": Shape.INLINE,
}
"""The flavours that serve thinking models, and how each sends the reasoning."""

THINKING_MODEL_IDS = ("glm-4.6", "glm-5")
"""Thinking models the thinking flavours list in ``/v1/models`` (any thinking name is answered)."""

_THINKING_MODEL = re.compile(
    r"glm-?(4\.[5-9]|[5-9])|glm-?z1|thinking|deepseek-r1|\br1\b|qwen3", re.IGNORECASE)


def is_thinking_model(model: str) -> bool:
    """Whether the demo answers ``model`` as a model that thinks before it answers."""
    return bool(_THINKING_MODEL.search(model))


def built_in_flavor(model: str | None) -> str:
    """The flavour ``--demo`` (the app's and ``ask``'s built-in server) runs for ``model``.

    GLM-4's own server for GLM-4 and GLM-4V, as the reference client talks to; but GLM-4's server
    has no thinking model, so ``--demo --model glm-4.6`` would show none of the thinking paths. A
    thinking model gets ``vllm``, the way GLM-4.5 and later are usually served (vLLM with its
    reasoning parser; thinking switched in ``chat_template_kwargs``, which vLLM honours).
    """
    return "vllm" if model and is_thinking_model(model) else "glm4"


def switched_off(body: dict[str, Any], shape: Shape) -> bool:
    """Whether the request turned thinking off in this flavour's own field (others are ignored,
    as the real servers ignore fields they do not know)."""
    if shape is Shape.REASONING_CONTENT:
        thinking = body.get("thinking")
        return isinstance(thinking, dict) and thinking.get("type") == "disabled"
    kwargs = body.get("chat_template_kwargs")
    return isinstance(kwargs, dict) and kwargs.get("enable_thinking") is False


def reasoning_text(question: str, model: str, *, call: ToolPlan | None = None,
                   after_tool: bool = False, size: int | None = None) -> str:
    """The demo model's reasoning for this reply (deterministic; ``size``: exactly that long)."""
    if size is not None:
        unit = ("Let me think this through step by step, weighing each part of the question. "
                "Then I check the result once more before answering.\n\n")
        return (unit * (size // len(unit) + 1))[:size]
    chinese = is_cjk(question)
    if after_tool:
        return ("工具已经返回结果，我把它整理成一句话回答。" if chinese else
                "The tool has answered. I will put its result into one plain sentence.")
    if call is not None:
        return (f"问题需要工具 {call.name}。我用参数 {call.arguments} 调用它。" if chinese else
                f"The question needs the tool {call.name}. I will call it with "
                f"{call.arguments} and answer from its result.")
    if chinese:
        return (f"用户问：“{question}”。我是 {model} 演示模型，先想一想，"
                "然后复述问题并说明回答是如何生成的。")
    return (f"The user asks: “{question}”. I am the demo model {model}: I think first, then "
            "echo the question and say how the demo builds its replies.")


@dataclass(frozen=True)
class Thought:
    """The reasoning of one reply, as tokens, and how it is framed in this flavour."""

    shape: Shape
    tokens: list[str]
    closed: bool  # False: max_tokens ended the reply inside the reasoning
    opened: bool = True  # False: inline, the reply starts mid-thought (no "<think>")

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def count(self) -> int:
        """Tokens it costs, the tags included."""
        if self.shape is not Shape.INLINE:
            return len(self.tokens)
        return len(self.tokens) + int(self.opened) + int(self.closed)

    def content_pieces(self) -> list[str]:
        """The inline shape's content tokens (tags as tokens of their own); else none."""
        if self.shape is not Shape.INLINE:
            return []
        head = [OPEN_TAG] if self.opened else []
        tail = [CLOSE_TAG + "\n\n"] if self.closed else []
        return [*head, *self.tokens, *tail]

    def delta(self, token: str) -> dict[str, Any]:
        """One streamed piece of reasoning as a delta of this flavour."""
        if self.shape is Shape.INLINE:
            return {"content": token}
        return {str(self.shape): token}

    def into_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """A non-streamed message with this reasoning put where the flavour puts it."""
        if self.shape is Shape.INLINE:
            content = message.get("content") or ""
            message["content"] = "".join(self.content_pieces()) + content
        else:
            message[str(self.shape)] = self.text
        return message


def plan_thought(flavor: str, body: dict[str, Any], messages: Sequence[dict[str, Any]],
                 question: str, directives: Directives, *, call: ToolPlan | None,
                 after_tool: bool, limit: int | None) -> Thought | None:
    """The reasoning this flavour sends before the reply, or None (no thinking here).

    ``limit`` is the token budget for the whole reply (``max_tokens``), None for no limit.
    """
    shape = SHAPES.get(flavor)
    model = str(body.get("model", ""))
    if shape is None or not is_thinking_model(model) or switched_off(body, shape):
        return None
    text = reasoning_text(question, model, call=call, after_tool=after_tool,
                          size=directives.reasoning)
    tokens = tokenize(text)
    opened = not (shape is Shape.INLINE and directives.think == "unopened")
    tags = int(opened) + 1 if shape is Shape.INLINE else 0  # the tags are tokens too
    closed = True
    if limit is not None and len(tokens) + tags >= limit:  # no room left for an answer
        tokens, closed = tokens[:max(limit - int(shape is Shape.INLINE and opened), 0)], False
    return Thought(shape, tokens, closed, opened)
