"""Arrow IPC input (.arrow, .feather) and folders saved by `datasets`: the real CLI on
files made by the real libraries."""

from __future__ import annotations

import json
import warnings

import datasets
import pyarrow as pa
import pyarrow.feather as feather
import pytest
from conftest import in_process, read_corpus, read_jsonl, run_process

from curate.discover import DatasetFolder, dataset_folder

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
    folder = dataset_folder(list(files), files.get)
    assert folder.metadata == {"state.json", "dataset_info.json"}
    assert folder.data_files == {"data-00000-of-00001.arrow"} and folder.missing == ()
    assert folder.skipped("cache-1.arrow", "arrow")[0] == CACHE
    assert folder.skipped("notes.jsonl", "jsonl") is None
    assert folder.skipped("data-00000-of-00001.arrow", "arrow") is None
    # A state.json of something else, and a dataset_info.json alone, are files like any other.
    other = {"state.json": b'{"page": 3}', "dataset_info.json": b"{}"}
    assert dataset_folder(list(other), other.get) == DatasetFolder()
    splits = {"dataset_dict.json": b'{"splits": ["train"]}', "notes.json": b"[]"}
    assert dataset_folder(list(splits), splits.get).metadata == {"dataset_dict.json"}
    broken = {"state.json": b"{not json", "dataset_dict.json": None}
    assert dataset_folder(list(broken), broken.get) == DatasetFolder()
    # Beside a data file, a state.json that cannot be read is said; every .arrow file is read.
    for state, why in ((b"{not json", "is not valid JSON"), (None, "cannot be read"),
                       (b'{"_data_files": [{"filename": "../x.arrow"}]}', "does not list its data files")):
        beside = {"state.json": state, "data-00000-of-00001.arrow": b"", "cache-1.arrow": b""}
        folder = dataset_folder(list(beside), beside.get)
        assert folder.data_files is None and folder.skipped("cache-1.arrow", "arrow") is None
        assert why in folder.skipped("state.json", "json")[0]

CACHE = "cache file of a Hugging Face dataset folder, not listed in its state.json: skipped"


def _loaded_and_mapped(src):
    """A dataset and a DatasetDict saved by `datasets`, then loaded and mapped and
    filtered, which writes cache-*.arrow files into their folders."""
    datasets.Dataset.from_dict({"text": TEXTS[:4]}).save_to_disk(src / "saved")
    loaded = datasets.load_from_disk(str(src / "saved"))
    loaded.map(lambda r: {"text": r["text"].upper()})
    loaded.filter(lambda r: "valley" in r["text"])  # a cache file of one column, 'indices'
    datasets.DatasetDict({"train": loaded.select([0, 1]), "test": loaded.select([2])}).save_to_disk(src / "splits")
    datasets.load_from_disk(str(src / "splits")).map(lambda r: {"text": r["text"][::-1]})
    caches = sorted(path.relative_to(src).as_posix() for path in src.rglob("cache-*.arrow"))
    assert len(caches) == 4, caches  # two in saved/, one in each split's folder
    return caches


