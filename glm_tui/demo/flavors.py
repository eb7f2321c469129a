"""How each demo server flavour answers a chat request that passed its checks.

Why it exists: the GLM-4 text server, the GLM-4V vision server and a clean OpenAI server differ
in more than framing: which sampling values crash them, whether a text answer streams when tools
are passed, how tool calls are streamed, what usage they report. This module decides, per
flavour, what to send and when (in generated tokens); ``replies`` supplies the reply text,
``wire`` the bytes, and ``http_handler`` sends the result at the paced times. Every answer
is a value (``WholeResponse`` or ``StreamPlan``); errors are raised as ``WholeResponse``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from glm_tui.demo.directives import Directives, parse_directives
from glm_tui.demo.image_reading import ImageInfo, ImageProblem, decode_data_url, inspect_image
from glm_tui.demo.replies import ReplyPlan, ReplyRequest, plan_reply
from glm_tui.demo.request_text import count_tokens, last_user_text, message_text, tokenize
from glm_tui.demo.thinking import Thought, plan_thought
from glm_tui.demo.tool_replies import ToolPlan
from glm_tui.demo.wire import (
    Frame,
    Glm4Chunks,
    Glm4vChunks,
    OpenAIChunks,
    StreamPlan,
    WholeResponse,
    call_id,
    complete_reply,
    glm4_tool_call,
    openai_error,
    plain_error,
)

GLM4_DEFAULT_MAX_TOKENS = 1024
IMAGE_PROMPT_TOKENS = 1602  # what one image costs GLM-4V's prompt
JPEG_PREFIX = "data:image/jpeg;base64,"

Answer = WholeResponse | StreamPlan


def is_vision_model(model: str) -> bool:
    """Whether the glm4 flavour answers as the GLM-4V server (its model names contain "4v")."""
    return "4v" in model.lower()


@dataclass
class Chat:
    """A chat request after its flavour's checks, with what the reply needs."""

    body: dict[str, Any]
    model: str
    messages: list[dict[str, Any]]
    stream: bool
    tools: list[dict[str, Any]]
    tool_choice: Any
    directives: Directives
    max_tokens: int | None = None
    include_usage: bool = False
    images: list[ImageInfo] = field(default_factory=list)  # what the model looks at
    prompt_tokens: int = 0
    created: int = field(default_factory=lambda: int(time.time()))
    flavor: str = "openai"  # openai, vllm or inline: the shape of a thinking model's reasoning


def _prompt_tokens(body: dict[str, Any], messages: Sequence[dict[str, Any]], images: int) -> int:
    total = 2 + sum(count_tokens(message_text(m)) + 3 for m in messages)
    if body.get("tools"):
        total += count_tokens(json.dumps(body["tools"], ensure_ascii=False))
    return total + IMAGE_PROMPT_TOKENS * images


@dataclass
class _Tokens:
    """The reply split into tokens, shortened by max_tokens and the cut directive."""

    tokens: list[str]
    finish: str
    cut: bool

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def cut_text(self) -> str | None:
        """The text a non-streamed body is cut after, or None when it is sent whole."""
        return self.text if self.cut else None


def _reply_tokens(text: str, plan: ReplyPlan, chat: Chat) -> _Tokens:
    tokens = tokenize(text)
    finish = "stop"
    if not plan.exact and chat.max_tokens is not None and len(tokens) > chat.max_tokens:
        tokens = tokens[: chat.max_tokens]
        finish = "length"
    cut = chat.directives.cut
    if cut is None:
        return _Tokens(tokens, finish, False)
    return _Tokens(_cut_tokens(tokens, cut), finish, True)


def _cut_tokens(tokens: list[str], limit: int) -> list[str]:
    """The tokens holding the first ``limit`` characters (the last one shortened)."""
    out: list[str] = []
    left = limit
    for token in tokens:
        if left <= 0:
            break
        out.append(token[:left])
        left -= len(out[-1])
    return out


def _argument_tokens(call: ToolPlan, chat: Chat) -> list[str]:
    """A tool call's argument text as streamed tokens, cut short by the cut directive."""
    tokens = tokenize(call.arguments)
    cut = chat.directives.cut
    return tokens if cut is None else _cut_tokens(tokens, cut)


def _raw_tool_text(call: ToolPlan) -> str:
    """What GLM-4 generates for a tool call: the name, a newline, the JSON arguments."""
    return f"{call.name}\n{call.arguments}"


