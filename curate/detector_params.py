"""What a page rule's ``params = { ... }`` may give its detector, checked before the
detector is built: a value of the wrong kind, or outside the range its meaning allows,
stops the rule file's load with the parameter's name, the range and what to write
(rules.py adds the file and the rule), as every other fault of a rule file does.

A detector's parameters are its dataclass fields. An integer field is a count, from its
``least`` (`count`) to MAX_COUNT; a float field declares its range where it is defined
(`decimal`). A value out of range was loaded and run as it was: a share of -0.5 or 7.0
silently judged every page or none, a negative penalty made noise worth keeping, and a
junk_decay of 1.5 raised OverflowError on a page with a long run of removed lines.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

# The largest count a detector's integer parameter takes: far past any page, and within a
# float (the line model takes log1p of its word counts: 10**400 was an OverflowError).
# The article region's costs are in words, as its counts are: the same bound.
MAX_COUNT = 1_000_000_000

_KIND_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string in quotes"}


def count(default: int, least: int) -> int:
    """A detector's integer parameter whose least sensible value is ``least`` (1, where 0
    would be no setting at all: a run of no lines); an integer field without one takes 0
    or more."""
    return dataclasses.field(default=default, metadata={"least": least})


def decimal(default: float, low: float, high: float, what: str, *, fitted: bool = False, note: str = "") -> float:
    """A detector's float parameter: ``what`` it is ("a score", "a share"), from ``low`` to
    ``high``; with ``fitted``, any negative value too (the line model's thresholds: the
    one fitted with the model). ``note``: said after the example when a value is refused."""
    return dataclasses.field(default=default, metadata={"range": (low, high), "what": what, "fitted": fitted,
                                                        "note": note})


def checked(name: str, cls: type, params: dict) -> dict[str, Any]:
    """``params`` for detector ``name`` (class ``cls``), TOML integers given for a float
    made floats; ValueError says what is wrong and what is allowed."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out = dict(params)
    for key, value in params.items():
        if key not in fields:
            raise ValueError(f"detector {name!r} has no parameter {key!r}; its parameters: {', '.join(fields)}")
        field = fields[key]
        kind = type(field.default)
        # TOML integers are fine where a float is expected; bools are never numbers.
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            try:
                ok, out[key] = True, float(value)
            except OverflowError:  # an integer of 400 digits: past any float, as inf is
                ok, out[key] = True, math.inf
        if not ok:
            raise ValueError(f"parameter {key!r} of detector {name!r} must be {_KIND_WORDS.get(kind, kind.__name__)}")
        if kind is float:
            _check_decimal(name, key, value, out[key], field)
        if kind is int:
            # A count of lines or words: min_lines = -3 loaded and ran as 1, and the line
            # model's sentence_words = -3 crashed the run (math.log1p: math domain error).
            least = field.metadata.get("least", 0)
            if not least <= value <= MAX_COUNT:
                raise ValueError(f"parameter {key!r} of detector {name!r} must be a whole number from {least} "
                                 f"to {MAX_COUNT:,}, not {_shown_int(value)}")
    return out


def _check_decimal(name: str, key: str, given: object, number: float, field: dataclasses.Field) -> None:
    if not math.isfinite(number):
        # nan compares false with everything, so a threshold of nan or inf never or always holds
        got = repr(given) if isinstance(given, float) else "an integer that large"
        raise ValueError(f"parameter {key!r} of detector {name!r} must be a finite number, not {got}")
    if "range" not in field.metadata:  # every detector's declares one (tests/test_noise_quality.py)
        return
    low, high = field.metadata["range"]
    if low <= number <= high or (field.metadata["fitted"] and number < 0):
        return
    fitted = ", or negative for the one fitted with the model" if field.metadata["fitted"] else ""
    note = f" ({field.metadata['note']})" if field.metadata["note"] else ""
    got = repr(given) if isinstance(given, float) else _shown_int(given)  # as the file spells it
    raise ValueError(f"parameter {key!r} of detector {name!r} must be {field.metadata['what']} from "
                     f"{_shown_bound(low)} to {_shown_bound(high)}{fitted}, not {got}; "
                     f"e.g. {key} = {field.default!r}{note}")


def _shown_bound(bound: float) -> str:
    return f"{bound:,.0f}" if bound == int(bound) else repr(bound)


def _shown_int(value: Any) -> str:
    return str(value) if abs(value) < 10**12 else "an integer that large"
