"""The tool loop for MCP calls: nothing runs without the person's yes, results go back."""

from __future__ import annotations

import itertools

import pytest

from glm_tui.chat.mcp_tools import server_tool_entry
from glm_tui.chat.tool_loop import (
    TOOL_ERROR_PREFIX,
    AnswerByHand,
    AskModel,
    Choice,
    ConfirmServerCall,
    RunServerCall,
    SendResult,
    ToolLoop,
)
from glm_tui.chat.tools import with_settings
from glm_tui.model.session import Message, MessageStatus, Role, Session, ToolCall
from glm_tui.tool_servers.results import ResultImage, ToolServerResult, failed
from glm_tui.tool_servers.tools import ServerTool

ENTRY = server_tool_entry(ServerTool("time", "get_time", "The time", {"type": "object"}), set())
CALL = ToolCall("call_1", "get_time", '{"tz": "Europe/Paris"}')


def waiting(*calls: ToolCall, entry: dict[str, object] = ENTRY) -> Session:
    return Session(tools=[entry], messages=[
        Message(Role.USER, "time?"),
        Message(Role.ASSISTANT, "", tool_calls=list(calls), status=MessageStatus.COMPLETE),
    ])


def test_a_call_asks_first_showing_the_server_tool_and_exact_arguments() -> None:
    loop = ToolLoop(waiting(CALL))
    assert loop.next_step() == ConfirmServerCall(CALL, "time", "get_time",
                                                 '{\n  "tz": "Europe/Paris"\n}')


def test_run_once_runs_it_and_declining_answers_it_by_hand() -> None:
    loop = ToolLoop(waiting(CALL))
    asked = loop.next_step()
    assert isinstance(asked, ConfirmServerCall)
    assert loop.choose(asked, Choice.RUN_ONCE) == RunServerCall(
        CALL, "time", "get_time", {"tz": "Europe/Paris"})
    assert loop.choose(asked, Choice.BY_HAND) == AnswerByHand(CALL)
    assert loop.choose(asked, None) == AnswerByHand(CALL)
    assert isinstance(loop.next_step(), ConfirmServerCall)  # "once" is not remembered


def test_always_allow_runs_later_calls_unasked_but_never_in_a_just_opened_session() -> None:
    second = ToolCall("call_2", "get_time", "{}")
    session = waiting(CALL, second)
    loop = ToolLoop(session)
    asked = loop.next_step()
    assert isinstance(asked, ConfirmServerCall)
    assert isinstance(loop.choose(asked, Choice.ALWAYS), RunServerCall)
    session.messages.append(loop.answer(CALL, "12:00"))
    assert loop.after() == RunServerCall(second, "time", "get_time", {})
    assert isinstance(loop.next_step(opened=True), ConfirmServerCall)


@pytest.mark.parametrize("arguments", ["[1, 2]", "not json", '"text"', "3"])
def test_arguments_that_are_not_a_json_object_are_answered_by_hand(arguments: str) -> None:
    call = ToolCall("call_x", "get_time", arguments)
    for entry in (ENTRY, with_settings(ENTRY, always_allow=True)):
        step = ToolLoop(waiting(call, entry=entry)).next_step()
        assert isinstance(step, AnswerByHand)
        assert "not a JSON object" in step.problem


def test_empty_arguments_are_an_empty_object() -> None:
    call = ToolCall("call_e", "get_time", "")
    assert ToolLoop(waiting(call)).next_step() == ConfirmServerCall(call, "time", "get_time", "{}")


def test_no_mcp_call_runs_without_a_yes() -> None:
    """Every way into the loop: with or without "always", opened or not, any choice."""
    calls = [ToolCall(f"c{i}", "get_time", args)
             for i, args in enumerate(['{"a": 1}', "{}", "", "[1]"])]
    for always, opened in itertools.product((False, True), repeat=2):
        entry = with_settings(ENTRY, always_allow=True) if always else ENTRY
        for call in calls:
            loop = ToolLoop(waiting(call, entry=entry))
            step = loop.next_step(opened=opened)
            if isinstance(step, RunServerCall):
                assert always and not opened  # the only yes given in advance
            assert isinstance(loop.after(), ConfirmServerCall | RunServerCall | AnswerByHand)
            if isinstance(step, ConfirmServerCall):
                for choice in (None, Choice.BY_HAND):
                    assert isinstance(loop.choose(step, choice), AnswerByHand)


def test_a_disabled_mcp_tool_is_answered_by_hand() -> None:
    loop = ToolLoop(waiting(CALL, entry=with_settings(ENTRY, enabled=False, always_allow=True)))
    assert loop.next_step() == AnswerByHand(CALL)


def test_a_result_is_sent_with_its_pictures_and_a_tool_error_is_flagged() -> None:
    loop = ToolLoop(waiting(CALL))
    picture = ResultImage("image/png", b"\x89PNG")
    assert loop.server_call_done(CALL, ToolServerResult(True, "12:00", (picture,))) == \
        SendResult(CALL, "12:00", (picture,))
    flagged = loop.server_call_done(CALL, ToolServerResult(False, "no such zone"))
    assert flagged == SendResult(CALL, TOOL_ERROR_PREFIX + "no such zone")
    assert loop.server_call_done(CALL, ToolServerResult(True, "  ")) == \
        SendResult(CALL, "(no output)")


def test_a_failed_call_is_answered_by_hand_with_the_words() -> None:
    loop = ToolLoop(waiting(CALL))
    step = loop.server_call_done(CALL, failed('the MCP server "time" stopped during the call'))
    assert isinstance(step, AnswerByHand)
    assert step.problem == 'MCP call failed: the MCP server "time" stopped during the call'
    assert "Write the result by hand" in step.report


def test_after_the_result_the_model_goes_on() -> None:
    session = waiting(CALL)
    loop = ToolLoop(session)
    session.messages.append(loop.answer(CALL, "12:00"))
    assert loop.after() == AskModel()
