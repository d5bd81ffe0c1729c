"""The values of a Parquet or Arrow column as Python objects JSON can hold, the same on
every machine.

pyarrow's ``to_pylist`` is not: it gives a nanosecond timestamp as a pandas ``Timestamp``
when pandas is installed and fails without it, cuts a ``time64[ns]`` to microseconds,
needs the machine's time-zone database (or pytz) for a timestamp in a named zone, and
fails a whole column on one string that is not UTF-8. So before a column is turned into
Python values (``column_values``), every temporal array in it, at any depth (in lists,
structs, maps, dictionaries), is replaced by the text (or, for a duration, the number)
curate writes for it, computed by Arrow's compute kernels from the integers the column
holds:

- a timestamp (any unit): ISO 8601, ``2023-11-14T22:13:20.123456789``; the fraction of a
  second with 6 digits, or 9 when the nanoseconds need them, none when it is 0 (what
  Python's ``isoformat`` writes, and pandas' for nanoseconds). A timestamp with a zone
  given as an offset (``+05:30``) is its local time with that offset; one in a named zone
  (``Europe/Berlin``, ``UTC``) is the instant in UTC with ``+00:00``: the local time of a
  named zone needs a time-zone database, which machines may lack or hold in other
  versions;
- a date (``date32``, ``date64``): ``2024-03-01``; a time of day (``time32``, ``time64``):
  ``12:00:01.234567891``, as a timestamp's;
- a duration: its seconds, as the float nearest the exact value (a float holds every
  nanosecond up to 104 days);
- a ``month_day_nano`` interval is pyarrow's, ``[months, days, nanoseconds]``.

A timestamp or date outside years 1 to 9999, or a time of day outside 0 to 24 h, is
written as null, with a fault for its row: a string for it would be one few readers of
the metadata could parse. A string that is not UTF-8, at any depth, is written with each
invalid byte as ``\\xff`` (``backslashreplace``), with a fault for its row: the rest of its
cell (a list's other elements) is kept.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable
from typing import Any

# A fault: what is wrong with a cell, and whether its value was kept with escapes (else
# written as null); by row of the column.
Faults = dict[int, tuple[str, bool]]
# An array of a leaf type -> (its replacement, its faults by element), or None to keep it.
Leaf = Callable[[Any], "tuple[Any, Faults] | None"]

_UNITS = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)")  # a zone Arrow takes as a fixed offset
# 0001-01-01T00:00:00 and 10000-01-01T00:00:00 in seconds since 1970: Python's datetime
# range, and ISO 8601's years of four digits.
_FIRST, _END = -62_135_596_800, 253_402_300_800
_DAY = 86_400
_INT64 = (-(2**63), 2**63 - 1)
_EXACT = 2**53  # the largest integer magnitude every float64 up to it holds exactly
OUT_OF_RANGE = "date value out of range"


def column_values(column: Any) -> tuple[list[Any], Faults]:
    """A column's values as Python objects (temporal values as the module's docstring
    says), and the faults of its cells by row index."""
    column, faults = rewritten(column, temporal) if _holds(column.type, _is_temporal) else (column, {})
    try:
        return column.to_pylist(), faults
    except Exception:  # noqa: BLE001 - UnicodeDecodeError, ...: the strings escaped, else cell by cell
        pass
    escaped, bad = rewritten(column, escaped_strings)
    for index, fault in bad.items():
        faults.setdefault(index, fault)
    try:
        return escaped.to_pylist(), faults
    except Exception:  # noqa: BLE001 - whatever else pyarrow cannot convert: found cell by cell below
        pass
    values: list[Any] = []
    for index in range(len(escaped)):
        try:
            values.append(escaped[index].as_py())
        except MemoryError:
            raise  # the machine's, not the cell's (formats.base.stop_on_machine_limit): the run stops
        except Exception as err:  # noqa: BLE001 - whatever pyarrow's conversion raises for this cell
            faults.setdefault(index, (str(err), False))
            values.append(None)
    return values, faults


@functools.lru_cache(maxsize=256)
def _holds(arrow_type: Any, leaf: Callable[[Any], bool]) -> bool:
    """Does the type hold a type ``leaf`` is true of, at any depth?"""
    import pyarrow as pa

    if leaf(arrow_type):
        return True
    if pa.types.is_dictionary(arrow_type):
        return _holds(arrow_type.value_type, leaf)
    return any(_holds(arrow_type.field(k).type, leaf) for k in range(arrow_type.num_fields))


def _is_temporal(arrow_type: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_temporal(arrow_type) and not pa.types.is_interval(arrow_type))


def rewritten(column: Any, leaf: Leaf) -> tuple[Any, Faults]:
    """The column with each array ``leaf`` replaces replaced, at any depth, and the
    faults ``leaf`` found, by row of the column."""
    found = _rewrite(column, leaf)
    return (column, {}) if found is None else found


def _rewrite(array: Any, leaf: Leaf) -> tuple[Any, Faults] | None:
    import pyarrow as pa

    kind = array.type
    if pa.types.is_dictionary(kind):
        return _rewrite(array.dictionary_decode(), leaf)
    if _is(kind, "is_list_view") or _is(kind, "is_large_list_view"):
        listed = pa.large_list(kind.value_field) if _is(kind, "is_large_list_view") else pa.list_(kind.value_field)
        try:
            array = array.cast(listed)
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            return None  # a pyarrow that cannot: to_pylist says what it makes of it
        return _rewrite(array, leaf)
    mask = array.is_null() if array.null_count else None
    if pa.types.is_map(kind):
        offsets, start, end = _offsets(array)
        keys, items = array.keys.slice(start, end - start), array.items.slice(start, end - start)
        new_keys, new_items = _rewrite(keys, leaf), _rewrite(items, leaf)
        if new_keys is None and new_items is None:
            return None
        keys, key_faults = new_keys or (keys, {})
        items, item_faults = new_items or (items, {})
        return (pa.MapArray.from_arrays(offsets, keys, items, mask=mask),
                _up({**item_faults, **key_faults}, lambda i: bisect.bisect_right(offsets.to_pylist(), i) - 1))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        offsets, start, end = _offsets(array)
        inner = _rewrite(array.values.slice(start, end - start), leaf)
        if inner is None:
            return None
        made = (pa.LargeListArray if pa.types.is_large_list(kind) else pa.ListArray).from_arrays(
            offsets, inner[0], mask=mask)
        return made, _up(inner[1], lambda i: bisect.bisect_right(offsets.to_pylist(), i) - 1)
    if pa.types.is_fixed_size_list(kind):
        size = kind.list_size
        inner = _rewrite(array.values.slice(array.offset * size, len(array) * size), leaf)
        if inner is None:
            return None
        return (pa.FixedSizeListArray.from_arrays(inner[0], size, mask=mask),
                _up(inner[1], lambda i: i // size))
    if pa.types.is_struct(kind):
        children = [array.field(k) for k in range(kind.num_fields)]
        found = [_rewrite(child, leaf) for child in children]
        if all(new is None for new in found):
            return None
        arrays: list[Any] = []
        faults: Faults = {}
        for child, new in zip(children, found, strict=True):
            arrays.append(child if new is None else new[0])
            for index, fault in (new[1] if new is not None else {}).items():
                faults.setdefault(index, fault)
        fields = [pa.field(kind.field(k).name, made.type) for k, made in enumerate(arrays)]
        return pa.StructArray.from_arrays(arrays, fields=fields, mask=mask), faults
    return leaf(array)


def _is(kind: Any, test: str) -> bool:
    """pyarrow's type test ``test`` (the view types' are newer than some pyarrows)."""
    import pyarrow as pa

    return bool(getattr(pa.types, test, lambda _: False)(kind))


def _offsets(array: Any) -> tuple[Any, int, int]:
    """A list's (or map's) offsets from 0, and where its values start and end."""
    import pyarrow.compute as pc

    offsets = array.offsets
    start, end = offsets[0].as_py(), offsets[-1].as_py()
    return pc.subtract(offsets, offsets[0]), start, end


def _up(faults: Faults, parent: Callable[[int], int]) -> Faults:
    """Faults of a container's elements as faults of its rows."""
    found: Faults = {}
    for index in sorted(faults):
        found.setdefault(parent(index), faults[index])
    return found


