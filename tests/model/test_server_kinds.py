"""Which settings each server kind honours, kind detection, and the warnings before a send."""

from __future__ import annotations

import pytest

from glm_tui.model.sampling import FIELD_SPECS, SamplingParams
from glm_tui.model.server_kind import (
    ServerKind,
    Support,
    describe_kind,
    detect_kind,
    ignored_fields,
    is_vision,
    is_vision_model,
    kind_from_url,
    param_support,
    resolve_kind,
    send_warnings,
    supported_summary,
)

LOCAL = "http://127.0.0.1:8000/v1/"


@pytest.mark.parametrize("name", ["presence_penalty", "frequency_penalty", "seed", "stop"])
def test_glm4_local_server_drops_what_protocol_says(name: str) -> None:
    verdict = param_support(ServerKind.GLM4, name)
    assert verdict.support is Support.IGNORED
    assert "ignored" in verdict.note


@pytest.mark.parametrize("name", ["temperature", "top_p", "max_tokens"])
def test_glm4_local_server_uses_the_rest(name: str) -> None:
    assert param_support(ServerKind.GLM4, name).support is Support.HONOURED


def test_max_tokens_note_says_what_empty_means_on_glm4() -> None:
    assert "1024" in param_support(ServerKind.GLM4, "max_tokens").note


def test_glm4v_samples_greedily() -> None:
    assert param_support(ServerKind.GLM4V, "temperature").support is Support.IGNORED
    assert "greedily" in param_support(ServerKind.GLM4V, "top_p").note


def test_every_kind_has_a_verdict_for_every_field() -> None:
    for kind in [*ServerKind, None]:
        for name in FIELD_SPECS:
            assert param_support(kind, name).note
    assert param_support(ServerKind.OPENAI, "seed").support is Support.HONOURED
    assert param_support(None, "seed").support is Support.UNKNOWN
    with pytest.raises(KeyError):
        param_support(ServerKind.GLM4, "top_k")


def test_hosted_glm_warns_about_the_values_it_rejects() -> None:
    params = SamplingParams(temperature=0.0, top_p=1.0)
    warnings = send_warnings(ServerKind.ZHIPU, params)
    assert [w.field for w in warnings] == ["temperature", "top_p"]
    assert "rejects temperature 0" in warnings[0].message
    assert "rejects top_p 1" in warnings[1].message
    assert send_warnings(ServerKind.ZHIPU, SamplingParams(temperature=0.01, top_p=0.99)) == []
    assert send_warnings(ServerKind.GLM4, params) == []
    assert send_warnings(None, params) == []
    assert param_support(ServerKind.ZHIPU, "top_p").support is Support.BOUNDED


def test_ignored_fields_lists_only_set_values_the_server_drops() -> None:
    params = SamplingParams(presence_penalty=1.2, seed=3, max_tokens=10)
    assert ignored_fields(ServerKind.GLM4, params) == ["presence_penalty", "seed"]
    assert ignored_fields(ServerKind.OPENAI, params) == []
    assert ignored_fields(ServerKind.GLM4, SamplingParams()) == []


@pytest.mark.parametrize(
    ("ids", "url", "kind"),
    [
        (["glm-4"], LOCAL, ServerKind.GLM4),
        (["GLM-4v-9b"], LOCAL, ServerKind.GLM4V),
        (["THUDM/glm-4-9b-chat"], "http://127.0.0.1:8001/v1", ServerKind.GENERIC),
        (["glm-4", "llama3"], LOCAL, ServerKind.GENERIC),
        (["gpt-4o", "o3-mini", "text-embedding-3-small"], "http://127.0.0.1:9/v1",
         ServerKind.OPENAI),
        ([], "https://open.bigmodel.cn/api/paas/v4/", ServerKind.ZHIPU),
        (["glm-4-plus"], "https://open.bigmodel.cn/api/paas/v4/", ServerKind.ZHIPU),
        (["gpt-4o"], "https://api.openai.com/v1", ServerKind.OPENAI),
        ([], LOCAL, ServerKind.GENERIC),
    ],
)
def test_detect_kind(ids: list[str], url: str, kind: ServerKind) -> None:
    assert detect_kind(ids, url) is kind


