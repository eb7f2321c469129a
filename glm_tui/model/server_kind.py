"""What each kind of server does with each sampling setting, and telling the kinds apart.

A setting the server silently drops is worse than one it does not offer: the person tunes it,
compares answers, and draws conclusions from noise. So every field of the settings screen says
what *this* server does with it (PROTOCOL.md), and values a server is known to reject are named
before the request goes out rather than after an opaque error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from glm_tui.model.sampling import FIELD_SPECS, SamplingParams, Thinking


class ServerKind(StrEnum):
    """What a server profile talks to; decides request shaping and which settings are honoured."""

    GLM4 = "glm4"
    GLM4V = "glm4v"
    OPENAI = "openai"
    ZHIPU = "zhipu"  # the hosted GLM API (open.bigmodel.cn): rejects top_p = 1 and temperature = 0
    VLLM = "vllm"  # vLLM or SGLang: honour every setting; thinking via chat_template_kwargs
    GENERIC = "generic"


class Support(StrEnum):
    """How a server treats one sampling setting."""

    HONOURED = "honoured"  # sent and used
    IGNORED = "ignored"  # sent (or not) but dropped or without effect: changing it changes nothing
    BOUNDED = "bounded"  # used, but some values inside glm-tui's range are rejected
    UNKNOWN = "unknown"  # an unidentified server: sent as set, most servers use it


@dataclass(frozen=True)
class ParamSupport:
    """One setting on one server kind: the verdict and the words shown beside the field."""

    field: str
    support: Support
    note: str


@dataclass(frozen=True)
class SendWarning:
    """A set value the server is known to refuse, with what to use instead."""

    field: str
    message: str


KIND_LABELS: dict[ServerKind, str] = {
    ServerKind.GLM4: "GLM-4 local server",
    ServerKind.GLM4V: "GLM-4V local server",
    ServerKind.OPENAI: "OpenAI",
    ServerKind.ZHIPU: "hosted GLM API (Zhipu)",
    ServerKind.VLLM: "vLLM or SGLang server",
    ServerKind.GENERIC: "OpenAI-compatible server",
}

_GLM4_DROPPED = ("presence_penalty", "frequency_penalty", "seed", "stop")

_NOTES: dict[ServerKind, dict[str, tuple[Support, str]]] = {
    ServerKind.GLM4: {
        "temperature": (Support.HONOURED, "used; the server's own default is 0.8"),
        "top_p": (Support.HONOURED, "used; the server's own default is 0.8"),
        "max_tokens": (Support.HONOURED, "used; empty means the server's 1024"),
        **{
            name: (Support.IGNORED, "ignored: the GLM-4 local server drops it")
            for name in _GLM4_DROPPED
        },
        "presence_penalty": (
            Support.IGNORED,
            "ignored: the GLM-4 local server drops it (fixed at 1.0)",
        ),
    },
    ServerKind.GLM4V: {
        "temperature": (Support.IGNORED, "no effect: GLM-4V samples greedily (top_k 1)"),
        "top_p": (Support.IGNORED, "no effect: GLM-4V samples greedily (top_k 1)"),
        "max_tokens": (Support.HONOURED, "used; empty means the server's 1024"),
        **{
            name: (Support.IGNORED, "ignored: the GLM-4V local server drops it")
            for name in _GLM4_DROPPED
        },
    },
    ServerKind.ZHIPU: {
        "temperature": (Support.BOUNDED, "used; the hosted GLM API rejects exactly 0"),
        "top_p": (Support.BOUNDED, "used; the hosted GLM API rejects exactly 1"),
        "max_tokens": (Support.HONOURED, "used"),
        "presence_penalty": (Support.IGNORED, "not a hosted GLM API parameter: expect no effect"),
        "frequency_penalty": (Support.IGNORED, "not a hosted GLM API parameter: expect no effect"),
        "seed": (Support.IGNORED, "not a hosted GLM API parameter: expect no effect"),
        "stop": (Support.HONOURED, "used"),
    },
    ServerKind.OPENAI: {name: (Support.HONOURED, "used") for name in FIELD_SPECS},
    ServerKind.VLLM: {name: (Support.HONOURED, "used") for name in FIELD_SPECS},
    ServerKind.GENERIC: {
        name: (Support.UNKNOWN, "sent as set; most OpenAI-compatible servers use it")
        for name in FIELD_SPECS
    },
}


def param_support(kind: ServerKind | None, field: str) -> ParamSupport:
    """What ``kind`` does with ``field``; an unknown kind (``None``) is treated as generic."""
    if field not in FIELD_SPECS:
        raise KeyError(field)
    support, note = _NOTES[kind or ServerKind.GENERIC][field]
    return ParamSupport(field, support, note)


def ignored_fields(kind: ServerKind | None, params: SamplingParams) -> list[str]:
    """The fields that are set (so sent) but that this server drops or ignores."""
    sent = params.to_request()
    return [
        name for name in FIELD_SPECS
        if name in sent and param_support(kind, name).support is Support.IGNORED
    ]


def send_warnings(kind: ServerKind | None, params: SamplingParams) -> list[SendWarning]:
    """Set values the server will reject; the caller warns before sending.

    The hosted GLM API answers ``top_p = 1`` and ``temperature = 0`` with a 400 error (code 1210)
    instead of treating them as "no nucleus cut" and "greedy".
    """
    warnings: list[SendWarning] = []
    if kind is ServerKind.ZHIPU:
        if params.temperature == 0:
            warnings.append(SendWarning(
                "temperature",
                "the hosted GLM API rejects temperature 0; use 0.01 for near-greedy answers",
            ))
        if params.top_p == 1:
            warnings.append(SendWarning(
                "top_p", "the hosted GLM API rejects top_p 1; use 0.99, or leave it at 0.8",
            ))
    return warnings


_OPENAI_MODEL = re.compile(r"^(gpt-|o\d|chatgpt-|text-embedding-|dall-e|whisper-|tts-)")


def kind_from_url(base_url: str) -> ServerKind | None:
    """The kind given away by the host alone (hosted APIs), or ``None`` when it says nothing."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "bigmodel.cn" or host.endswith(".bigmodel.cn"):
        return ServerKind.ZHIPU
    if host == "api.openai.com":
        return ServerKind.OPENAI
    return None


