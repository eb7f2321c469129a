"""An HTTP 500 is explained by the causes that fit the request sent (issue 12 item 2).

GLM-4 and GLM-4V servers answer 500, with no words of their own, to several different mistakes.
The hint used to name "sampling values out of range" whatever was sent, which sent a person
hunting through the settings when a system message to GLM-4V was the cause. Each request here
goes to the real demo server, which answers 500 exactly where the GLM servers do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from glm_tui.client.client import ChatClient
from glm_tui.client.events import StreamError

SAMPLING = "sampling"
SYSTEM = "system message"
ALL_TOOLS = "All Tools"


@pytest.fixture
def demo() -> Iterator[str]:
    from glm_tui.demo.server import DemoServer

    server = DemoServer(flavor="glm4", token_rate=0)
    try:
        yield server.start()
    finally:
        server.stop()


async def failure(base_url: str, request: dict[str, Any]) -> StreamError:
    async with ChatClient(base_url, "EMPTY") as client:
        events = [event async for event in client.chat(request)]
    error = events[-1]
    assert isinstance(error, StreamError), events
    assert error.status == 500, error.message
    return error


def body(model: str = "glm-4", *, stream: bool = True, **extra: Any) -> dict[str, Any]:
    return {"model": model, "stream": stream,
            "messages": [{"role": "user", "content": "Hello"}], **extra}


async def test_a_system_message_to_glm_4v_is_named_and_sampling_is_not(demo: str) -> None:
    request = body("glm-4v")
    request["messages"].insert(0, {"role": "system", "content": "Be brief."})
    error = await failure(demo, request)
    assert SYSTEM in error.message and "GLM-4V" in error.message
    assert SAMPLING not in error.message and ALL_TOOLS not in error.message


async def test_all_tools_with_streaming_are_named(demo: str) -> None:
    error = await failure(demo, body(tools=[{"type": "cogview"}]))
    assert ALL_TOOLS in error.message and "stream" in error.message
    assert SAMPLING not in error.message and SYSTEM not in error.message


async def test_a_sampling_value_out_of_range_is_named_with_its_value(demo: str) -> None:
    error = await failure(demo, body(top_p=0))
    assert "top_p 0" in error.message
    assert SYSTEM not in error.message and ALL_TOOLS not in error.message


async def test_a_png_image_to_glm_4v_is_named(demo: str) -> None:
    request = body("glm-4v")
    request["messages"][0]["content"] = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    error = await failure(demo, request)
    assert "data:image/jpeg" in error.message
    assert SAMPLING not in error.message and SYSTEM not in error.message


async def test_a_500_with_no_known_cause_blames_nothing_it_cannot_see(demo: str) -> None:
    error = await failure(demo, body(messages=[
        {"role": "user", "content": "Hello [[demo:status=500]]"}]))
    for cause in (SAMPLING, SYSTEM, ALL_TOOLS):
        assert cause not in error.message
    assert "try again" in error.message
