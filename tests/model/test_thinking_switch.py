"""The thinking switch: its values, its translation per server kind, presets and the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from glm_tui.chat.request import build_request
from glm_tui.model.sampling import (
    SamplingError,
    SamplingParams,
    Thinking,
    format_value,
    parse_field,
    parse_thinking,
)
from glm_tui.model.server_kind import (
    ServerKind,
    ThinkingSwitch,
    detect_kind,
    thinking_note,
    thinking_request,
    thinking_support,
)
from glm_tui.model.session import Message, Role, Session
from glm_tui.settings.config import load_settings
from glm_tui.settings.writer import save_default_sampling, save_preset

LOCAL = "http://127.0.0.1:8000/v1/"


@pytest.mark.parametrize(("typed", "value"), [
    ("on", Thinking.ON), (" OFF ", Thinking.OFF), ("", None), ("default", None),
    (True, Thinking.ON), (False, Thinking.OFF), (None, None), (Thinking.ON, Thinking.ON),
])
def test_the_switch_reads_what_people_and_files_write(typed: object, value: object) -> None:
    assert parse_thinking(typed) is value


@pytest.mark.parametrize("typed", ["maybe", 1, 0.5, ["on"]])
def test_anything_else_is_refused_with_the_words_that_work(typed: object) -> None:
    with pytest.raises(SamplingError) as caught:
        parse_thinking(typed)
    assert caught.value.field_name == "thinking" and "on, off or default" in caught.value.reason


def test_the_switch_is_a_sampling_setting_that_round_trips() -> None:
    params = SamplingParams().with_value("thinking", "off")
    assert params.thinking is Thinking.OFF
    assert parse_field("thinking", format_value("thinking", params.thinking)) is Thinking.OFF
    assert SamplingParams.from_dict(params.to_dict()) == params
    assert "thinking" not in params.to_request()  # never a plain request field
    assert params.summary().endswith("think off")
    assert "thinking" not in SamplingParams().to_dict()  # unset: left out, as before


@pytest.mark.parametrize(("kind", "on", "off"), [
    (ServerKind.ZHIPU, {"thinking": {"type": "enabled"}}, {"thinking": {"type": "disabled"}}),
    (ServerKind.VLLM, {"chat_template_kwargs": {"enable_thinking": True}},
     {"chat_template_kwargs": {"enable_thinking": False}}),
    (ServerKind.GENERIC, {}, {}),
    (ServerKind.OPENAI, {}, {}),
    (ServerKind.GLM4, {}, {}),
    (None, {}, {}),
])
def test_each_kind_gets_the_switch_in_its_own_field_or_not_at_all(
        kind: ServerKind | None, on: dict[str, object], off: dict[str, object]) -> None:
    assert thinking_request(kind, Thinking.ON) == on
    assert thinking_request(kind, Thinking.OFF) == off
    assert thinking_request(kind, None) == {}
    support = thinking_support(kind)
    assert support.sent is bool(on) and support.note
    assert (thinking_note(kind, Thinking.OFF) is None) is support.sent
    assert thinking_note(kind, None) is None


def test_the_words_beside_the_field_name_the_field_or_say_it_is_unknown() -> None:
    assert "thinking.type" in thinking_support(ServerKind.ZHIPU).note
    assert "chat_template_kwargs.enable_thinking" in thinking_support(ServerKind.VLLM).note
    assert thinking_support(ServerKind.GENERIC).switch is ThinkingSwitch.UNKNOWN
    assert "unknown" in thinking_support(None).note


def test_build_request_sends_the_switch_beside_the_sampling_values() -> None:
    session = Session(model="glm-4.7", sampling=SamplingParams(thinking=Thinking.OFF),
                      messages=[Message(Role.USER, "hi")])
    body = build_request(session, ServerKind.ZHIPU)
    assert body["thinking"] == {"type": "disabled"} and body["temperature"] == 0.8
    assert "thinking" not in build_request(session, ServerKind.GENERIC)


@pytest.mark.parametrize(("owners", "kind"), [
    (["vllm"], ServerKind.VLLM),
    (["sglang"], ServerKind.VLLM),
    (["library"], ServerKind.GENERIC),  # Ollama
    (["organization-owner"], ServerKind.GENERIC),
    ([], ServerKind.GENERIC),
])
def test_vllm_and_sglang_are_known_by_what_they_write_in_owned_by(
        owners: list[str], kind: ServerKind) -> None:
    assert detect_kind(["zai-org/GLM-4.6"], LOCAL, owners=owners) is kind
    # The host still wins: the hosted GLM API is the hosted GLM API.
    assert detect_kind(["glm-4.6"], "https://open.bigmodel.cn/api/paas/v4/",
                       owners=owners) is ServerKind.ZHIPU


def test_the_switch_in_config_defaults_presets_and_the_vllm_kind(config_path: Path) -> None:
    config_path.write_text(
        'server = "box"\n[servers.box]\nbase_url = "http://127.0.0.1:8000/v1/"\n'
        'kind = "vllm"\nmodel = "glm-4.6"\n'
        '[sampling]\nthinking = "off"\n[presets.deep]\nthinking = true\ntemperature = 0.6\n',
        encoding="utf-8")
    settings = load_settings(config_path=config_path, env={})
    assert settings.profile.kind is ServerKind.VLLM
    assert settings.sampling.thinking is Thinking.OFF
    deep = next(p for p in settings.presets if p.name == "deep")
    assert deep.params.thinking is Thinking.ON
    save_default_sampling(config_path, SamplingParams(thinking=Thinking.ON))
    save_preset(config_path, "quick", SamplingParams(thinking=Thinking.OFF))
    again = load_settings(config_path=config_path, env={})
    assert again.sampling.thinking is Thinking.ON
    assert next(p for p in again.presets if p.name == "quick").params.thinking is Thinking.OFF
    assert 'thinking = "on"' in config_path.read_text(encoding="utf-8")
    save_default_sampling(config_path, SamplingParams())
    assert load_settings(config_path=config_path, env={}).sampling.thinking is None


def test_a_bad_switch_in_the_config_warns_and_falls_back(config_path: Path) -> None:
    config_path.write_text('[sampling]\nthinking = "sometimes"\n', encoding="utf-8")
    settings = load_settings(config_path=config_path, env={})
    assert settings.sampling.thinking is None
    assert any("thinking" in w and "on, off or default" in w for w in settings.warnings)
