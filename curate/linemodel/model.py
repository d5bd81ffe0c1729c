"""A fitted line model: gradient-boosted trees evaluated with numpy.

The trees come from scikit-learn's HistGradientBoostingClassifier (tools/
train_line_model.py exports them); only their arrays are shipped, so running the model
needs numpy alone, and the same page always gets the same scores. The evaluation is the
classifier's own rule, written out: at each split a row goes left when its feature is at
most the threshold; the raw score is the baseline plus the leaf values, and the score is
its logistic. tests/test_line_model.py checks it against scikit-learn's predictions
saved at training time.

A model file may carry a page gate beside its line model: a classifier of whole pages
(features.PAGE_FEATURES) that tells an article from a page that is not one (a listing, a
shop's grid, a forum thread, a documentation or service page), and a second line model,
fitted on such pages alone, which judges the lines of the pages the classifier calls so.
One model fitted on every page learnt mostly from articles, where the article region is
right; on the other pages it trusted the region as much, and lost their content.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from pathlib import Path

import numpy as np

from curate.linemodel.features import FEATURES, PAGE_FEATURES

BUILTIN = "line.npz"  # inside this package
# Rows scored at once. Each (row, tree) pair holds several int64s while the trees are
# walked, ~2.6 kB a row with 100 trees: a page of a million lines took gigabytes. In
# slices of this many rows the walk also stays in the cache: 200k rows in 0.41x the time
# of one walk of them all (bench/model_slices.py); a row's score is its own, whatever the slice.
SCORE_ROWS = 2048


class ModelError(ValueError):
    """A model file that cannot be used (missing, not a model, other features)."""


@dataclass(frozen=True)
class FlatTrees:
    """A model's trees as one flat array each, for LineModel.scores."""

    roots: np.ndarray  # each tree's first node
    feature: np.ndarray
    threshold: np.ndarray
    children: np.ndarray  # node k's right child at 2k, its left at 2k + 1 (flat indices)
    value: np.ndarray


@dataclass(frozen=True, eq=False)
class LineModel:
    name: str
    features: tuple[str, ...]
    baseline: float
    feature: np.ndarray  # (trees, nodes) feature index at each split
    threshold: np.ndarray  # (trees, nodes) go left when the feature is <= this
    left: np.ndarray  # (trees, nodes) child nodes; a leaf points to itself both ways
    right: np.ndarray
    value: np.ndarray  # (trees, nodes) a leaf's value (0 elsewhere)
    depth: int  # the deepest leaf's depth: steps every row takes
    rule_threshold: float  # defaults fitted with the model (see the rule's params)
    free_threshold: float
    sha256: str = ""  # of the file it was read from
    gate: PageGate | None = None  # pages that are not articles, and their own line model

    @property
    def trees(self) -> int:
        return int(self.feature.shape[0])

    def scores(self, rows: np.ndarray, at: np.ndarray | None = None) -> np.ndarray:
        """Probability that each row (a line's features) is noise; with ``at``, of the rows
        at those positions only (taken a slice at a time, not copied all at once)."""
        n = len(rows) if at is None else len(at)
        if n <= SCORE_ROWS:
            return self._scores(rows if at is None else rows[at])
        return np.concatenate([self._scores(rows[start:start + SCORE_ROWS] if at is None
                                            else rows[at[start:start + SCORE_ROWS]])
                               for start in range(0, n, SCORE_ROWS)])

    def _scores(self, rows: np.ndarray) -> np.ndarray:
        n = len(rows)
        if not n:
            return np.zeros(0)
        # Every (row, tree) pair walks down together, one level a step, through flat arrays
        # (np.take on flat indices is several times faster than 2-d fancy indexing); a
        # node's two children sit side by side, right then left, so the comparison itself
        # picks the next node.
        walk = self._flat
        flat_rows = np.ascontiguousarray(rows, dtype=np.float64).ravel()
        row_base = (np.arange(n, dtype=np.int64) * rows.shape[1])[:, None]
        node = np.broadcast_to(walk.roots, (n, self.trees)).copy()  # flat index of each pair's node
        for _ in range(self.depth):
            go_left = np.take(flat_rows, row_base + np.take(walk.feature, node)) <= np.take(walk.threshold, node)
            node = np.take(walk.children, 2 * node + go_left)
        raw = self.baseline + np.take(walk.value, node).sum(axis=1)
        return 1.0 / (1.0 + np.exp(-raw))

    @cached_property
    def _flat(self) -> FlatTrees:
        width = self.feature.shape[1]
        roots = np.arange(self.trees, dtype=np.int64) * width  # each tree's first node, flat
        children = np.stack([self.right + roots[:, None], self.left + roots[:, None]], axis=-1)
        return FlatTrees(roots, self.feature.ravel(), self.threshold.ravel(), children.ravel(), self.value.ravel())

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """What its file holds, each key after ``prefix``."""
        found = {"name": np.array(self.name), "features": np.array(self.features),
                 "baseline": np.array(self.baseline), "feature": self.feature.astype(np.int16),
                 "threshold": self.threshold, "left": self.left.astype(np.int16),
                 "right": self.right.astype(np.int16), "value": self.value, "depth": np.array(self.depth),
                 "rule_threshold": np.array(self.rule_threshold), "free_threshold": np.array(self.free_threshold)}
        if self.gate is not None:
            found.update(self.gate.classifier.arrays(_PAGES))
            found.update(self.gate.other.arrays(_OTHER))
            found["gate_threshold"] = np.array(self.gate.threshold)
        return {prefix + key: value for key, value in found.items()}

    def save(self, path: Path) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **self.arrays())  # type: ignore[arg-type]  # no key is named allow_pickle
        path.write_bytes(buffer.getvalue())