def _lead_tokens(call: ToolPlan) -> int:
    """Tokens generated before the arguments start (the name and its newline)."""
    return count_tokens(call.name + "\n")


def _image_urls(messages: Sequence[dict[str, Any]]) -> list[str]:
    urls: list[str] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            urls.extend(
                part["image_url"]["url"]
                for part in content
                if isinstance(part, dict) and part.get("type") == "image_url"
            )
    return urls


# ---------------------------------------------------------------------------------------------
# glm4 flavour: the GLM-4 text server


def answer_glm4(chat: Chat) -> Answer:
    """The GLM-4 text server (``basic_demo/glm_server.py``) answering ``chat``."""
    body = chat.body
    raw_tools = body.get("tools")
    tools: list[dict[str, Any]] = (
        [raw_tools] if isinstance(raw_tools, dict)
        else [t for t in raw_tools or [] if isinstance(t, dict)]
    )
    temperature = body.get("temperature", 0.8)
    top_p = body.get("top_p", 0.8)
    penalty = body.get("repetition_penalty", 1.1)
    max_tokens = body.get("max_tokens")
    # vLLM's SamplingParams raises ValueError for these; FastAPI turns that into a bare 500.
    if (
        (temperature is not None and temperature < 0)
        or (top_p is not None and not 0 < top_p <= 1)
        or (penalty is not None and not 0 < penalty <= 2)
        or (max_tokens is not None and max_tokens < 0)
    ):
        raise plain_error()
    has_builtin = bool(raw_tools) and (
        isinstance(raw_tools, dict) or any(not isinstance(t.get("function"), dict) for t in tools)
    )
    if chat.stream and has_builtin:
        raise plain_error()  # tools without "function" raise KeyError before the stream starts
    chat.max_tokens = int(max_tokens or GLM4_DEFAULT_MAX_TOKENS)
    choice = chat.tool_choice
    active = tools if choice != "none" else []
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        active = [t for t in tools if (t.get("function") or {}).get("name") == wanted]
    chat.prompt_tokens = _prompt_tokens(body, chat.messages, 0)
    request = ReplyRequest(chat.messages, chat.model, active, choice, honour_system=not active)
    plan = plan_reply(request)
    if plan.tool_call is not None and has_builtin:
        # process_response fails on the tool without "function": the raw model text comes back.
        plan = ReplyPlan(text=_raw_tool_text(plan.tool_call), exact=True)
    withhold = bool(active) and choice != "none"
    if not chat.stream:
        return _glm4_complete(chat, plan)
    if plan.tool_call is not None:
        return _glm4_tool_stream(chat, plan.tool_call)
    return _glm4_text_stream(chat, plan, withhold)


def _glm4_complete(chat: Chat, plan: ReplyPlan) -> WholeResponse:
    message: dict[str, Any] = {"role": "assistant", "content": None, "function_call": None,
                               "tool_calls": None}
    call = plan.tool_call
    if call is not None:
        output = _raw_tool_text(call)
        reply = _reply_tokens(output, ReplyPlan(text=output, exact=True), chat)
        message["tool_calls"] = [glm4_tool_call(call_id(), call.name, call.arguments)]
        finish, cut_text = "tool_calls", None  # a tool call is never cut
    else:
        reply = _reply_tokens(plan.text, plan, chat)
        message["content"] = reply.text
        finish, cut_text = "stop", reply.cut_text  # the server never reports "length" here
    completion = len(reply.tokens)
    data = Glm4Chunks(chat.model, chat.created).complete(
        message, finish, chat.prompt_tokens, completion
    )
    return complete_reply(data, completion, cut_text)


def _glm4_text_stream(chat: Chat, plan: ReplyPlan, withhold: bool) -> StreamPlan:
    chunks = Glm4Chunks(chat.model, chat.created)
    reply = _reply_tokens(plan.text, plan, chat)
    tokens = reply.tokens or ([] if reply.cut else [""])  # an empty answer is one empty chunk
    finish = None if reply.cut else reply.finish
    if withhold:
        # Tools passed and a text answer: nothing streams until the whole text is generated,
        # then one chunk whose finish_reason the server hardcodes to "stop".
        count = max(len(tokens), 1)
        out = [Frame(count, chunks.text(reply.text, None if reply.cut else "stop"))]
        if not reply.cut:
            out.append(Frame(count, chunks.done))
        return StreamPlan(out, headers_due=count, abort=reply.cut)
    out = [
        Frame(k + 1, chunks.text(token, finish if k == len(tokens) - 1 else None))
        for k, token in enumerate(tokens)
    ]
    if not reply.cut:
        out.append(Frame(len(tokens), chunks.done))
    return StreamPlan(out, headers_due=1, abort=reply.cut)


