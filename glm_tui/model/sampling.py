"""Sampling parameters: their ranges, defaults, presets and validation.

Values typed by a person pass through :func:`parse_field` so that nothing out of range, not a
number, or infinite ever reaches a request (the GLM-4 server answers an out-of-range top_p with a
bare HTTP 500). An unset value (``None``) is left out of the request so the server's own default
applies.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, Literal

FieldName = Literal[
    "temperature", "top_p", "presence_penalty", "frequency_penalty", "max_tokens", "seed", "stop",
    "thinking",
]



class Thinking(StrEnum):
    """The thinking switch of a session or preset; ``None`` beside it means "server default".

    How it is sent depends on the server kind
    (:func:`glm_tui.model.server_kind.thinking_request`); it is never a plain request field.
    """

    ON = "on"
    OFF = "off"


THINKING_FIELD = "thinking"
"""The name of the switch among the sampling settings (it is not in :data:`FIELD_SPECS`: it is
not a number and has no range)."""

MAX_STOP_SEQUENCES = 4
MAX_STOP_LENGTH = 256


class SamplingError(ValueError):
    """A value a person typed that cannot be used, with the reason in plain words."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field_name = field_name
        self.reason = reason


@dataclass(frozen=True)
class FieldSpec:
    """How one sampling field is bounded and explained to the user."""

    name: str
    kind: Literal["float", "int", "stops"]
    meaning: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: the low bound itself is not allowed, as in top_p (0, 1]
    high_open: bool = False
    optional: bool = True
    empty_allowed: bool = True  # False: an empty field is refused (floats have no "unset" to type)
    step: float = 1.0  # how far one nudge moves the value
    geometric: bool = False  # True: a nudge doubles or halves (max_tokens spans 1 to thousands)
    nudge_start: float | None = None  # where a nudge starts from when the value is unset
    range_hint: str | None = None  # a plainer range text than the bounds give (huge int limits)

    @property
    def range_text(self) -> str:
        if self.range_hint is not None:
            return self.range_hint
        if self.kind == "stops":
            return f"up to {MAX_STOP_SEQUENCES} strings of 1-{MAX_STOP_LENGTH} characters"
        if self.kind == "int" and self.high is None:
            low = int(self.low) if self.low is not None else None
            return "any integer" if low is None else f"an integer >= {low}"
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"{left}{_num(self.low)}, {_num(self.high)}{right}"


def _num(value: float | None) -> str:
    if value is None:
        return "∞"
    return str(int(value)) if float(value).is_integer() else str(value)


MAX_TOKENS_LIMIT = 2**31 - 1  # servers keep max_tokens in a 32-bit integer; beyond is a typo
SEED_LIMIT = 2**63 - 1  # seeds are 64-bit on every server that honours them

FIELD_SPECS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec(
            "temperature", "float", "randomness: 0 is near-deterministic, higher is more varied",
            0.0, 2.0, empty_allowed=False, step=0.1, nudge_start=0.8,
        ),
        FieldSpec(
            "top_p", "float", "nucleus sampling: keep the smallest token set with this much mass",
            0.0, 1.0, low_open=True, empty_allowed=False, step=0.05, nudge_start=0.8,
        ),
        FieldSpec(
            "presence_penalty", "float", "push towards new topics (positive) or repetition",
            -2.0, 2.0, empty_allowed=False, step=0.1, nudge_start=0.0,
        ),
        FieldSpec(
            "frequency_penalty", "float", "penalise tokens by how often they already appeared",
            -2.0, 2.0, empty_allowed=False, step=0.1, nudge_start=0.0,
        ),
        FieldSpec("max_tokens", "int", "the most tokens the reply may have",
                  1, MAX_TOKENS_LIMIT, step=2, geometric=True, nudge_start=1024,
                  range_hint="a whole number >= 1, or empty"),
        FieldSpec("seed", "int", "a fixed seed asks the server for repeatable sampling",
                  -SEED_LIMIT - 1, SEED_LIMIT, nudge_start=0,
                  range_hint="a whole number, or empty"),
        FieldSpec("stop", "stops", "the reply ends before any of these strings"),
    )
}


def default_value(name: str) -> Any:
    """The built-in default of one field (``None``/empty: not sent, the server decides)."""
    for f in fields(SamplingParams):
        if f.name == name:
            if f.default is not MISSING:
                return f.default
            return ()
    raise SamplingError(name, "is not a sampling setting")


def format_value(name: str, value: Any) -> str:
    """The text a field shows for a value; :func:`parse_field` reads it back to the same value.

    Floats use ``repr`` so that what is shown is exactly what will be sent (0.1 stays 0.1, a typed
    0.30000000000000004 is not silently rounded). Stop sequences are shown as a JSON list so that
    a newline or a quote inside one stays visible and unambiguous.
    """
    if name == "stop":
        return json.dumps(list(value), ensure_ascii=False) if value else ""
    if value is None:
        return ""
    if isinstance(value, Thinking):
        return value.value
    if isinstance(value, float):
        return repr(value)
    return str(value)


