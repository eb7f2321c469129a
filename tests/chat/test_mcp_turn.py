"""An MCP call from the model's reply to the tool message, with a real server over real pipes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from glm_tui.chat.attachments import image_loader
from glm_tui.chat.mcp_tools import server_tool_entry
from glm_tui.chat.request import shape_messages
from glm_tui.chat.result_images import keep_result_images
from glm_tui.chat.tool_loop import (
    AnswerByHand,
    AskModel,
    Choice,
    ConfirmServerCall,
    RunServerCall,
    SendResult,
    ToolLoop,
)
from glm_tui.chat.tools import WEATHER_TOOL, tool_name
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Message, MessageStatus, Role, Session, ToolCall
from glm_tui.storage.store import SessionStore
from glm_tui.tool_servers.servers import ToolServers
from tests.support.mcp_servers import stdio_profile

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ToolServers]:
    running = ToolServers({"kit": stdio_profile("kit")}, tmp_path_factory.mktemp("logs"))
    try:
        yield running
    finally:
        await running.stop_all()


async def session_with_kit_tools(servers: ToolServers, *calls: ToolCall) -> Session:
    taken = {tool_name(WEATHER_TOOL)}
    entries = [server_tool_entry(tool, taken) for tool in await servers.tools("kit")]
    return Session(tools=[WEATHER_TOOL, *entries], messages=[
        Message(Role.USER, "echo and draw"),
        Message(Role.ASSISTANT, "", tool_calls=list(calls), status=MessageStatus.COMPLETE),
    ])


async def run(servers: ToolServers, loop: ToolLoop, step: RunServerCall) -> SendResult:
    result = await servers.call(step.server, step.tool, step.arguments)
    done = loop.server_call_done(step.call, result)
    assert isinstance(done, SendResult)
    return done


async def test_confirm_run_result_then_the_model_goes_on(servers: ToolServers,
                                                         tmp_path: Path) -> None:
    echo = ToolCall("c1", "echo", '{"text": "hello"}')
    picture = ToolCall("c2", "picture", "{}")
    session = await session_with_kit_tools(servers, echo, picture)
    loop = ToolLoop(session)
    asked = loop.next_step()
    assert asked == ConfirmServerCall(echo, "kit", "echo", '{\n  "text": "hello"\n}')
    step = loop.choose(asked, Choice.RUN_ONCE)
    assert isinstance(step, RunServerCall)
    sent = await run(servers, loop, step)
    session.messages.append(loop.answer(echo, sent.text))
    asked = loop.after()
    assert isinstance(asked, ConfirmServerCall) and asked.tool == "picture"
    step = loop.choose(asked, Choice.ALWAYS)
    assert isinstance(step, RunServerCall)
    sent = await run(servers, loop, step)
    store = SessionStore(tmp_path / "data")
    try:
        images, _ = keep_result_images(store, sent.images, "picture")
        session.messages.append(loop.answer(picture, sent.text, images))
        assert loop.after() == AskModel()
        shaped = shape_messages(session, ServerKind.OPENAI, image_loader(store))
    finally:
        store.close()
    assert [m["role"] for m in shaped.messages] == ["user", "assistant", "tool", "tool", "user"]
    assert shaped.messages[2]["content"] == "hello"


async def test_a_declined_call_never_reaches_the_server(servers: ToolServers) -> None:
    call = ToolCall("c3", "quit", "{}")  # would end the server if it ran
    session = await session_with_kit_tools(servers, call)
    loop = ToolLoop(session)
    asked = loop.next_step()
    assert isinstance(asked, ConfirmServerCall)
    assert loop.choose(asked, Choice.BY_HAND) == AnswerByHand(call)
    session.messages.append(loop.answer(call, ToolLoop.declined(call)))
    assert loop.after() == AskModel()
    assert (await servers.call("kit", "echo", {"text": "alive"})).text == "alive"


async def test_a_tool_error_goes_back_to_the_model_flagged(servers: ToolServers) -> None:
    call = ToolCall("c4", "fail", '{"reason": "no such city"}')
    session = await session_with_kit_tools(servers, call)
    loop = ToolLoop(session)
    asked = loop.next_step()
    assert isinstance(asked, ConfirmServerCall)
    step = loop.choose(asked, Choice.RUN_ONCE)
    assert isinstance(step, RunServerCall)
    sent = await run(servers, loop, step)
    assert sent.text.startswith("The tool reported an error:\n")
    assert "no such city" in sent.text