@dataclass(frozen=True, eq=False)
class PageGate:
    classifier: LineModel  # over features.PAGE_FEATURES: the probability a page is not an article
    threshold: float  # from this probability on, the page's lines go to ``other``
    other: LineModel  # the line model fitted on pages that are not articles


_PAGES = "pages__"  # the keys of a gate's parts in a model file
_OTHER = "other__"


def _trees(arrays: dict[str, np.ndarray], prefix: str, sha256: str, gate: PageGate | None = None) -> LineModel:
    return LineModel(str(arrays[prefix + "name"]), tuple(str(f) for f in arrays[prefix + "features"]),
                     float(arrays[prefix + "baseline"]), arrays[prefix + "feature"].astype(np.int64),
                     arrays[prefix + "threshold"].astype(np.float64), arrays[prefix + "left"].astype(np.int64),
                     arrays[prefix + "right"].astype(np.int64), arrays[prefix + "value"].astype(np.float64),
                     int(arrays[prefix + "depth"]), float(arrays[prefix + "rule_threshold"]),
                     float(arrays[prefix + "free_threshold"]), sha256, gate)


def read_model(data: bytes, where: str) -> LineModel:
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        gate = None
        if _PAGES + "name" in arrays:
            gate = PageGate(_trees(arrays, _PAGES, sha256), float(arrays["gate_threshold"]),
                            _trees(arrays, _OTHER, sha256))
        model = _trees(arrays, "", sha256, gate)
    except (OSError, ValueError, KeyError, EOFError) as err:
        raise ModelError(f"{where} is not a line model file ({err})") from None
    if model.features != FEATURES or (gate is not None and (gate.other.features != FEATURES
                                                            or gate.classifier.features != PAGE_FEATURES)):
        raise ModelError(f"{where} was trained on other features than this curate computes; retrain it with "
                         "tools/train_line_model.py")
    return model


@cache
def load_model(path: str = "") -> LineModel:
    """The model in ``path``, or the one shipped with curate when it is empty."""
    if not path:
        return read_model(resources.files("curate.linemodel").joinpath(BUILTIN).read_bytes(), f"built-in {BUILTIN}")
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise ModelError(f"cannot read line model {path}: {err.strerror or err}") from None
    return read_model(data, path)
