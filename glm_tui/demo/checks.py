"""What each demo server flavour rejects before answering, and in which words.

Why it exists: the GLM-4 servers validate with pydantic and answer 422 with a list of field
errors, while a clean OpenAI server answers 400 with one ``{"error": ...}``. Clients must cope
with both, so the demo reproduces both; keeping the validation rules apart from the reply logic
(``flavors``) keeps each readable. Only shapes are checked here; value checks that the GLM-4
server performs later (and turns into bare 500s) belong to the flavour that answers.
"""

from __future__ import annotations

from typing import Any

from glm_tui.demo.wire import WholeResponse, detail, field_error, openai_error


def _valid_part(part: Any) -> bool:
    """A content part both server kinds accept: a text part or an ``image_url`` part."""
    return isinstance(part, dict) and (
        (part.get("type") == "text" and isinstance(part.get("text"), str))
        or (part.get("type") == "image_url"
            and isinstance(part.get("image_url"), dict)
            and isinstance(part["image_url"].get("url"), str))
    )


def json_error(glm4: bool, error: ValueError) -> WholeResponse:
    """The answer to a body that is not JSON at all."""
    if glm4:
        problem = field_error("json_invalid", [0], "JSON decode error", {})
        problem["ctx"] = {"error": str(error)}
        return detail(422, [problem])
    return openai_error(400, f"The request body is not valid JSON: {error}.", None)


# ---------------------------------------------------------------------------------------------
# GLM-4 and GLM-4V: pydantic-like 422 details


def _check_optional(
    body: dict[str, Any], name: str, kind: str, errors: list[dict[str, Any]]
) -> None:
    value = body.get(name)
    if value is None:
        return
    if kind == "float" and (isinstance(value, bool) or not isinstance(value, int | float)):
        errors.append(field_error("float_type", [name], "Input should be a valid number", value))
    elif kind == "int" and not (
        (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer())
    ):
        errors.append(field_error("int_type", [name], "Input should be a valid integer", value))
    elif kind == "bool" and not isinstance(value, bool):
        errors.append(field_error("bool_type", [name], "Input should be a valid boolean", value))


def glm4_checks(body: Any, vision: bool) -> list[dict[str, Any]]:
    """The 422 details the GLM-4 (or GLM-4V) server's pydantic models would give."""
    if not isinstance(body, dict):
        return [
            field_error(
                "model_attributes_type", [],
                "Input should be a valid dictionary or object to extract fields from", body,
            )
        ]
    errors: list[dict[str, Any]] = []
    for name in ("model", "messages"):
        if name not in body:
            errors.append(field_error("missing", [name], "Field required", body))
    if "model" in body and not isinstance(body["model"], str):
        errors.append(
            field_error("string_type", ["model"], "Input should be a valid string", body["model"])
        )
    messages = body.get("messages")
    if "messages" in body and not isinstance(messages, list):
        errors.append(
            field_error("list_type", ["messages"], "Input should be a valid list", messages)
        )
    for index, message in enumerate(messages if isinstance(messages, list) else []):
        errors.extend(_message_errors(index, message, vision))
    for name, kind in (("temperature", "float"), ("top_p", "float"), ("max_tokens", "int"),
                       ("stream", "bool"), ("repetition_penalty", "float")):
        _check_optional(body, name, kind, errors)
    if not vision:
        tools = body.get("tools")
        if tools is not None and not isinstance(tools, dict | list):
            errors.append(
                field_error("list_type", ["tools"], "Input should be a valid list", tools)
            )
        choice = body.get("tool_choice")
        if choice is not None and not isinstance(choice, str | dict):
            errors.append(field_error("string_type", ["tool_choice"],
                                      "Input should be a valid string", choice))
    return errors


def _message_errors(index: int, message: Any, vision: bool) -> list[dict[str, Any]]:
    """The 422 details for one message; the vision server has no ``tool`` role or tool calls."""
    if not isinstance(message, dict):
        return [field_error("model_type", ["messages", index],
                            "Input should be a valid dictionary or instance of a message",
                            message)]
    errors: list[dict[str, Any]] = []
    roles = ("user", "assistant", "system") if vision else ("user", "assistant", "system", "tool")
    expected = ", ".join(f"'{r}'" for r in roles[:-1]) + f" or '{roles[-1]}'"
    role = message.get("role")
    if "role" not in message:
        errors.append(field_error("missing", ["messages", index, "role"], "Field required",
                                  message))
    elif role not in roles:
        error = field_error("literal_error", ["messages", index, "role"],
                            f"Input should be {expected}", role)
        error["ctx"] = {"expected": expected}
        errors.append(error)
    content = message.get("content")
    if vision:
        errors.extend(_vision_content_errors(index, message))
    elif content is not None and not isinstance(content, str):
        errors.append(field_error("string_type", ["messages", index, "content"],
                                  "Input should be a valid string", content))
    calls = message.get("tool_calls")
    if not vision and calls is not None and (
        not isinstance(calls, list)
        or not all(isinstance(c, dict) and isinstance(c.get("function"), dict) for c in calls)
    ):
        errors.append(field_error("list_type", ["messages", index, "tool_calls"],
                                  "Input should be a valid list of tool calls", calls))
    return errors


def _vision_content_errors(index: int, message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    loc: list[Any] = ["messages", index, "content"]
    if "content" not in message:
        return [field_error("missing", loc, "Field required", message)]
    if isinstance(content, str):
        return []
    if not isinstance(content, list):
        return [field_error("string_type", loc, "Input should be a valid string", content)]
    return [
        field_error("union_tag_invalid", [*loc, position],
                    "Input should be a text or image_url part", part)
        for position, part in enumerate(content)
        if not _valid_part(part)
    ]


# ---------------------------------------------------------------------------------------------
# OpenAI: the first problem, as a 400


def openai_checks(body: Any) -> None:
    """Raise a 400 in OpenAI's form for what a clean OpenAI server would reject."""
    if not isinstance(body, dict):
        raise openai_error(400, "The request body must be a JSON object.", None)
    if not isinstance(body.get("model"), str):
        raise openai_error(400, "you must provide a model parameter", None, "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise openai_error(400, "'messages' must be a non-empty array", None, "messages")
    for index, message in enumerate(messages):
        _openai_message_check(f"messages[{index}]", message)
    ranges = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0),
              "presence_penalty": (-2.0, 2.0), "frequency_penalty": (-2.0, 2.0)}
    for name, (low, high) in ranges.items():
        value = body.get(name)
        if value is None:
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not low <= value <= high:
            raise openai_error(
                400, f"Invalid '{name}': expected a number from {low:g} to {high:g}.",
                "invalid_value", name,
            )
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        whole = isinstance(value, int) and not isinstance(value, bool)
        if value is not None and (not whole or value < 1):
            raise openai_error(400, f"Invalid '{name}': expected an integer of at least 1.",
                               "invalid_value", name)


def _openai_message_check(param: str, message: Any) -> None:
    if not isinstance(message, dict) or message.get("role") not in (
        "system", "developer", "user", "assistant", "tool"
    ):
        raise openai_error(400, f"Invalid value for '{param}.role'.", None, f"{param}.role")
    content = message.get("content")
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise openai_error(400, f"Invalid type for '{param}.content'.", None, f"{param}.content")
    for position, part in enumerate(content):
        if not _valid_part(part):
            raise openai_error(400, f"Invalid content part '{param}.content[{position}]'.",
                               None, f"{param}.content[{position}]")