def nudge(name: str, value: Any, direction: int) -> Any:
    """The value one step up (``direction`` > 0) or down from ``value``, kept inside the range.

    An unset value starts from the field's usual value (temperature 0.8, max_tokens 1024) so that
    the first nudge lands somewhere sensible. At an edge the value stays put: the caller can tell
    from an unchanged result that there is nowhere further to go.
    """
    spec = FIELD_SPECS.get(name)
    if spec is None or spec.kind == "stops":
        raise SamplingError(name, "cannot be nudged")
    if value is None:
        start = spec.nudge_start if spec.nudge_start is not None else 0
        return validate_value(name, int(start) if spec.kind == "int" else float(start))
    up = direction > 0
    if spec.geometric:
        candidate: float = value * spec.step if up else value // spec.step
    else:
        candidate = value + spec.step if up else value - spec.step
    # Rounding keeps 0.1 steps free of float dust; + 0.0 turns a -0.0 into 0.0.
    candidate = int(candidate) if spec.kind == "int" else round(candidate, 6) + 0.0
    if spec.low is not None and candidate < spec.low:
        candidate = int(spec.low) if spec.kind == "int" else spec.low
    if spec.high is not None and candidate > spec.high:
        candidate = int(spec.high) if spec.kind == "int" else spec.high
    try:
        return validate_value(name, candidate)
    except SamplingError:
        return value  # an open bound such as top_p's 0: stay at the smallest valid step


