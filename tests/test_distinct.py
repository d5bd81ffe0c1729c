"""curate.distinct.distinct is np.unique for integer arrays, by a sort (see its module)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from curate.distinct import distinct

pytestmark = pytest.mark.unit


@given(hnp.arrays(st.sampled_from([np.uint64, np.int64, np.uint32, np.int32, np.uint8]),
                  hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=40),
                  elements=st.integers(0, 200)))
def test_distinct_is_numpys_unique(values):
    got, want = distinct(values), np.unique(values)
    assert got.dtype == want.dtype and got.tolist() == want.tolist()


def test_distinct_on_values_across_the_whole_range():
    rng = np.random.default_rng(4)
    values = rng.integers(0, np.iinfo(np.uint64).max, 5000, dtype=np.uint64, endpoint=True)
    values = np.concatenate([values, values[::3], np.array([0, np.iinfo(np.uint64).max], dtype=np.uint64)])
    assert distinct(values).tolist() == np.unique(values).tolist()
    negative = rng.integers(-(1 << 62), 1 << 62, 5000)
    assert distinct(np.concatenate([negative, negative[:100]])).tolist() == np.unique(negative).tolist()
