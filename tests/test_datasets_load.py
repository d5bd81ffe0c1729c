"""The corpus folder loads with Hugging Face datasets, unchanged (every format: test_output_formats.py)."""

from __future__ import annotations

import pytest
from conftest import SEEDS, invoke


def test_corpus_loads_with_datasets(tmp_path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "out"
    assert invoke("run", SEEDS, "-o", out, "-q").exit_code == 0
    ds = datasets.load_dataset("json", data_dir=str(out / "corpus"), split="train",
                               cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == 5
    assert set(ds.column_names) >= {"id", "text", "source", "language", "language_score", "lines"}
    assert ds[0]["lines"][0]["line"] == 1