_GLM_LOCAL_IDS = {"glm-4", "glm-4v-9b"}
_GLM_LOCAL_KINDS = (ServerKind.GLM4, ServerKind.GLM4V)


def is_vision_model(model: str) -> bool:
    """Whether a model name is a GLM vision model (``glm-4v``, ``GLM-4v-9b``, ``glm-4v-plus``).

    The one place the ``4v`` rule is written: every other decision asks :func:`resolve_kind`.
    """
    return "4v" in model.lower()


def is_vision(kind: ServerKind | None) -> bool:
    """Whether requests of this kind follow the GLM-4V rules (images; no system message)."""
    return kind is ServerKind.GLM4V


def takes_images(kind: ServerKind | None) -> bool:
    """Whether requests of this kind can carry pictures at all.

    Only the GLM-4 text server is known not to (its message content must be a string). Every
    other kind is sent pictures as ``image_url`` parts; a server that then says it cannot read
    them is remembered by the front end (``chat.turn``'s ``images_refused``).
    """
    return kind is not ServerKind.GLM4


def resolve_kind(
    configured: ServerKind | None,
    base_url: str,
    model: str,
    detected: ServerKind | None = None,
) -> ServerKind:
    """The kind a request to ``model`` on this server is shaped for: the one decision.

    The configured kind wins, then the host (hosted APIs), then what ``/v1/models`` gave away
    (``detected``). On a GLM local server the kind follows the chosen model: ``glm-4v`` on a
    GLM-4 server gets the GLM-4V rules (the demo server answers as either, by model). Before
    anything is known (``ask`` does not spend a round trip on ``/v1/models``, the app has not
    heard back yet) a vision model gets the GLM-4V shaping, which any server accepts for a
    question, and anything else the plain OpenAI way.
    """
    kind = configured or kind_from_url(base_url) or detected
    if kind is None:
        return ServerKind.GLM4V if is_vision_model(model) else ServerKind.GENERIC
    if kind in _GLM_LOCAL_KINDS and is_vision_model(model):
        return ServerKind.GLM4V
    return kind


def demo_kind(flavor: str) -> ServerKind:
    """The kind of the built-in demo server running ``flavor`` (``glm4``: GLM-4's own server;
    ``vllm``: a vLLM server), so that requests to it are shaped as for the real one."""
    return ServerKind.VLLM if flavor == "vllm" else ServerKind.GLM4


_VLLM_OWNERS = frozenset({"vllm", "sglang"})
"""What vLLM and SGLang write into ``owned_by`` of every ``/v1/models`` entry (their defaults)."""


def detect_kind(
    model_ids: Iterable[str], base_url: str, model: str | None = None, *,
    owners: Iterable[str] = (),
) -> ServerKind:
    """Guess the server kind from its ``/v1/models`` ids and owners, its base URL and the model.

    The GLM-4 local servers list exactly one model: ``glm-4`` (text) or ``GLM-4v-9b`` (vision), so
    such ids identify them (glm-tui's demo server lists both and answers as either, by model: so
    ``model`` picks between them, see :func:`resolve_kind`). vLLM and SGLang name themselves in
    each entry's ``owned_by`` (``owners``): they honour every setting and take the thinking
    switch in ``chat_template_kwargs``, whatever model they serve. Ollama and others list the
    checkpoint name and stay generic. Hosted APIs are known by their host. Anything else is
    generic: nothing is claimed that was not seen.
    """
    by_url = kind_from_url(base_url)
    if by_url is not None:
        return by_url
    if any(owner.strip().lower() in _VLLM_OWNERS for owner in owners):
        return ServerKind.VLLM
    lowered = [m.strip().lower() for m in model_ids if m.strip()]
    if lowered and set(lowered) <= _GLM_LOCAL_IDS:
        served = ServerKind.GLM4 if "glm-4" in lowered else ServerKind.GLM4V
        return resolve_kind(None, base_url, model or "", served)
    if lowered and all(_OPENAI_MODEL.match(m) for m in lowered):
        return ServerKind.OPENAI
    return ServerKind.GENERIC