@dataclass(frozen=True)
class SamplingParams:
    """The sampling settings of one session; ``None`` means "not sent, server default"."""

    temperature: float | None = 0.8
    top_p: float | None = 0.8
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)
    thinking: Thinking | None = None  # None: not sent, the server (and model) decide

    def to_request(self) -> dict[str, Any]:
        """The request fields for the set values only (unset ones are left out).

        ``thinking`` is not among them: its field differs per server kind
        (:func:`glm_tui.model.server_kind.thinking_request`).
        """
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == THINKING_FIELD:
                continue
            if f.name == "stop":
                if value:
                    out["stop"] = list(value)
            elif value is not None:
                out[f.name] = value
        return out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop)
        # Unset, the switch is left out, so a session or preset that never used it reads the
        # same as before it existed (an older glm-tui importing an export refuses unknown keys).
        if self.thinking is None:
            del data[THINKING_FIELD]
        else:
            data[THINKING_FIELD] = self.thinking.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SamplingParams:
        """Build from stored or configured values, validating each; raises SamplingError."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                raise SamplingError(key, "is not a sampling setting")
            values[key] = validate_value(key, value)
        return cls(**values)

    def with_value(self, name: str, value: Any) -> SamplingParams:
        """A copy with one field set (validated)."""
        return replace(self, **{name: validate_value(name, value)})

    def summary(self) -> str:
        """A short one-line form for the status bar."""
        parts = []
        labels = {"temperature": "T", "top_p": "P", "presence_penalty": "pp",
                  "frequency_penalty": "fp", "max_tokens": "max", "seed": "seed"}
        for name, label in labels.items():
            value = getattr(self, name)
            if value is not None:
                shown = f"{value:g}" if isinstance(value, float) else str(value)
                parts.append(f"{label} {shown}")
        if self.stop:
            parts.append(f"stop×{len(self.stop)}")
        if self.thinking is not None:
            parts.append(f"think {self.thinking.value}")
        return " · ".join(parts) if parts else "server defaults"


def validate_value(name: str, value: Any) -> Any:
    """Check an already-typed value (from a config file, a store row or code)."""
    if name == THINKING_FIELD:
        return parse_thinking(value)
    spec = FIELD_SPECS.get(name)
    if spec is None:
        raise SamplingError(name, "is not a sampling setting")
    if spec.kind == "stops":
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(s, str) for s in value):
            raise SamplingError(name, "must be a list of strings")
        for s in value:
            if not s:
                raise SamplingError(name, "a stop sequence cannot be empty")
            if len(s) > MAX_STOP_LENGTH:
                raise SamplingError(
                    name,
                    f"a stop sequence is {len(s):,} characters long; the limit is "
                    f"{MAX_STOP_LENGTH}",
                )
        if len(value) > MAX_STOP_SEQUENCES:
            raise SamplingError(
                name, f"{len(value)} stop sequences; at most {MAX_STOP_SEQUENCES} are allowed"
            )
        return tuple(value)
    if value is None:
        if not spec.optional:
            raise SamplingError(name, "cannot be empty")
        return None
    if isinstance(value, bool):
        raise SamplingError(name, "must be a number, not true/false")
    shown = repr(value) if isinstance(value, float) else str(value)  # as written, not converted
    if spec.kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise SamplingError(name, f"{value!r} is not a whole number")
    elif not isinstance(value, int | float):
        raise SamplingError(name, f"{value!r} is not a number")
    else:
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            raise SamplingError(name, f"{value!r} is not a finite number")
        if value == 0 and math.copysign(1.0, value) < 0:
            value = 0.0  # -0.0 from code or a file means 0; only typing "-0" is refused as a slip
    _check_range(spec, value, shown)
    return value


def parse_field(name: str, text: str) -> Any:
    """Turn what a person typed into a value, or raise SamplingError with the reason.

    Refuses, each with its own reason: text that is not a number, ``nan``, anything infinite
    (``inf``, ``1e309``), negative zero (a slip, never meant), an empty float field (there is no
    "unset" to type: reset it instead), a whole-number field given a fraction, and anything out of
    range. Stop sequences go through :func:`parse_stops`.
    """
    if name == THINKING_FIELD:
        return parse_thinking(text)
    spec = FIELD_SPECS.get(name)
    if spec is None:
        raise SamplingError(name, "is not a sampling setting")
    if spec.kind == "stops":
        return parse_stops(text)
    raw = text.strip()
    if raw == "":
        if spec.optional and spec.empty_allowed:
            return None
        raise SamplingError(name, f"cannot be empty: type a number in {spec.range_text}")
    shown = _short(raw)
    if spec.kind == "int":
        if len(raw) > 25:
            raise SamplingError(name, f"'{shown}' is too long for a whole number")
        try:
            number: float = int(raw)
        except ValueError:
            if _is_float_text(raw):
                raise SamplingError(name, f"'{shown}' is not a whole number") from None
            raise SamplingError(name, f"'{shown}' is not a number") from None
        if number == 0 and raw.startswith("-"):
            raise SamplingError(name, f"'{shown}' is negative zero; type 0")
    else:
        if raw.lower().lstrip("+-") == "nan":
            raise SamplingError(name, f"'{shown}' is not a number (NaN)")
        try:
            number = float(raw)
        except ValueError:
            raise SamplingError(name, f"'{shown}' is not a number") from None
        if math.isinf(number):
            raise SamplingError(name, f"'{shown}' is not a finite number")
        if number == 0 and math.copysign(1.0, number) < 0:
            raise SamplingError(name, f"'{shown}' is negative zero; type 0")
    _check_range(spec, number, shown)
    return number


def parse_stops(text: str) -> tuple[str, ...]:
    """Read stop sequences as typed: a JSON list (``["###", "\\n"]``) or one plain string.

    A plain string is taken literally except that ``\\n`` and ``\\t`` mean a newline and a tab
    (the common stop sequences cannot be typed into a one-line field otherwise). Empty means none.
    """
    raw = text.strip()
    if raw == "":
        return ()
    if raw.startswith("["):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SamplingError(
                "stop", f"not a valid list: {exc.msg} at character {exc.pos + 1}"
            ) from None
    else:
        value = [text.replace("\\n", "\n").replace("\\t", "\t")]
    return tuple(validate_value("stop", value))


_THINKING_WORDS: dict[str, Thinking | None] = {
    "on": Thinking.ON, "off": Thinking.OFF, "true": Thinking.ON, "false": Thinking.OFF,
    "": None, "default": None, "server default": None,
}


def parse_thinking(value: Any) -> Thinking | None:
    """The switch from a stored, configured or typed value: ``on``, ``off``, or unset.

    ``None``, ``""`` and ``default`` mean the server decides; TOML's ``true``/``false`` are
    accepted as on/off. Anything else is refused with the words that would work.
    """
    if value is None or isinstance(value, Thinking):
        return value
    if isinstance(value, bool):
        return Thinking.ON if value else Thinking.OFF
    if isinstance(value, str) and value.strip().lower() in _THINKING_WORDS:
        return _THINKING_WORDS[value.strip().lower()]
    raise SamplingError(THINKING_FIELD, f"{_short(str(value))!r} is not on, off or default "
                        "(empty: the server decides)")


def _is_float_text(raw: str) -> bool:
    try:
        float(raw)
    except ValueError:
        return False
    return True


def _short(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_range(spec: FieldSpec, value: float, shown: str) -> None:
    """Refuse a value outside the field's bounds, naming the bound it broke."""
    if spec.low is not None and (value < spec.low or (spec.low_open and value == spec.low)):
        if spec.low_open:
            reason = f"'{shown}' is too small: it must be greater than {_num(spec.low)}"
        else:
            reason = f"'{shown}' is too small: the lowest allowed is {_num(spec.low)}"
        if spec.kind != "int":
            reason += f" (range {spec.range_text})"
        raise SamplingError(spec.name, reason)
    if spec.high is not None and (value > spec.high or (spec.high_open and value == spec.high)):
        reason = f"'{shown}' is too large: the highest allowed is {_num(spec.high)}"
        if spec.kind != "int":
            reason += f" (range {spec.range_text})"
        raise SamplingError(spec.name, reason)


@dataclass(frozen=True)
class Preset:
    """A named set of sampling values."""

    name: str
    params: SamplingParams
    builtin: bool = False


BUILTIN_PRESETS: tuple[Preset, ...] = (
    Preset(
        "chat",
        SamplingParams(temperature=0.4, top_p=0.8, presence_penalty=1.2, max_tokens=256),
        builtin=True,
    ),
    Preset(
        "tools",
        SamplingParams(temperature=0.9, top_p=0.1, presence_penalty=1.2, max_tokens=256),
        builtin=True,
    ),
)
