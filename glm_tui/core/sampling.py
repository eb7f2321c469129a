"""Sampling parameters: their ranges, defaults, presets and validation.

Values typed by a person pass through :func:`parse_field` so that nothing out of range, not a
number, or infinite ever reaches a request (the GLM-4 server answers an out-of-range top_p with a
bare HTTP 500). An unset value (``None``) is left out of the request so the server's own default
applies.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

FieldName = Literal[
    "temperature", "top_p", "presence_penalty", "frequency_penalty", "max_tokens", "seed", "stop"
]

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

    @property
    def range_text(self) -> str:
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


FIELD_SPECS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec(
            "temperature", "float", "randomness: 0 is near-deterministic, higher is more varied",
            0.0, 2.0,
        ),
        FieldSpec(
            "top_p", "float", "nucleus sampling: keep the smallest token set with this much mass",
            0.0, 1.0, low_open=True,
        ),
        FieldSpec(
            "presence_penalty", "float", "push towards new topics (positive) or repetition",
            -2.0, 2.0,
        ),
        FieldSpec(
            "frequency_penalty", "float", "penalise tokens by how often they already appeared",
            -2.0, 2.0,
        ),
        FieldSpec("max_tokens", "int", "the most tokens the reply may have; empty: server default",
                  1, None),
        FieldSpec("seed", "int", "a fixed seed asks the server for repeatable sampling",
                  None, None),
        FieldSpec("stop", "stops", "the reply ends before any of these strings"),
    )
}


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

    def to_request(self) -> dict[str, Any]:
        """The request fields for the set values only (unset ones are left out)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "stop":
                if value:
                    out["stop"] = list(value)
            elif value is not None:
                out[f.name] = value
        return out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop)
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
                parts.append(f"{label} {value:g}" if isinstance(value, float) else f"{label} {value}")
        if self.stop:
            parts.append(f"stop×{len(self.stop)}")
        return " · ".join(parts) if parts else "server defaults"


def validate_value(name: str, value: Any) -> Any:
    """Check an already-typed value (from a config file, a store row or code)."""
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
                    name, f"a stop sequence is {len(s):,} characters; the limit is {MAX_STOP_LENGTH}"
                )
        if len(value) > MAX_STOP_SEQUENCES:
            raise SamplingError(name, f"at most {MAX_STOP_SEQUENCES} stop sequences")
        return tuple(value)
    if value is None:
        if not spec.optional:
            raise SamplingError(name, "cannot be empty")
        return None
    if isinstance(value, bool):
        raise SamplingError(name, "must be a number, not true/false")
    if spec.kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise SamplingError(name, "must be a whole number")
    elif not isinstance(value, int | float):
        raise SamplingError(name, "must be a number")
    else:
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            raise SamplingError(name, "must be a finite number")
    _check_range(spec, value)
    return value


def parse_field(name: str, text: str) -> Any:
    """Turn what a person typed into a value, or raise SamplingError with the reason."""
    spec = FIELD_SPECS.get(name)
    if spec is None:
        raise SamplingError(name, "is not a sampling setting")
    raw = text.strip()
    if spec.kind == "stops":
        raise SamplingError(name, "edit stop sequences as a list")
    if raw == "":
        if spec.optional:
            return None
        raise SamplingError(name, "cannot be empty")
    if raw.startswith("-") and _is_negative_zero(raw):
        raise SamplingError(name, f"'{raw}' is negative zero; type 0")
    if spec.kind == "int":
        try:
            number: float = int(raw)
        except ValueError:
            raise SamplingError(name, f"'{_short(raw)}' is not a whole number") from None
    else:
        lowered = raw.lower()
        if lowered in {"nan", "+nan", "-nan"}:
            raise SamplingError(name, "'nan' is not a number")
        try:
            number = float(raw)
        except ValueError:
            raise SamplingError(name, f"'{_short(raw)}' is not a number") from None
        if math.isinf(number):
            raise SamplingError(name, f"'{_short(raw)}' is too large (not a finite number)")
    _check_range(spec, number)
    return number


def _is_negative_zero(raw: str) -> bool:
    try:
        value = float(raw)
    except ValueError:
        return False
    return value == 0 and math.copysign(1.0, value) < 0


def _short(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_range(spec: FieldSpec, value: float) -> None:
    low_bad = spec.low is not None and (
        value < spec.low or (spec.low_open and value == spec.low)
    )
    high_bad = spec.high is not None and (
        value > spec.high or (spec.high_open and value == spec.high)
    )
    if low_bad or high_bad:
        raise SamplingError(spec.name, f"{value:g} is outside {spec.range_text}")


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
