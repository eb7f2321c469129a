"""Reasoning out to files and back: JSON (both parts), Markdown, and plain OpenAI lists."""

from __future__ import annotations

import json
from pathlib import Path

from glm_tui.chat.export import export_json, export_markdown, import_json
from glm_tui.model.sampling import SamplingParams, Thinking
from glm_tui.model.session import Message, MessageStatus, Role, Session, ToolCall, Usage
from glm_tui.storage.store import SessionStore

NASTY = "Plan: <b>bold</b> [red]x[/] \x1b[2J </details> <details open> `ticks`"


def thinking_session() -> Session:
    call = ToolCall("call_1", "get_weather", '{"city": "Paris"}')
    session = Session(title="Weather", model="glm-4.6", preserve_thinking=True,
                      sampling=SamplingParams(thinking=Thinking.OFF))
    session.messages = [
        Message(Role.USER, "Weather in Paris?"),
        Message(Role.ASSISTANT, "", tool_calls=[call], reasoning="I should call the tool.",
                reasoning_seconds=1.25, usage=Usage(10, 20, reasoning_tokens=6)),
        Message(Role.TOOL, '{"temp": 21}', tool_call_id="call_1", name="get_weather"),
        Message(Role.ASSISTANT, "21 °C and sunny.", reasoning=NASTY, reasoning_seconds=0.5),
        Message(Role.USER, "And tomorrow?"),
        Message(Role.ASSISTANT, "", status=MessageStatus.CANCELLED, reasoning="Cut short"),
    ]
    for number, message in enumerate(session.messages):
        message.id = 10 + number
    return session


def test_json_round_trip_keeps_every_reasoning_and_setting() -> None:
    session = thinking_session()
    text = json.dumps(export_json(session))
    again = import_json(text)
    assert again == session
    assert again.messages[5].reasoning == "Cut short"  # a cut reply keeps its thinking
    assert again.sampling.thinking is Thinking.OFF and again.preserve_thinking


def test_json_messages_carry_reasoning_content_on_assistant_messages() -> None:
    exported = export_json(thinking_session())
    assistants = [m for m in exported["messages"] if m["role"] == "assistant"]
    assert [m.get("reasoning_content") for m in assistants] == [
        "I should call the tool.", NASTY]
    assert exported["glm_tui"]["messages"][1]["reasoning_seconds"] == 1.25


def test_the_store_to_export_to_import_round_trip(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data")
    try:
        session = thinking_session()
        store.create_session(session)
        loaded = store.load_session(session.id)
        assert import_json(json.dumps(export_json(loaded))) == loaded
        assert loaded.messages[3].reasoning == NASTY
    finally:
        store.close()


def test_a_session_without_thinking_exports_as_before() -> None:
    session = Session(messages=[Message(Role.USER, "hi"), Message(Role.ASSISTANT, "hello")])
    exported = export_json(session)
    assert "thinking" not in exported["glm_tui"]["session"]["sampling"]
    assert "reasoning" not in exported["glm_tui"]["messages"][1]
    assert "reasoning_content" not in exported["messages"][1]


def test_plain_openai_messages_bring_their_reasoning() -> None:
    session = import_json({"messages": [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4", "reasoning_content": "Add them."},
        {"role": "user", "content": "3+3?"},
        {"role": "assistant", "content": "6", "reasoning": "Add again."},
    ]})
    assert [m.reasoning for m in session.messages] == ["", "Add them.", "", "Add again."]


def test_markdown_puts_reasoning_in_a_collapsed_block_that_cannot_be_closed_early() -> None:
    text = export_markdown(thinking_session())
    assert text.count("<details><summary>Thinking</summary>") == 3
    assert text.count("</details>") == 3  # the one inside the reasoning is neutralised
    assert "> Plan: <b>bold</b> [red]x[/] \x1b[2J &lt;/details> &lt;details open>" in text
    block = text.index("<details><summary>Thinking</summary>\n\n> I should call the tool.")
    assert block < text.index("Tool call `get_weather`")