def test_a_server_offering_both_local_glm_models_is_told_apart_by_the_model() -> None:
    both = ["glm-4", "GLM-4v-9b"]
    assert detect_kind(both, LOCAL) is ServerKind.GLM4
    assert detect_kind(both, LOCAL, model="glm-4") is ServerKind.GLM4
    assert detect_kind(both, LOCAL, model="GLM-4v-9b") is ServerKind.GLM4V


def test_kind_from_url_is_strict_about_hosts() -> None:
    assert kind_from_url("https://open.bigmodel.cn/api/paas/v4/") is ServerKind.ZHIPU
    assert kind_from_url("https://evilbigmodel.cn/v1") is None
    assert kind_from_url("http://127.0.0.1:8000/v1/") is None


def test_summaries_name_what_is_ignored() -> None:
    assert describe_kind(ServerKind.GLM4) == "GLM-4 local server"
    assert describe_kind(None) == "OpenAI-compatible server"
    assert supported_summary(ServerKind.GLM4) == (
        "GLM-4 local server ignores: presence_penalty, frequency_penalty, seed, stop"
    )
    assert supported_summary(ServerKind.OPENAI) == "OpenAI: every setting is sent"


@pytest.mark.parametrize(
    ("configured", "url", "model", "detected", "kind"),
    [
        # The configured kind wins; on a GLM local server the kind follows the chosen model.
        (ServerKind.GLM4, LOCAL, "glm-4", None, ServerKind.GLM4),
        (ServerKind.GLM4, LOCAL, "glm-4v", None, ServerKind.GLM4V),
        (ServerKind.GLM4, LOCAL, "GLM-4v-9b", ServerKind.GLM4, ServerKind.GLM4V),
        (ServerKind.GLM4V, LOCAL, "glm-4", None, ServerKind.GLM4V),
        (ServerKind.OPENAI, LOCAL, "glm-4v", None, ServerKind.OPENAI),
        (ServerKind.GENERIC, LOCAL, "glm-4v", ServerKind.GLM4, ServerKind.GENERIC),
        # Then the host, then what /v1/models gave away.
        (None, "https://open.bigmodel.cn/api/paas/v4/", "glm-4v", None, ServerKind.ZHIPU),
        (None, LOCAL, "glm-4", ServerKind.GLM4, ServerKind.GLM4),
        (None, LOCAL, "glm-4v-9b", ServerKind.GLM4, ServerKind.GLM4V),
        (None, LOCAL, "THUDM/glm-4v-9b", ServerKind.GENERIC, ServerKind.GENERIC),
        # Nothing known yet: a vision model gets the GLM-4V shaping, anything else generic.
        (None, LOCAL, "glm-4v", None, ServerKind.GLM4V),
        (None, LOCAL, "llama3", None, ServerKind.GENERIC),
    ],
)
def test_resolve_kind_is_the_one_decision(configured: ServerKind | None, url: str, model: str,
                                          detected: ServerKind | None,
                                          kind: ServerKind) -> None:
    assert resolve_kind(configured, url, model, detected) is kind
    assert is_vision(kind) is (kind is ServerKind.GLM4V)


def test_the_4v_rule_is_written_once() -> None:
    """Every kind decision goes through resolve_kind: no module but server_kind spells "4v"."""
    import re
    from pathlib import Path

    import glm_tui

    root = Path(glm_tui.__file__).parent
    spelled = [
        path.relative_to(root).as_posix() for path in root.rglob("*.py")
        if path.parent.name != "demo"
        and re.search(r"""["']4v["']""", path.read_text(encoding="utf-8"))
    ]
    assert spelled == ["model/server_kind.py"]
    assert is_vision_model("GLM-4v-9b") and not is_vision_model("glm-4")
