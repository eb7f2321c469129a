"""The tool-call loop: what still waits for an answer, and how answers and raw calls are made."""

from __future__ import annotations

import pytest

from glm_tui.chat.tool_turns import (
    answer,
    pending_calls,
    recognise_calls,
    stream_for_request,
)
from glm_tui.chat.tools import WEATHER_TOOL, with_settings
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Message, MessageStatus, Role, Session, ToolCall

CALL_A = ToolCall("call_a", "get_current_weather", '{"location": "Paris"}')
CALL_B = ToolCall("call_b", "get_current_weather", '{"location": "Rome"}')


def test_calls_wait_until_each_is_answered() -> None:
    session = Session(messages=[
        Message(Role.USER, "weather in Paris and Rome?"),
        Message(Role.ASSISTANT, "", tool_calls=[CALL_A, CALL_B]),
    ])
    assert pending_calls(session) == [CALL_A, CALL_B]
    session.messages.append(answer(CALL_B, "18°C"))
    assert pending_calls(session) == [CALL_A]
    session.messages.append(answer(CALL_A, "15°C"))
    assert pending_calls(session) == []
    session.messages.append(Message(Role.ASSISTANT, "Paris 15°C, Rome 18°C."))
    assert pending_calls(session) == []


def test_an_empty_result_is_refused() -> None:
    with pytest.raises(ValueError, match="the result is empty"):
        answer(CALL_A, "   ")
    message = answer(CALL_A, "23°C")
    assert (message.role, message.tool_call_id, message.name) == (Role.TOOL, "call_a",
                                                                  "get_current_weather")


def test_raw_glm_text_becomes_a_call_only_for_enabled_tools() -> None:
    raw = 'get_current_weather\n{"location": "San Francisco, CA", "format": "celsius"}'
    session = Session(tools=[WEATHER_TOOL])
    [call] = recognise_calls(raw, session)
    assert call.name == "get_current_weather" and call.id.startswith("call_")
    session.tools = [with_settings(WEATHER_TOOL, enabled=False)]
    assert recognise_calls(raw, session) == []


def test_all_tools_on_glm4_go_without_streaming_and_say_why() -> None:
    session = Session(tools=[{"type": "cogview"}])
    stream, note = stream_for_request(session, ServerKind.GLM4)
    assert stream is False and note and "cogview" in note
    assert stream_for_request(session, ServerKind.OPENAI) == (True, None)
    session.stream = False
    assert stream_for_request(session, ServerKind.GLM4) == (False, None)


def test_calls_of_a_cancelled_or_cut_reply_never_wait_and_are_not_sent() -> None:
    from glm_tui.chat.request import build_request

    cut = ToolCall("call_cut", "get_current_weather", '{"location": "Par')
    for status in (MessageStatus.CANCELLED, MessageStatus.INTERRUPTED, MessageStatus.FAILED):
        session = Session(tools=[WEATHER_TOOL], messages=[
            Message(Role.USER, "weather?"),
            Message(Role.ASSISTANT, "Let me check", tool_calls=[cut], status=status),
            Message(Role.USER, "never mind, hello"),
        ])
        assert pending_calls(Session(messages=session.messages[:2])) == []
        sent = build_request(session, ServerKind.OPENAI)["messages"]
        assert sent[1] == {"role": "assistant", "content": "Let me check"}
        session.messages[1].content = ""
        sent = build_request(session, ServerKind.OPENAI)["messages"]
        assert sent == [{"role": "user", "content": "never mind, hello"}]


def test_questions_whose_replies_failed_are_not_context_for_the_next_one() -> None:
    from glm_tui.chat.request import build_request

    session = Session(messages=[
        Message(Role.USER, "first"),
        Message(Role.ASSISTANT, "", status=MessageStatus.FAILED, error="HTTP 500"),
        Message(Role.USER, "second"),
        Message(Role.ASSISTANT, "", status=MessageStatus.CANCELLED),
        Message(Role.USER, "third"),
    ])
    sent = build_request(session, ServerKind.GLM4)["messages"]
    assert sent == [{"role": "user", "content": "third"}]
    assert [m.content for m in session.messages if m.role is Role.USER] == [
        "first", "second", "third"]  # the session itself keeps every question


def test_two_questions_in_a_row_go_as_one_turn() -> None:
    from glm_tui.chat.request import build_request

    session = Session(messages=[Message(Role.USER, "first"), Message(Role.USER, "second")])
    sent = build_request(session, ServerKind.GLM4)["messages"]
    assert sent == [{"role": "user", "content": "first\n\nsecond"}]
