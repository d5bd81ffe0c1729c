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


@pytest.mark.parametrize("output_format", ["jsonl", "parquet"])
def test_a_run_that_kept_nothing_loads_as_its_audit(tmp_path, output_format):
    """The card declared corpus/ even when it held no shard, and a configuration that
    matches no file made every configuration fail (DataFilesNotFoundError), audits too."""
    datasets = pytest.importorskip("datasets")
    page = tmp_path / "a.txt"
    page.write_text("The river authority said on Tuesday that the new flood barrier would be finished by the end "
                    "of the year.\n")
    out = tmp_path / "out"
    assert invoke("run", page, "-o", out, "-q", "--keep-lang", "fr", "--output-format", output_format).exit_code == 0
    assert not list((out / "corpus").iterdir())
    assert "This run kept no document" in (out / "README.md").read_text()
    for config in ((), ("removed",)):
        audit = datasets.load_dataset(str(out), *config, split="train", cache_dir=str(tmp_path / "cache"))
        assert audit.num_rows == 1 and audit[0]["reason"] == "doc:keep-lang"
