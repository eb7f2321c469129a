"""Typed sampling values: each bad input of issue 4 is refused with a reason a person can use."""

from __future__ import annotations

import pytest

from glm_tui.model.sampling import (
    BUILTIN_PRESETS,
    FIELD_SPECS,
    SamplingError,
    SamplingParams,
    default_value,
    format_value,
    nudge,
    parse_field,
    parse_stops,
    validate_value,
)


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("temperature", "abc", "'abc' is not a number"),
        ("temperature", "1e309", "'1e309' is not a finite number"),
        ("temperature", "nan", "'nan' is not a number (NaN)"),
        ("top_p", "NaN", "'NaN' is not a number (NaN)"),
        ("temperature", "inf", "'inf' is not a finite number"),
        ("presence_penalty", "-inf", "'-inf' is not a finite number"),
        ("temperature", "-0", "'-0' is negative zero; type 0"),
        ("presence_penalty", "-0.0", "'-0.0' is negative zero; type 0"),
        ("seed", "-0", "'-0' is negative zero; type 0"),
        ("temperature", "", "cannot be empty: type a number in [0, 2]"),
        ("top_p", "   ", "cannot be empty: type a number in (0, 1]"),
        ("temperature", "2.0000001",
         "'2.0000001' is too large: the highest allowed is 2 (range [0, 2])"),
        ("temperature", "-0.1", "'-0.1' is too small: the lowest allowed is 0 (range [0, 2])"),
        ("top_p", "0", "'0' is too small: it must be greater than 0 (range (0, 1])"),
        ("top_p", "1.01", "'1.01' is too large: the highest allowed is 1 (range (0, 1])"),
        ("max_tokens", "0", "'0' is too small: the lowest allowed is 1"),
        ("max_tokens", "-5", "'-5' is too small: the lowest allowed is 1"),
        ("max_tokens", "1.5", "'1.5' is not a whole number"),
        ("max_tokens", "abc", "'abc' is not a number"),
        ("max_tokens", "1e309", "'1e309' is not a whole number"),
        ("max_tokens", "9" * 40, "is too long for a whole number"),
        ("frequency_penalty", "2.5", "'2.5' is too large: the highest allowed is 2"),
    ],
)
def test_bad_input_is_refused_with_its_reason(name: str, text: str, reason: str) -> None:
    with pytest.raises(SamplingError) as caught:
        parse_field(name, text)
    assert reason in caught.value.reason
    assert caught.value.field_name == name
    assert name in str(caught.value)


def test_a_10000_character_stop_sequence_is_refused() -> None:
    with pytest.raises(SamplingError) as caught:
        parse_field("stop", "x" * 10_000)
    assert caught.value.reason == "a stop sequence is 10,000 characters long; the limit is 256"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('["a", ""]', "a stop sequence cannot be empty"),
        ('["a", 3]', "must be a list of strings"),
        ('["a", "b", "c", "d", "e"]', "5 stop sequences; at most 4 are allowed"),
        ('["a"', "not a valid list"),
    ],
)
def test_bad_stop_lists_are_refused(text: str, reason: str) -> None:
    with pytest.raises(SamplingError, match="stop") as caught:
        parse_stops(text)
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("temperature", "0", 0.0),
        ("temperature", " 2 ", 2.0),
        ("temperature", "0.7", 0.7),
        ("top_p", "1", 1.0),
        ("top_p", "1e-3", 0.001),
        ("presence_penalty", "-2", -2.0),
        ("max_tokens", "256", 256),
        ("max_tokens", "", None),
        ("seed", "", None),
        ("seed", "-42", -42),
    ],
)
def test_good_input_is_read_as_the_value_sent(name: str, text: str, value: object) -> None:
    parsed = parse_field(name, text)
    assert parsed == value
    assert type(parsed) is type(value)