@pytest.mark.parametrize("fmt", ["auto", "arrow"])
def test_cache_files_beside_a_saved_dataset_are_skipped_not_read(tmp_path, fmt):
    """load_from_disk(...).map()/.filter() write cache-*.arrow files into the saved
    folder: only the data files its state.json lists are the dataset's rows; read as
    data, the cache's rows were kept and the real ones removed as their copies."""
    src = tmp_path / "in"
    src.mkdir()
    caches = _loaded_and_mapped(src)
    out = tmp_path / "out"
    result = in_process("run", src, "-o", out, "-q", "--format", fmt, "--strict")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    records = read_corpus(out)
    assert {r["source"] for r in records} == {"saved/data-00000-of-00001.arrow"}
    assert [r["text"] for r in records] == TEXTS[:4]
    # The splits hold copies of the saved rows: removed as duplicates, never a cache's text.
    removed = {r["source"] for r in read_jsonl(out / "removed.jsonl")}
    assert removed == {"splits/train/data-00000-of-00001.arrow", "splits/test/data-00000-of-00001.arrow"}
    problems = {q["source"]: q for q in read_jsonl(out / "quarantine.jsonl") if q["line"] is None}
    for cache in caches:
        assert problems[cache]["problem"] == CACHE and problems[cache]["lines"] == 0
        assert "state.json" in problems[cache]["action"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["documents"]["read"] == 7  # 4 saved rows, 2 + 1 in the splits
    # A pattern that walks the folder skips them as the walk does; a cache file named on
    # the command line is read, as the user asked.
    pattern = in_process("run", f"{src}/saved/*.arrow", "-o", tmp_path / "pattern", "-q", "--format", fmt)
    assert pattern.returncode == 0, pattern.stderr
    assert {r["source"] for r in read_corpus(tmp_path / "pattern")} == {"data-00000-of-00001.arrow"}
    mapped = next(cache for cache in caches if cache.startswith("saved/") and
                  pa.ipc.open_stream(str(src / cache)).schema.names == ["text"])
    named = in_process("run", src / mapped, "-o", tmp_path / "named", "-q", "--format", fmt)
    assert named.returncode == 0, named.stderr
    assert [r["text"] for r in read_corpus(tmp_path / "named")] == [text.upper() for text in TEXTS[:4]]


def test_a_state_json_that_cannot_be_trusted_is_said(tmp_path):
    """A state.json that lists a file the folder lacks, or that is not the JSON datasets
    writes: said, never a crash; without its list, every .arrow file is read."""
    src = tmp_path / "in"
    src.mkdir()
    _loaded_and_mapped(src)
    state = json.loads((src / "saved" / "state.json").read_text())
    state["_data_files"].append({"filename": "data-00001-of-00002.arrow"})
    (src / "saved" / "state.json").write_text(json.dumps(state))
    (src / "splits" / "train" / "state.json").write_text('{"_data_files": [{"filename": ')  # cut off
    (src / "splits" / "test" / "state.json").write_text('{"_data_files": "data-00000-of-00001.arrow"}')
    out = tmp_path / "out"
    result = in_process("run", src, "-o", out, "-q")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    problems = {q["source"]: q for q in read_jsonl(out / "quarantine.jsonl") if q["line"] is None}
    missing = problems["saved/data-00001-of-00002.arrow"]
    assert missing["problem"] == "data file listed in the dataset folder's state.json is missing"
    assert missing["lines"] == 0 and "save_to_disk" in missing["action"]
    for split, why in (("train", "is not valid JSON"), ("test", "does not list its data files")):
        said = problems[f"splits/{split}/state.json"]
        assert said["problem"].startswith("state.json of a Hugging Face dataset folder") and why in said["problem"]
        assert "every .arrow file in the folder is read" in said["action"]
        assert said["lines"] == 0
    # Those two folders' cache files are read (their rows are then counted), saved/'s are not.
    sources = {r["source"] for r in read_corpus(out)} | {r["source"] for r in read_jsonl(out / "removed.jsonl")}
    assert any(source.startswith("splits/train/cache-") for source in sources)
    assert not any(source.startswith("saved/cache-") for source in sources)
    summary = json.loads((out / "summary.json").read_text())
    lines = summary["lines"]
    assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"]
    # --strict fails the run: these are problems, not skips by design.
    strict = in_process("run", src, "-o", tmp_path / "strict", "-q", "--strict")
    assert strict.returncode != 0


def _feather_v1(path, table: pa.Table) -> None:
    with warnings.catch_warnings():  # pyarrow 25 deprecates writing V1, still the format old files are in
        warnings.simplefilter("ignore", DeprecationWarning)
        feather.write_feather(table, path, version=1)
    assert path.read_bytes()[:4] == b"FEA1"


def test_a_feather_v1_file_is_read_as_a_v2_file_is(tmp_path):
    """A Feather V1 file (magic FEA1: older pandas and R, write_feather(version=1)) was
    quarantined as a corrupt Arrow file ('Expected to read 826361158 metadata bytes'),
    its rows not counted: pyarrow reads it, and its rows are numbered as a V2 file's."""
    table = pa.table({"id": ["a", None, "c"], "text": [TEXTS[0], TEXTS[1], None], "n": [1, 2, 3]})
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    v1.mkdir()
    v2.mkdir()
    _feather_v1(v1 / "old.feather", table)
    feather.write_feather(table, v2 / "old.feather")
    outputs = {}
    for folder in (v1, v2):
        result = in_process("run", folder, "-o", folder / "out", "-q")
        assert result.returncode == 0 and result.stderr == "", result.stderr
        outputs[folder.name] = [(folder / "out" / name).read_bytes()
                                for name in ("corpus/part-00000.jsonl", "quarantine.jsonl", "removed.jsonl")]
    assert outputs["v1"] == outputs["v2"]
    assert [(r["id"], r["lines"][0]["line"]) for r in read_corpus(v1 / "out")] == [("a", 1), ("old.feather:2", 2)]
    [null] = [q for q in read_jsonl(v1 / "out" / "quarantine.jsonl") if q["source"] == "old.feather"]
    assert (null["line"], null["problem"]) == (3, "column 'text' is null in this row")


def test_a_feather_v1_file_too_large_to_read_at_once_is_refused_its_rows_counted(tmp_path, monkeypatch):
    """pyarrow reads a V1 file's columns whole (it has no record batches): one larger
    than a batch curate reads at once is refused, saying it is Feather V1 and how to
    convert it, its rows counted; a cut-off V1 file is said to be one."""
    import curate.formats.arrow as arrow

    src = tmp_path / "in"
    src.mkdir()
    _feather_v1(src / "big.feather", pa.table({"text": TEXTS * 200}))  # 18 kB
    _feather_v1(src / "cut.feather", pa.table({"text": TEXTS}))
    whole = (src / "cut.feather").read_bytes()
    (src / "cut.feather").write_bytes(whole[:-20])
    # Its metadata whole, most of its column lost: pyarrow cannot read it; its rows are counted.
    _feather_v1(src / "hole.feather", pa.table({"text": TEXTS * 20}))
    whole = (src / "hole.feather").read_bytes()
    metadata = 8 + int.from_bytes(whole[-8:-4], "little")
    (src / "hole.feather").write_bytes(whole[:1000] + whole[-metadata:])
    monkeypatch.setattr(arrow, "BATCH_BYTES_MAX", 100)
    out = tmp_path / "out"
    result = in_process("run", src, "-o", out, "-q", "--max-doc-bytes", "4K")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    problems = {q["source"]: q for q in read_jsonl(out / "quarantine.jsonl")}
    big = problems["big.feather"]
    assert big["lines"] == 1000 and big["line"] == 1
    assert big["problem"].startswith("a Feather V1 file") and "more than curate reads at once" in big["problem"]
    assert "write_feather" in big["action"] and "--max-doc-bytes" in big["action"]
    cut = problems["cut.feather"]
    assert "Feather V1" in cut["problem"] and "Expected to read" not in cut["problem"]
    hole = problems["hole.feather"]
    assert hole["problem"].startswith("a Feather V1 file pyarrow cannot read: ") and hole["lines"] == 100
    assert "truncated download" in hole["action"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lines"]["quarantined"] == 1100 and summary["lines"]["read"] == 1100
    # Read with --max-doc-bytes raised as the action says.
    raised = big["action"].split("raise --max-doc-bytes to ")[1].split()[0]
    again = in_process("run", src / "big.feather", "-o", tmp_path / "again", "-q", "--max-doc-bytes", raised)
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "again" / "summary.json").read_text())["documents"]["read"] == 1000
