"""Several tool calls in one turn (vLLM-style fragments by index), answered one after the other.

The demo server makes one call per turn like GLM-4, so this test scripts a vLLM-shaped reply byte
for byte on a real loopback server; the follow-up request must carry both results in order.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from glm_tui.chat.tools import WEATHER_TOOL
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Role
from tests.support.raw_server import RawServer, json_script, stream_script
from tests.ui.conftest import make_app, ready, send, wait_for, wait_reply_done

SIZE = (120, 40)


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
            "model": "qwen", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def call_fragment(index: int, *, call_id: str | None = None, name: str | None = None,
                  arguments: str = "") -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": arguments}
    if name:
        function["name"] = name
    fragment: dict[str, Any] = {"index": index, "function": function}
    if call_id:
        fragment.update(id=call_id, type="function")
    return {"tool_calls": [fragment]}


async def test_two_calls_in_one_turn_are_answered_in_order() -> None:
    with RawServer() as raw:
        raw.add(
            json_script(200, {"object": "list", "data": [{"id": "qwen", "object": "model"}]}),
            stream_script([
                chunk({"role": "assistant", "content": ""}),
                chunk(call_fragment(0, call_id="call_paris", name="get_current_weather")),
                chunk(call_fragment(0, arguments='{"location": "Par')),
                chunk(call_fragment(1, call_id="call_rome", name="get_current_weather")),
                chunk(call_fragment(0, arguments='is", "format": "celsius"}')),
                chunk(call_fragment(1, arguments='{"location": "Rome", "format": "celsius"}')),
                chunk({}, "tool_calls"),
            ]),
            stream_script([chunk({"role": "assistant", "content": "Paris 15°C, Rome 18°C."}),
                           chunk({}, "stop")]),
        )
        app = make_app(raw.base_url, kind=ServerKind.OPENAI)
        async with app.run_test(size=SIZE) as pilot:
            screen = await ready(pilot)
            screen.apply_tools([WEATHER_TOOL], "auto")
            await wait_for(pilot, lambda: len(raw.requests) >= 1, what="the models check")
            await send(pilot, "Weather in Paris and Rome?")
            reply = await wait_reply_done(pilot)
            assert [c.id for c in reply.tool_calls] == ["call_paris", "call_rome"]
            view = screen.messages.get_view(reply)
            assert view is not None
            blocks = str(view.query_one(".tool-calls", Static).render())
            assert '"Paris"' in blocks and '"Rome"' in blocks

            assert screen.tool_loop.answering is not None
            assert screen.tool_loop.answering.id == "call_paris"
            await send(pilot, "15°C")
            await wait_for(pilot, lambda: screen.tool_loop.answering is not None
                           and screen.tool_loop.answering.id == "call_rome", what="second call")
            assert len(raw.requests) == 2  # nothing is sent until every call is answered
            await send(pilot, "18°C")
            await wait_for(pilot, lambda: screen.session.messages[-1].content
                           == "Paris 15°C, Rome 18°C.", what="the final reply")

        follow_up = raw.requests[2].json()["messages"]
        assert [m["role"] for m in follow_up] == ["user", "assistant", "tool", "tool"]
        assert [(m["tool_call_id"], m["content"]) for m in follow_up[2:]] == [
            ("call_paris", "15°C"), ("call_rome", "18°C")]
        assert [m.role for m in screen.session.messages] == [
            Role.USER, Role.ASSISTANT, Role.TOOL, Role.TOOL, Role.ASSISTANT]
