"""The line model's tree walk as it was first written (children looked up left and right
apart, then chosen with np.where): the reference that LineModel.scores must equal
exactly, so a faster walk never moves a score (tests/test_line_model.py)."""

from __future__ import annotations

import numpy as np

from curate.linemodel.model import LineModel


def scores_reference(model: LineModel, rows: np.ndarray) -> np.ndarray:
    n = len(rows)
    if not n:
        return np.zeros(0)
    width = model.feature.shape[1]
    feature, threshold = model.feature.ravel(), model.threshold.ravel()
    left, right = model.left.ravel(), model.right.ravel()
    base = np.arange(model.trees, dtype=np.int64) * width  # each tree's first node, flat
    flat_rows = np.ascontiguousarray(rows, dtype=np.float64).ravel()
    row_base = (np.arange(n, dtype=np.int64) * rows.shape[1])[:, None]
    node = np.broadcast_to(base, (n, model.trees)).copy()  # flat index of each pair's node
    for _ in range(model.depth):
        go_left = np.take(flat_rows, row_base + np.take(feature, node)) <= np.take(threshold, node)
        node = base + np.where(go_left, np.take(left, node), np.take(right, node))
    raw = model.baseline + np.take(model.value.ravel(), node).sum(axis=1)
    return 1.0 / (1.0 + np.exp(-raw))