def escaped_strings(array: Any) -> tuple[Any, Faults] | None:
    """A string array with each invalid byte of a value that is not UTF-8 written as
    ``\\xff``, as curate writes the bytes of a file name that is not UTF-8."""
    import pyarrow as pa

    kind = array.type
    if pa.types.is_string(kind):
        raw, made = array.view(pa.binary()), pa.string()
    elif pa.types.is_large_string(kind):
        raw, made = array.view(pa.large_binary()), pa.large_string()
    elif _is(kind, "is_string_view"):
        raw, made = array.view(pa.binary_view()), pa.string()
    else:
        return None
    texts: list[str | None] = []
    faults: Faults = {}
    for index, value in enumerate(raw.to_pylist()):
        if value is None:
            texts.append(None)
            continue
        try:
            texts.append(value.decode("utf-8"))
        except UnicodeDecodeError as err:
            faults[index] = (f"not valid UTF-8: {err.reason} at byte {err.start:,}", True)
            texts.append(value.decode("utf-8", "backslashreplace"))
    return pa.array(texts, made), faults


def temporal(array: Any) -> tuple[Any, Faults] | None:
    """A temporal array as the module's docstring says curate writes it."""
    import pyarrow as pa

    kind = array.type
    if pa.types.is_timestamp(kind):
        return _timestamps(array.view(pa.int64()), _UNITS[kind.unit], kind.tz)
    if pa.types.is_date32(kind):
        return _dates(array.view(pa.int32()).cast(pa.int64()), 1)
    if pa.types.is_date64(kind):
        return _dates(array.view(pa.int64()), _DAY * 1000)
    if pa.types.is_time32(kind) or pa.types.is_time64(kind):
        return _times(array.view(pa.int32() if pa.types.is_time32(kind) else pa.int64()).cast(pa.int64()),
                      _UNITS[kind.unit])
    if pa.types.is_duration(kind):
        return _seconds(array.view(pa.int64()), _UNITS[kind.unit]), {}
    return None


