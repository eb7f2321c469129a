"""A reply's answers: which are kept by Ctrl+R, choosing one, the one JSON form, and what the
request and the exports make of them."""

from __future__ import annotations

import json

import pytest

from glm_tui.chat.alternatives import kept_answers, switch_refusal, take_kept
from glm_tui.chat.export import ImportProblems, import_json, render
from glm_tui.chat.request import build_messages
from glm_tui.model.alternatives import choose, variants
from glm_tui.model.sampling import SamplingParams
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import (
    MadeWith,
    Message,
    MessageStatus,
    Role,
    Session,
    ToolCall,
    Usage,
)

WARM = MadeWith("glm-4", SamplingParams(temperature=0.9))
COLD = MadeWith("glm-4", SamplingParams(temperature=0.1))


def _asked_twice() -> tuple[Session, Message]:
    """A question whose first answer (warm) was kept when it was asked again (cold)."""
    first = Message(Role.ASSISTANT, "Warm answer", usage=Usage(3, 5), made_with=WARM)
    second = Message(Role.ASSISTANT, "Cold answer", made_with=None)
    take_kept(second, kept_answers(first), COLD)
    return Session(messages=[Message(Role.USER, "Question"), second]), second


def test_asked_again_the_new_reply_is_the_newest_of_the_answers() -> None:
    _, reply = _asked_twice()
    assert [v.content for v in variants(reply)] == ["Warm answer", "Cold answer"]
    assert reply.alternative_position == 1 and reply.made_with == COLD
    choose(reply, 0)
    assert (reply.content, reply.made_with, reply.usage) == ("Warm answer", WARM, Usage(3, 5))
    assert [v.content for v in variants(reply)] == ["Warm answer", "Cold answer"]
    with pytest.raises(IndexError):
        choose(reply, 2)


def test_failed_empty_answers_and_answers_that_called_tools_are_not_kept() -> None:
    failed = Message(Role.ASSISTANT, "", status=MessageStatus.FAILED, error="HTTP 500")
    assert kept_answers(failed) == []
    _, reply = _asked_twice()
    reply.content, reply.status = "", MessageStatus.FAILED  # asked a third time, it failed
    assert [v.content for v in kept_answers(reply)] == ["Warm answer"]
    calling = Message(Role.ASSISTANT, "", tool_calls=[ToolCall("c1", "f", "{}")])
    assert kept_answers(calling) == []
    _, reply = _asked_twice()  # the answer shown called tools: the earlier one is still kept
    reply.tool_calls = [ToolCall("c1", "f", "{}")]
    assert [v.content for v in kept_answers(reply)] == ["Warm answer"]
    assert "called tools" in (switch_refusal(reply, -1) or "")


def test_switching_is_refused_with_a_reason() -> None:
    _, reply = _asked_twice()
    assert switch_refusal(reply, -1) is None
    assert "newest answer (2 of 2)" in (switch_refusal(reply, 1) or "")
    single = Message(Role.ASSISTANT, "only")
    assert "Ctrl+R" in (switch_refusal(single, 1) or "")
    reply.status = MessageStatus.STREAMING
    assert "still arriving" in (switch_refusal(reply, -1) or "")


def test_the_request_and_the_markdown_have_the_chosen_answer_only() -> None:
    session, reply = _asked_twice()
    choose(reply, 0)
    session.messages.append(Message(Role.USER, "Next"))
    sent = build_messages(session, ServerKind.GLM4)
    assert [m["content"] for m in sent if m["role"] == "assistant"] == ["Warm answer"]
    markdown = render(session, "markdown")
    assert "Warm answer" in markdown and "Cold answer" not in markdown
    assert "## Assistant · answer 1 of 2" in markdown


def test_the_json_export_keeps_every_answer_and_imports_them_back() -> None:
    session, reply = _asked_twice()
    data = json.loads(render(session, "json"))
    assert [m["content"] for m in data["messages"] if m["role"] == "assistant"] == [
        "Cold answer"]
    again = import_json(data)
    assert again.messages[1] == reply


@pytest.mark.parametrize(("alternatives", "words"), [
    ({"position": 3, "others": []}, "position"),
    ({"others": [{"content": 5}]}, "expected text"),
    ({"others": [{"content": "x", "colour": "red"}]}, "unknown field 'colour'"),
    ({"others": [{"made_with": {"model": "m", "sampling": {"temperature": 9}}}]},
     "temperature"),
    ([1, 2], "must be an object"),
])
def test_bad_alternatives_in_a_file_are_named_and_nothing_is_imported(
    alternatives: object, words: str,
) -> None:
    session, _ = _asked_twice()
    data = json.loads(render(session, "json"))
    data["glm_tui"]["messages"][1]["alternatives"] = alternatives
    with pytest.raises(ImportProblems) as caught:
        import_json(data)
    assert "glm_tui.messages[1]: its alternatives cannot be read" in str(caught.value)
    assert words in str(caught.value)