def _glm4_tool_stream(chat: Chat, call: ToolPlan) -> StreamPlan:
    """An id+name chunk, one chunk per argument token, a ``tool_calls`` finish, no [DONE]."""
    chunks = Glm4Chunks(chat.model, chat.created)
    lead = _lead_tokens(call)
    arguments = _argument_tokens(call, chat)
    first = chunks.tool_delta(glm4_tool_call(call_id(), call.name, ""), first=True)
    out = [Frame(lead + 1, chunks.chunk(first, None))]
    for k, token in enumerate(arguments):
        delta = chunks.tool_delta(glm4_tool_call(None, None, token), first=False)
        out.append(Frame(lead + k + 1, chunks.chunk(delta, None)))
    cut = chat.directives.cut is not None
    if not cut:
        last = chunks.chunk(chunks.tool_delta(None, first=False), "tool_calls", usage_null=True)
        out.append(Frame(lead + len(arguments), last))
    return StreamPlan(out, headers_due=lead + 1, abort=cut)


# ---------------------------------------------------------------------------------------------
# glm4 flavour with a "4v" model: the GLM-4V vision server


def answer_glm4v(chat: Chat) -> Answer:
    """The GLM-4V vision server answering ``chat``: strict history, JPEG data URLs only."""
    previous = None
    for message in chat.messages:
        role = message.get("role")
        # process_history_and_images asserts on these; FastAPI answers a bare 500.
        if role == "system" or (role == "assistant" and previous in (None, "assistant")):
            raise plain_error()
        previous = role
    for url in _image_urls(chat.messages):
        if not url.startswith(JPEG_PREFIX):
            raise plain_error()  # anything else is fetched over HTTP; the demo never does
        try:
            info = inspect_image(decode_data_url(url))
        except ImageProblem:
            raise plain_error() from None
        chat.images = chat.images or [info]  # one image per request: the first one is used
    chat.max_tokens = int(chat.body.get("max_tokens") or GLM4_DEFAULT_MAX_TOKENS)
    chat.prompt_tokens = _prompt_tokens(chat.body, chat.messages, len(chat.images))
    plan = plan_reply(ReplyRequest(chat.messages, chat.model, images=chat.images))
    reply = _reply_tokens(plan.text, plan, chat)
    chunks = Glm4vChunks(chat.model, chat.created)
    if not chat.stream:
        completion = len(reply.tokens)
        data = chunks.complete(reply.text, chat.prompt_tokens, completion)
        return complete_reply(data, completion, reply.cut_text)
    # A role chunk, content chunks, an empty-content chunk and an empty delta; no [DONE].
    out = [Frame(0, chunks.chunk({"role": "assistant"}))]
    out.extend(
        Frame(k + 1, chunks.chunk({"role": "assistant", "content": token}))
        for k, token in enumerate(reply.tokens)
    )
    if not reply.cut:
        out.append(Frame(len(reply.tokens), chunks.chunk({"role": "assistant", "content": ""})))
        out.append(Frame(len(reply.tokens), chunks.chunk({})))
    return StreamPlan(out, abort=reply.cut)


# ---------------------------------------------------------------------------------------------
# openai flavour, and the vllm and inline flavours (the same frames, thinking in their shape)