def _timestamps(values: Any, unit: int, zone: str | None) -> tuple[Any, Faults]:
    import pyarrow as pa
    import pyarrow.compute as pc

    shift, suffix = 0, ""
    if zone is not None:
        fixed = _OFFSET.fullmatch(zone)
        if fixed is None:
            suffix = "+00:00"  # a named zone: the instant in UTC (the module's docstring says why)
        else:
            sign, hours, minutes = fixed.groups()
            shift = (-1 if sign == "-" else 1) * (int(hours) * 3600 + int(minutes) * 60)
            suffix = f"{sign}{hours}:{minutes}"
    values, faults = _within(values, _FIRST * unit - shift * unit, _END * unit - 1 - shift * unit, OUT_OF_RANGE)
    seconds, fraction = _divmod(values, unit)
    days, clock = _divmod(pc.add(seconds, shift), _DAY)  # shifted in seconds: in nanoseconds it may pass int64
    text = pc.binary_join_element_wise(_date_text(days), "T", _clock_text(clock), _fraction_text(fraction, unit),
                                       pa.scalar(suffix), "")
    return text, faults


def _dates(values: Any, unit: int) -> tuple[Any, Faults]:
    days, _ = _divmod(values, unit)
    days, faults = _within(days, _FIRST // _DAY, _END // _DAY - 1, OUT_OF_RANGE)
    return _date_text(days), faults


def _times(values: Any, unit: int) -> tuple[Any, Faults]:
    import pyarrow.compute as pc

    values, faults = _within(values, 0, _DAY * unit - 1, "time value out of range")
    seconds, fraction = _divmod(values, unit)
    return pc.binary_join_element_wise(_clock_text(seconds), _fraction_text(fraction, unit), ""), faults


def _seconds(values: Any, unit: int) -> Any:
    """A duration's seconds as the float nearest the exact value: an integer of up to
    2**53 is a float exactly, and one division rounds once; a larger one (a duration of
    more than 104 days in nanoseconds) is divided exactly by Python."""
    import pyarrow as pa
    import pyarrow.compute as pc

    bounds = pc.min_max(values).as_py()
    if bounds["min"] is None or (bounds["min"] >= -_EXACT and bounds["max"] <= _EXACT):
        return pc.divide(values.cast(pa.float64()), float(unit))
    return pa.array([None if value is None else value / unit for value in values.to_pylist()], pa.float64())


def _within(values: Any, low: int, high: int, reason: str) -> tuple[Any, Faults]:
    """The values from ``low`` to ``high``, the others null, with a fault each."""
    import pyarrow as pa
    import pyarrow.compute as pc

    low, high = max(low, _INT64[0]), min(high, _INT64[1])
    inside = pc.and_(pc.greater_equal(values, low), pc.less_equal(values, high))
    if pc.all(inside).as_py() is not False:
        return values, {}
    outside = pc.indices_nonzero(pc.invert(pc.fill_null(inside, True)))
    return pc.if_else(inside, values, pa.scalar(None, values.type)), {
        index: (reason, False) for index in outside.to_pylist()}


def _divmod(values: Any, divisor: int) -> tuple[Any, Any]:
    """Floor division and its remainder (from 0 to ``divisor`` - 1), as Python's divmod."""
    import pyarrow.compute as pc

    if divisor == 1:
        return values, None
    quotient = pc.divide(values, divisor)  # integers: toward zero
    rest = pc.subtract(values, pc.multiply(quotient, divisor))
    below = pc.less(rest, 0)
    return (pc.if_else(below, pc.subtract(quotient, 1), quotient),
            pc.if_else(below, pc.add(rest, divisor), rest))


def _padded(values: Any, width: int) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.utf8_lpad(values.cast(pa.string()), width=width, padding="0")


def _date_text(days: Any) -> Any:
    """Days since 1970-01-01 (from year 1 to 9999) as ``YYYY-MM-DD``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dates = days.cast(pa.int32()).cast(pa.date32())
    return pc.binary_join_element_wise(_padded(pc.year(dates), 4), _padded(pc.month(dates), 2),
                                       _padded(pc.day(dates), 2), "-")


def _clock_text(seconds: Any) -> Any:
    """Seconds since midnight as ``HH:MM:SS``."""
    import pyarrow.compute as pc

    hours, rest = _divmod(seconds, 3600)
    minutes, seconds = _divmod(rest, 60)
    return pc.binary_join_element_wise(_padded(hours, 2), _padded(minutes, 2), _padded(seconds, 2), ":")


def _fraction_text(fraction: Any, unit: int) -> Any:
    """A fraction of a second (in ``unit`` parts) as Python's isoformat and pandas write
    it: none for 0, 6 digits, or 9 when the nanoseconds need them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if fraction is None:
        return pa.scalar("")
    nanos = pc.multiply(fraction, 10**9 // unit)
    micros, below = _divmod(nanos, 1000)
    digits = pc.if_else(pc.equal(below, 0), _padded(micros, 6), _padded(nanos, 9))
    return pc.if_else(pc.equal(nanos, 0), pa.scalar(""), pc.binary_join_element_wise(pa.scalar("."), digits, ""))
