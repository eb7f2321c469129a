"""Is the model a session asks for one the server offers? Said once, with the list, up front.

A model name the server does not have fails later and less clearly: a 404 or 400 after the first
question, or (on a GLM-4 local server, which ignores the name) answers from another model than
the one the person thinks they chose. Once ``/v1/models`` has answered, the app compares and says
so with the list; ``glm-tui ask`` does not spend a round trip on it before asking, and asks the
list only when the request failed, to say whether the model name is the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from glm_tui.client.errors import ClientError
from glm_tui.client.events import StreamError
from glm_tui.model.server_kind import is_vision_model

MODEL_REFUSALS = (400, 404)
"""Statuses a server answers an unknown model with (vLLM, OpenAI and Ollama 404; LM Studio and
the hosted GLM API 400): after one of these, ``ask`` looks at the model list."""

SHOWN_IDS = 12
"""Model ids quoted in the note; a server with hundreds (a hosted API) gets "and N more"."""


def is_listed(model: str, listed: Sequence[str], *, glm_local: bool = False) -> bool:
    """Whether a request for ``model`` reaches a model the server lists.

    Ids are compared exactly, then ignoring case (``GLM-4v-9b`` and ``glm-4v-9b``). A GLM-4 local
    server answers any name with the one model it runs, text or vision (glm-tui's demo server
    runs both and picks by name): there a name of the same kind counts as listed.
    """
    if model in listed or model.lower() in {m.lower() for m in listed}:
        return True
    return glm_local and any(is_vision_model(m) == is_vision_model(model) for m in listed)


def unlisted_model_note(model: str, listed: Sequence[str], *,
                        glm_local: bool = False) -> str | None:
    """The words for a model the server does not list, or ``None`` when all is well.

    An empty list says nothing (some servers list no models, or cannot): no guess is made.
    """
    if not listed or is_listed(model, listed, glm_local=glm_local):
        return None
    shown = ", ".join(listed[:SHOWN_IDS])
    if len(listed) > SHOWN_IDS:
        shown += f" and {len(listed) - SHOWN_IDS} more"
    if glm_local:
        return (f"The model {model!r} is not on this server, which lists only {shown}: a GLM-4 "
                "server answers with its own model whatever name is sent.")
    return f"The model {model!r} is not on this server: its /v1/models lists {shown}."


class ModelLister(Protocol):
    async def list_models(self) -> list[str]: ...


async def note_after_refusal(client: ModelLister, model: str, error: StreamError | None, *,
                             glm_local: bool = False) -> str | None:
    """After a refused request (``ask``), whether the model name is why: the list is asked only
    then, so a question that works costs no extra round trip."""
    if error is None or error.status not in MODEL_REFUSALS:
        return None
    try:
        listed = await client.list_models()
    except ClientError:
        return None
    return unlisted_model_note(model, listed, glm_local=glm_local)
