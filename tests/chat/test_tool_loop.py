"""The tool loop's decisions without a screen: ask, confirm, run, continue, done."""

from __future__ import annotations

import sys

import pytest

from glm_tui.chat.tool_loop import (
    AnswerByHand,
    AskModel,
    Choice,
    ConfirmHandler,
    Done,
    RunHandler,
    SendResult,
    StaleCall,
    ToolLoop,
)
from glm_tui.chat.tool_runner import HandlerResult, run_handler
from glm_tui.chat.tools import WEATHER_TOOL, with_settings
from glm_tui.model.session import Message, MessageStatus, Role, Session, ToolCall

CALL_A = ToolCall("call_a", "get_current_weather", '{"location": "Paris"}')
CALL_B = ToolCall("call_b", "get_current_weather", '{"location": "Rome"}')
HANDLER = [sys.executable, "-c", "import json,sys; print(json.load(sys.stdin)['location'])"]


def waiting(*calls: ToolCall, tool: dict[str, object] | None = None) -> Session:
    return Session(tools=[tool] if tool is not None else [WEATHER_TOOL], messages=[
        Message(Role.USER, "weather?"),
        Message(Role.ASSISTANT, "", tool_calls=list(calls), status=MessageStatus.COMPLETE),
    ])


def test_without_a_handler_each_call_is_answered_by_hand_then_the_model_goes_on() -> None:
    session = waiting(CALL_A, CALL_B)
    loop = ToolLoop(session)
    assert loop.next_step() == AnswerByHand(CALL_A)
    session.messages.append(loop.answer(CALL_A, "15°C"))
    assert loop.after() == AnswerByHand(CALL_B)
    session.messages.append(loop.answer(CALL_B, "18°C"))
    assert loop.after() == AskModel()
    assert loop.next_step() == Done()


def test_a_handler_is_run_only_after_the_person_says_so() -> None:
    loop = ToolLoop(waiting(CALL_A, tool=with_settings(WEATHER_TOOL, handler=HANDLER)))
    step = loop.next_step()
    assert isinstance(step, ConfirmHandler)
    assert step.handler == HANDLER and sys.executable in step.command
    assert '"location": "Paris"' in step.arguments
    assert loop.choose(step, Choice.BY_HAND) == AnswerByHand(CALL_A)
    assert loop.choose(step, None) == AnswerByHand(CALL_A)  # a dismissed dialog runs nothing
    assert loop.choose(step, Choice.RUN_ONCE) == RunHandler(CALL_A, HANDLER)
    assert isinstance(loop.next_step(), ConfirmHandler)  # once is once


def test_always_allow_runs_later_calls_but_never_on_opening_a_session() -> None:
    session = waiting(CALL_A, tool=with_settings(WEATHER_TOOL, handler=HANDLER))
    loop = ToolLoop(session)
    step = loop.next_step()
    assert isinstance(step, ConfirmHandler)
    assert loop.choose(step, Choice.ALWAYS) == RunHandler(CALL_A, HANDLER)
    assert session.tools[0]["glm_tui"]["always_allow"] is True
    assert loop.next_step() == RunHandler(CALL_A, HANDLER)
    # The same session, just opened (resumed): the person is asked first.
    reopened = ToolLoop(session).next_step(opened=True)
    assert isinstance(reopened, ConfirmHandler) and reopened.call == CALL_A


def test_a_disabled_tool_or_unknown_call_is_answered_by_hand() -> None:
    disabled = with_settings(WEATHER_TOOL, handler=HANDLER, enabled=False, always_allow=True)
    assert ToolLoop(waiting(CALL_A, tool=disabled)).next_step() == AnswerByHand(CALL_A)
    other = ToolCall("call_x", "not_a_tool", "{}")
    assert ToolLoop(waiting(other)).next_step() == AnswerByHand(other)


def test_a_stale_or_empty_answer_is_refused() -> None:
    session = waiting(CALL_A)
    loop = ToolLoop(session)
    with pytest.raises(ValueError, match="empty"):
        loop.answer(CALL_A, "  ")
    with pytest.raises(StaleCall):
        loop.answer(CALL_B, "18°C")
    session.messages.append(Message(Role.USER, "never mind"))
    with pytest.raises(StaleCall):
        loop.answer(CALL_A, "15°C")
    assert loop.declined(CALL_A) == "The user declined to run get_current_weather."


async def test_a_handlers_output_is_the_result_and_a_failure_is_explained() -> None:
    loop = ToolLoop(waiting(CALL_A))
    result = await run_handler(HANDLER, CALL_A.arguments)
    assert loop.handler_done(CALL_A, result) == SendResult(CALL_A, "Paris\n")
    failed = HandlerResult(ok=False, output="", stderr="service down", exit_status=4,
                           error="it exited with status 4")
    step = loop.handler_done(CALL_A, failed)
    assert isinstance(step, AnswerByHand) and step.problem == "handler failed: it exited " \
        "with status 4"
    assert "Exit status: 4." in step.report and "service down" in step.report
    silent = loop.handler_done(CALL_A, HandlerResult(ok=True, output="  \n", stderr="",
                                                     exit_status=0, error=None))
    assert isinstance(silent, AnswerByHand) and "printed nothing" in silent.problem
