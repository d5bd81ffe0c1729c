"""Arrow IPC input (.arrow, .feather) and folders saved by `datasets`: the real CLI on
files made by the real libraries."""

from __future__ import annotations

import json

import datasets
import pyarrow as pa
import pyarrow.feather as feather
import pytest
from conftest import read_corpus, read_jsonl, run_process

from curate.discover import dataset_metadata

TEXTS = [
    "The harbour master said the new pier would open to ferries before the summer season began.",
    "Farmers in the valley planted barley early this year because the spring rains came in March.",
    "A museum downtown restored three paintings that had hung unseen in its basement for decades.",
    "Engineers tested the bridge cables with sensors that report every vibration to a laptop nearby.",
    "The school library lends tablets to pupils who have no computer at home during the holidays.",
]
METADATA = "metadata of a Hugging Face dataset folder (save_to_disk) skipped"


def _ipc_stream(path, table: pa.Table, compression: str | None = None) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(
            sink, table.schema, options=pa.ipc.IpcWriteOptions(compression=compression)) as writer:
        for batch in table.to_batches(max_chunksize=1):  # a batch per row: rows cross batches
            writer.write_batch(batch)


def test_datasets_folders_and_arrow_files_are_read_row_by_row(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    saved = datasets.Dataset.from_dict({"id": ["s0", "s1"], "text": TEXTS[:2], "stars": [4, 5]})
    saved.save_to_disk(src / "saved")
    datasets.DatasetDict({"train": saved.select([0]), "test": saved.select([1])}).save_to_disk(src / "splits")
    feather.write_feather(pa.table({"text": [TEXTS[2]], "when": pa.array([0], pa.timestamp("s"))}),
                          src / "table.feather")
    _ipc_stream(src / "stream.arrow", pa.table({"text": [TEXTS[3], None], "n": [1, 2]}), compression="zstd")
    _ipc_stream(src / "cut.arrow", pa.table({"text": [TEXTS[4], TEXTS[4] + " Again."], "n": [1, 2]}))
    whole = (src / "cut.arrow").read_bytes()
    (src / "cut.arrow").write_bytes(whole[:-100])  # inside the second batch
    (src / "words.arrow").write_bytes(b"not an arrow file at all\n")
    _ipc_stream(src / "numbers.arrow", pa.table({"text": [1, 2, 3]}))

    out = tmp_path / "out"
    result = run_process("run", str(src), "-o", str(out), timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    records = {(r["source"], r["lines"][0]["line"]): r for r in read_corpus(out)}
    first = records[("saved/data-00000-of-00001.arrow", 1)]
    assert (first["id"], first["text"], first["metadata"]) == ("s0", TEXTS[0], {"stars": 4})
    assert records[("saved/data-00000-of-00001.arrow", 2)]["id"] == "s1"
    feathered = records[("table.feather", 1)]
    assert feathered["id"] == "table.feather:1" and feathered["metadata"] == {"when": "1970-01-01T00:00:00"}
    assert records[("stream.arrow", 1)]["text"] == TEXTS[3] and records[("cut.arrow", 1)]["text"] == TEXTS[4]

    problems = {(q["source"], q["line"]): q for q in read_jsonl(out / "quarantine.jsonl")}
    for name in ("saved/state.json", "saved/dataset_info.json", "splits/dataset_dict.json",
                 "splits/train/state.json", "splits/test/dataset_info.json"):
        assert problems[(name, None)]["problem"] == METADATA and problems[(name, None)]["lines"] == 0
    assert problems[("stream.arrow", 2)]["problem"] == "column 'text' is null in this row"
    assert problems[("cut.arrow", 2)]["problem"].startswith("corrupt Arrow data")
    assert problems[("words.arrow", None)]["problem"].startswith("not an Arrow IPC file pyarrow can read")
    assert problems[("numbers.arrow", None)]["problem"] == "column 'text' holds int64, not strings"
    assert problems[("numbers.arrow", None)]["lines"] == 3

    summary = json.loads((out / "summary.json").read_text())
    lines = summary["lines"]
    assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"]
    assert sum(q["lines"] for q in problems.values()) == lines["quarantined"]
    # The splits' rows are the saved dataset's again: their ids are said to be used twice,
    # and their text is removed as copies of the saved dataset's.
    for split, rid in (("test", "s1"), ("train", "s0")):
        source = f"splits/{split}/data-00000-of-00001.arrow"
        assert problems[(source, 1)]["problem"].startswith(f"duplicate id {rid!r}")
        assert [r["reason"] for r in read_jsonl(out / "removed.jsonl") if r["source"] == source] == ["duplicate"]


@pytest.mark.unit
def test_only_the_metadata_datasets_writes_is_skipped():
    state = json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}).encode()
    files = {"state.json": state, "dataset_info.json": b"{}", "data-00000-of-00001.arrow": b""}
    assert dataset_metadata(list(files), files.get) == {"state.json", "dataset_info.json"}
    # A state.json of something else, and a dataset_info.json alone, are files like any other.
    other = {"state.json": b'{"page": 3}', "dataset_info.json": b"{}"}
    assert dataset_metadata(list(other), other.get) == set()
    splits = {"dataset_dict.json": b'{"splits": ["train"]}', "notes.json": b"[]"}
    assert dataset_metadata(list(splits), splits.get) == {"dataset_dict.json"}
    broken = {"state.json": b"{not json", "dataset_dict.json": None}
    assert dataset_metadata(list(broken), broken.get) == set()