def describe_kind(kind: ServerKind | None) -> str:
    """A short human name for the kind, for headings such as "On the GLM-4 local server"."""
    return KIND_LABELS[kind or ServerKind.GENERIC]


def supported_summary(kind: ServerKind | None, fields: Sequence[str] | None = None) -> str:
    """One line naming the settings this kind ignores, or saying that all are used."""
    names = list(fields) if fields is not None else list(FIELD_SPECS)
    dropped = [n for n in names if param_support(kind, n).support is Support.IGNORED]
    if not dropped:
        return f"{describe_kind(kind)}: every setting is sent"
    return f"{describe_kind(kind)} ignores: {', '.join(dropped)}"


# --- the thinking switch ------------------------------------------------------------------------


class ThinkingSwitch(StrEnum):
    """Where a server kind takes the thinking switch (PROTOCOL.md, "Thinking models")."""

    THINKING_TYPE = "thinking.type"  # the hosted GLM API: {"thinking": {"type": "enabled"}}
    TEMPLATE_KWARGS = "chat_template_kwargs.enable_thinking"  # vLLM, SGLang
    UNKNOWN = "unknown"  # nothing is sent: a guessed field could be refused or misread


@dataclass(frozen=True)
class ThinkingSupport:
    """The switch on one server kind: where it goes, and the words shown beside the field."""

    switch: ThinkingSwitch
    note: str

    @property
    def sent(self) -> bool:
        return self.switch is not ThinkingSwitch.UNKNOWN


_THINKING: dict[ServerKind, ThinkingSupport] = {
    ServerKind.ZHIPU: ThinkingSupport(
        ThinkingSwitch.THINKING_TYPE,
        'sent as thinking.type "enabled" / "disabled"; GLM-4.7 and GLM-5 think by default',
    ),
    ServerKind.VLLM: ThinkingSupport(
        ThinkingSwitch.TEMPLATE_KWARGS,
        "sent as chat_template_kwargs.enable_thinking (the model's chat template decides)",
    ),
    ServerKind.GLM4: ThinkingSupport(
        ThinkingSwitch.UNKNOWN, "not sent: the GLM-4 local server has no thinking switch",
    ),
    ServerKind.GLM4V: ThinkingSupport(
        ThinkingSwitch.UNKNOWN, "not sent: the GLM-4V local server has no thinking switch",
    ),
    ServerKind.OPENAI: ThinkingSupport(
        ThinkingSwitch.UNKNOWN,
        "not sent: OpenAI has no on/off switch (its reasoning models always think)",
    ),
    ServerKind.GENERIC: ThinkingSupport(
        ThinkingSwitch.UNKNOWN,
        'not sent: this server\'s switch is unknown (set kind = "vllm" or "zhipu" in the '
        "server profile if it is one of those)",
    ),
}


def thinking_support(kind: ServerKind | None) -> ThinkingSupport:
    """How ``kind`` takes the thinking switch; an unknown kind (``None``) is treated as generic."""
    return _THINKING[kind or ServerKind.GENERIC]


def thinking_note(kind: ServerKind | None, thinking: Thinking | None) -> str | None:
    """What to tell a person whose thinking switch is set but not sent to this kind, else None."""
    support = thinking_support(kind)
    if thinking is None or support.sent:
        return None
    return f"The thinking switch ({thinking.value}) is {support.note}."


def reasoning_field(kind: ServerKind | None) -> str | None:
    """The message field that carries reasoning back to a server of ``kind``, or None when its
    models never think (the GLM-4 / GLM-4V local servers): GLM-4.5+ chat templates, the hosted
    GLM API, vLLM and SGLang read ``reasoning_content`` on an assistant message."""
    return None if kind in (ServerKind.GLM4, ServerKind.GLM4V) else "reasoning_content"


def thinking_request(kind: ServerKind | None, thinking: Thinking | None) -> dict[str, Any]:
    """The request fields that carry ``thinking`` to a server of ``kind``: the one translation.

    ``None`` (server default) sends nothing anywhere; a kind whose switch is unknown gets
    nothing either, and :func:`thinking_support` says so beside the field.
    """
    if thinking is None:
        return {}
    enabled = thinking is Thinking.ON
    switch = thinking_support(kind).switch
    if switch is ThinkingSwitch.THINKING_TYPE:
        return {"thinking": {"type": "enabled" if enabled else "disabled"}}
    if switch is ThinkingSwitch.TEMPLATE_KWARGS:
        return {"chat_template_kwargs": {"enable_thinking": enabled}}
    return {}