def answer_openai(chat: Chat) -> Answer:
    """A clean OpenAI server answering ``chat``: any data: URL image, usage when asked.

    A thinking model thinks first, in the flavour's shape (:mod:`glm_tui.demo.thinking`).
    """
    for message in chat.messages:
        urls = _image_urls([message])
        if urls:
            chat.images = []  # the newest message holding images is the one described
        for url in urls:
            if not url.startswith("data:"):
                raise openai_error(
                    400, "The demo server does not download images; attach the image as a "
                    "data: URL.", "invalid_image_url",
                )
            try:
                chat.images.append(inspect_image(decode_data_url(url)))
            except ImageProblem as problem:
                raise openai_error(400, f"Could not read the attached image: {problem}.",
                                   "invalid_image") from None
    tools = [t for t in chat.tools if t.get("type") == "function"]
    limit = chat.body.get("max_tokens") or chat.body.get("max_completion_tokens")
    chat.max_tokens = int(limit) if limit else None
    options = chat.body.get("stream_options")
    chat.include_usage = isinstance(options, dict) and options.get("include_usage") is True
    chat.prompt_tokens = _prompt_tokens(chat.body, chat.messages, len(chat.images))
    plan = plan_reply(ReplyRequest(chat.messages, chat.model, tools, chat.tool_choice,
                                   images=chat.images))
    thought = _thought(chat, plan)
    chunks = OpenAIChunks(chat.model, chat.created, chat.prompt_tokens, chat.include_usage,
                          reasoning_tokens=None if thought is None or chat.flavor != "openai"
                          else thought.count)
    lead = 0 if thought is None else thought.count
    if thought is not None and not thought.closed:
        return _only_thinking(chat, chunks, thought)
    if plan.tool_call is not None:
        return _openai_tool_call(chat, chunks, plan.tool_call, thought)
    if chat.max_tokens is not None and not plan.exact:
        chat.max_tokens = max(chat.max_tokens - lead, 0)  # the reasoning spent part of it
    reply = _reply_tokens(plan.text, plan, chat)
    completion = lead + len(reply.tokens)
    if not chat.stream:
        message = {"role": "assistant", "content": reply.text}
        cut_text = reply.cut_text
        if thought is not None:
            thought.into_message(message)
            cut_text = None if cut_text is None else message["content"][:len(
                message["content"]) - len(reply.text) + len(cut_text)]
        data = chunks.complete(message, reply.finish, completion)
        return complete_reply(data, completion, cut_text)
    out = [chunks.opening(), *_thought_frames(chunks, thought)]
    out.extend(Frame(lead + k + 1, chunks.chunk({"content": token}))
               for k, token in enumerate(reply.tokens))
    if reply.cut:
        return StreamPlan(out, abort=True)
    return chunks.finish(out, reply.finish, completion)


def _thought(chat: Chat, plan: ReplyPlan) -> Thought | None:
    directives, question = parse_directives(last_user_text(chat.messages))
    after_tool = bool(chat.messages) and chat.messages[-1].get("role") == "tool"
    return plan_thought(chat.flavor, chat.body, chat.messages, question, directives,
                        call=plan.tool_call, after_tool=after_tool,
                        limit=None if plan.exact else chat.max_tokens)


def _thought_frames(chunks: OpenAIChunks, thought: Thought | None) -> list[Frame]:
    """The reasoning as stream frames, one per token (the inline tags are tokens too)."""
    if thought is None:
        return []
    pieces = thought.content_pieces() or thought.tokens
    return [Frame(k + 1, chunks.chunk(thought.delta(piece))) for k, piece in enumerate(pieces)]


def _only_thinking(chat: Chat, chunks: OpenAIChunks, thought: Thought) -> Answer:
    """``max_tokens`` ran out while the model was thinking: no answer, finish ``length``."""
    if not chat.stream:
        message = thought.into_message({"role": "assistant", "content": ""})
        return complete_reply(chunks.complete(message, "length", thought.count), thought.count)
    out = [chunks.opening(), *_thought_frames(chunks, thought)]
    return chunks.finish(out, "length", thought.count)


def _openai_tool_call(chat: Chat, chunks: OpenAIChunks, call: ToolPlan,
                      thought: Thought | None = None) -> Answer:
    """A tool call: whole in one body, or streamed as id+name then argument fragments."""
    ref = call_id()
    thinking = 0 if thought is None else thought.count
    completion = thinking + count_tokens(_raw_tool_text(call))
    if not chat.stream:
        message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [{
            "id": ref, "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }]}
        if thought is not None:
            thought.into_message(message)
        return complete_reply(chunks.complete(message, "tool_calls", completion), completion)
    lead = thinking + _lead_tokens(call)
    out = [chunks.opening(), *_thought_frames(chunks, thought),
           Frame(lead, chunks.chunk({"tool_calls": [{
               "index": 0, "id": ref, "type": "function",
               "function": {"name": call.name, "arguments": ""}}]}))]
    out.extend(
        Frame(lead + k + 1, chunks.chunk(
            {"tool_calls": [{"index": 0, "function": {"arguments": token}}]}))
        for k, token in enumerate(_argument_tokens(call, chat))
    )
    return chunks.finish(out, "tool_calls", completion)
