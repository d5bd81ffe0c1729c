"""The line model's features computed one page at a time, as they were first written: the
reference that curate.linemodel.features.pages_features (every page of a batch at once,
~10x faster on short documents) must equal exactly (tests/test_line_model.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from curate.document import Line
from curate.linemodel.features import (
    _CONTEXT_OF,
    _GROUP_INDEX,
    _INDEX,
    _WINDOWS,
    FEATURES,
    OWN,
    RULE_GROUPS,
    RULES,
    _own_lines,
    _window_mean,
    title_overlap,
)


def line_features_reference(lines: Sequence[Line], hits: Mapping[int, set[str]]) -> np.ndarray:
    """One row of FEATURES per line. ``hits``: line index -> the rule groups (RULE_GROUPS)
    whose rules hit it."""
    n = len(lines)
    out = np.zeros((n, len(FEATURES)), dtype=np.float64)
    if not n:
        return out
    own = _own_lines([line.text for line in lines], [line.gap_before for line in lines],
                     np.zeros(len(lines), dtype=np.int64))
    out[:, :len(OWN)] = own
    rules = np.zeros((n, len(RULE_GROUPS)), dtype=np.float64)
    for k, line in enumerate(lines):
        for group in hits.get(line.index, ()):
            rules[k, _GROUP_INDEX[group]] = 1.0
    any_rule = rules.max(axis=1)
    column = {name: own[:, OWN.index(name)] for name in OWN}
    column["any_rule"] = any_rule
    for w in _WINDOWS:
        for name in _CONTEXT_OF:
            out[:, _INDEX[f"{name}_w{w}"]] = _window_mean(column[name], w)
    for name in ("log_chars", "terminal", "prose"):
        out[1:, _INDEX[f"{name}_prev"]] = column[name][:-1]
        out[:-1, _INDEX[f"{name}_next"]] = column[name][1:]
    out[:, _INDEX["title_overlap"]] = title_overlap([line.text for line in lines])
    idx = np.arange(n, dtype=np.float64)
    out[:, _INDEX["position"]] = idx / max(n - 1, 1)
    out[:, _INDEX["log_from_start"]] = np.log1p(idx)
    out[:, _INDEX["log_from_end"]] = np.log1p(n - 1 - idx)
    out[0, _INDEX["first_line"]] = 1.0
    out[:, _INDEX["log_lines"]] = np.log1p(float(n))
    prose = column["prose"]
    out[:, _INDEX["page_prose_share"]] = prose.mean()
    # Inside a block: prose both somewhere before and somewhere after within 8 lines.
    sums = np.concatenate([[0.0], np.cumsum(prose)])
    idx_int = np.arange(n)
    near_before = (sums[idx_int] - sums[np.maximum(idx_int - 8, 0)]) > 0
    near_after = (sums[np.minimum(idx_int + 9, n)] - sums[idx_int + 1]) > 0
    out[:, _INDEX["in_prose_block"]] = near_before & near_after
    where = np.flatnonzero(prose)
    if len(where):
        pos = np.searchsorted(where, np.arange(n))
        left = np.where(pos > 0, np.arange(n) - where[np.maximum(pos - 1, 0)], n)
        right = np.where(pos < len(where), where[np.minimum(pos, len(where) - 1)] - np.arange(n), n)
        out[:, _INDEX["log_to_prose"]] = np.log1p(np.minimum(np.abs(left), np.abs(right)))
        out[:, _INDEX["after_last_prose"]] = (np.arange(n) > where[-1]).astype(np.float64)
        out[:, _INDEX["before_first_prose"]] = (np.arange(n) < where[0]).astype(np.float64)
    else:
        out[:, _INDEX["log_to_prose"]] = math.log1p(n)
    first_rule = len(FEATURES) - len(RULES)
    out[:, first_rule:first_rule + len(RULE_GROUPS)] = rules
    out[:, _INDEX["any_rule"]] = any_rule
    out[:, _INDEX["rule_near_2"]] = _window_mean(any_rule, 2)
    return out
