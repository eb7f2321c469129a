"""Tool definitions: every bad input the editor must refuse, and the request shape they produce."""

from __future__ import annotations

import json

from glm_tui.chat.request import build_request
from glm_tui.chat.tools import (
    TEMPLATES,
    WEATHER_TOOL,
    call_warnings,
    check_tool_set,
    handler_of,
    parse_tool_text,
    pretty_arguments,
    recognise_raw_call,
    tool_choice_value,
    with_settings,
)
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Message, Role, Session, ToolCall


def test_reference_weather_tool_is_valid() -> None:
    spec, problems = parse_tool_text(json.dumps(WEATHER_TOOL, indent=2))
    assert problems == []
    assert spec == WEATHER_TOOL


def test_every_template_is_valid() -> None:
    for name, template in TEMPLATES.items():
        _, problems = parse_tool_text(json.dumps(template))
        assert problems == [], name


def test_not_json_says_line_and_column() -> None:
    _, problems = parse_tool_text('{\n  "type": "function",\n  "function": {,}\n}')
    assert len(problems) == 1
    assert str(problems[0]).startswith("line 3, column 16: not valid JSON")


def test_json_that_is_not_a_tool() -> None:
    _, problems = parse_tool_text("[1, 2, 3]")
    assert "must be a JSON object" in str(problems[0])
    _, problems = parse_tool_text('{"name": "x"}')
    assert 'missing "type"' in str(problems[0])
    _, problems = parse_tool_text('{"type": "weather"}')
    assert 'unknown tool type "weather"' in str(problems[0])


def test_parameters_that_are_not_a_schema_give_the_json_path() -> None:
    bad = json.loads(json.dumps(WEATHER_TOOL))
    bad["function"]["parameters"]["properties"]["location"]["type"] = "strin"
    _, problems = parse_tool_text(json.dumps(bad))
    assert problems
    assert "$.function.parameters.properties.location.type" in str(problems[0])
    assert "not a valid JSON Schema" in str(problems[0])


def test_bad_names_are_refused_with_the_reason() -> None:
    for name, reason in [("get weather", "no spaces"), ("x" * 65, "65 characters")]:
        tool = json.loads(json.dumps(WEATHER_TOOL))
        tool["function"]["name"] = name
        _, problems = parse_tool_text(json.dumps(tool))
        assert reason in str(problems[0])


def test_a_one_megabyte_definition_is_refused() -> None:
    tool = json.loads(json.dumps(WEATHER_TOOL))
    tool["function"]["description"] = "x" * 1_000_000
    spec, problems = parse_tool_text(json.dumps(tool))
    assert spec is None
    assert "the limit is 100,000" in str(problems[0])


def test_two_tools_with_one_name() -> None:
    assert "two tools are named" in check_tool_set([WEATHER_TOOL, WEATHER_TOOL])[0]


def test_disabled_tools_and_settings_never_reach_the_server() -> None:
    session = Session(messages=[Message(Role.USER, "hi")])
    session.tools = [
        with_settings(WEATHER_TOOL, handler=["/bin/echo", "23°C"]),
        with_settings({"type": "cogview"}, enabled=False),
    ]
    session.tool_choice = tool_choice_value("auto")
    request = build_request(session, ServerKind.GLM4)
    assert request["tools"] == [WEATHER_TOOL]
    assert request["tool_choice"] == "auto"
    assert handler_of(session.tools[0]) == ["/bin/echo", "23°C"]
    session.tools = [with_settings(WEATHER_TOOL, enabled=False)]
    request = build_request(session, ServerKind.GLM4)
    assert "tools" not in request and "tool_choice" not in request


def test_tool_choice_names_one_function() -> None:
    assert tool_choice_value("get_current_weather") == {
        "type": "function", "function": {"name": "get_current_weather"}
    }


def test_calls_to_unknown_or_disabled_tools_and_bad_arguments_warn() -> None:
    call = ToolCall("call_1", "get_stock", "{not json")
    warnings = call_warnings(call, [WEATHER_TOOL])
    assert "not defined" in warnings[0]
    assert "not valid JSON" in warnings[1]
    disabled = with_settings(WEATHER_TOOL, enabled=False)
    warnings = call_warnings(ToolCall("c", "get_current_weather", "{}"), [disabled])
    assert "disabled" in warnings[0]
    assert pretty_arguments('{"a":1}') == ('{\n  "a": 1\n}', True)


def test_glm_raw_tool_text_is_recognised_only_for_enabled_tools() -> None:
    raw = 'get_current_weather\n{"location": "San Francisco, CA", "format": celsius}'
    call = recognise_raw_call(raw, {"get_current_weather"}, "call_x")
    assert call is not None
    assert call.name == "get_current_weather"
    assert call.arguments.startswith('{"location"')
    assert recognise_raw_call(raw, set(), "call_x") is None
    assert recognise_raw_call("The weather is fine\n{}", {"get_current_weather"}, "c") is None


def test_tool_result_turn_matches_the_reference_client() -> None:
    call = ToolCall(
        "call_1717912616815",
        "get_current_weather",
        '{"location": "San Francisco, CA", "format": "celsius"}',
    )
    session = Session(tools=[WEATHER_TOOL], tool_choice="auto", messages=[
        Message(Role.USER, "What's the Celsius temperature in San Francisco?"),
        Message(Role.ASSISTANT, "", tool_calls=[call]),
        Message(Role.TOOL, "23°C", tool_call_id=call.id, name=call.name),
    ])
    messages = build_request(session, ServerKind.GLM4)["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{
            "id": "call_1717912616815",
            "type": "function",
            "function": {
                "name": "get_current_weather",
                "arguments": '{"location": "San Francisco, CA", "format": "celsius"}',
            },
        }],
    }
    assert messages[2] == {
        "tool_call_id": "call_1717912616815",
        "role": "tool",
        "name": "get_current_weather",
        "content": "23°C",
    }