def test_stop_sequences_as_typed() -> None:
    assert parse_stops("") == ()
    assert parse_stops("Observation:") == ("Observation:",)
    assert parse_stops("\\n\\n") == ("\n\n",)
    assert parse_stops('["###", "\\n"]') == ("###", "\n")


@pytest.mark.parametrize("name", list(FIELD_SPECS))
def test_format_and_parse_round_trip(name: str) -> None:
    samples = {
        "temperature": 0.30000000000000004, "top_p": 0.1, "presence_penalty": -1.25,
        "frequency_penalty": 2.0, "max_tokens": 4096, "seed": -7, "stop": ("a\n", 'say "hi"'),
    }
    value = samples[name]
    assert parse_field(name, format_value(name, value)) == value


def test_nudge_steps_and_stays_in_range() -> None:
    assert nudge("temperature", 0.8, 1) == 0.9
    assert nudge("temperature", 0.8, -1) == 0.7
    assert nudge("temperature", 2.0, 1) == 2.0  # at the top: unchanged
    assert nudge("temperature", 0.05, -1) == 0.0
    assert nudge("top_p", 0.05, -1) == 0.05  # (0, 1]: 0 itself is not allowed
    assert nudge("top_p", 0.95, 1) == 1.0
    assert nudge("presence_penalty", None, 1) == 0.0  # unset starts from the usual value
    assert nudge("presence_penalty", 0.1, -1) == 0.0
    assert nudge("max_tokens", None, 1) == 1024
    assert nudge("max_tokens", 256, 1) == 512
    assert nudge("max_tokens", 256, -1) == 128
    assert nudge("max_tokens", 1, -1) == 1
    assert nudge("seed", 41, 1) == 42
    with pytest.raises(SamplingError):
        nudge("stop", (), 1)


def test_validate_value_checks_values_from_files_and_code() -> None:
    assert validate_value("temperature", 1) == 1.0
    assert validate_value("temperature", -0.0) == 0.0
    assert validate_value("max_tokens", 512.0) == 512
    for name, bad in [("temperature", True), ("temperature", float("nan")),
                      ("top_p", 0), ("max_tokens", 0), ("max_tokens", 2.5), ("seed", "7")]:
        with pytest.raises(SamplingError):
            validate_value(name, bad)


def test_unset_values_are_left_out_of_the_request() -> None:
    assert SamplingParams(temperature=None, top_p=None).to_request() == {}
    params = SamplingParams(temperature=0.0, max_tokens=5, stop=("x",))
    assert params.to_request() == {"temperature": 0.0, "top_p": 0.8, "max_tokens": 5,
                                   "stop": ["x"]}


def test_defaults_and_builtin_presets_match_the_reference_client() -> None:
    assert default_value("temperature") == 0.8
    assert default_value("max_tokens") is None
    assert default_value("stop") == ()
    chat, tools = BUILTIN_PRESETS
    assert chat.params.to_request() == {"temperature": 0.4, "top_p": 0.8,
                                        "presence_penalty": 1.2, "max_tokens": 256}
    assert tools.params.to_request() == {"temperature": 0.9, "top_p": 0.1,
                                         "presence_penalty": 1.2, "max_tokens": 256}
    assert all(p.builtin for p in BUILTIN_PRESETS)


def test_every_field_explains_itself() -> None:
    for spec in FIELD_SPECS.values():
        assert spec.meaning and spec.range_text
    assert FIELD_SPECS["top_p"].range_text == "(0, 1]"
    assert FIELD_SPECS["max_tokens"].range_text == "a whole number >= 1, or empty"


def test_values_from_a_file_are_named_as_written() -> None:
    with pytest.raises(SamplingError) as caught:
        validate_value("temperature", 5)
    assert caught.value.reason == "'5' is too large: the highest allowed is 2 (range [0, 2])"
    with pytest.raises(SamplingError) as caught:
        validate_value("seed", 2**64)
    assert "is too large" in caught.value.reason
