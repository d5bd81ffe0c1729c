"""--workers N with workers that read byte ranges of JSON Lines files themselves
(curate.formats.ranges): the same bytes as --workers 1, whatever the files hold."""

from __future__ import annotations

import gzip
import json

import pytest
from conftest import invoke, output_files

from curate import driver
from curate.stages.base import Batch


def _corpus(folder):
    folder.mkdir()
    para = "the quick brown fox jumps over the lazy dog near the river bank today {}"
    lines = []
    for k in range(60):
        if k % 7 == 3:
            lines.append("")  # blank line
        if k % 11 == 5:
            lines.append("{not json")
        record = {"id": f"d{k % 40}", "text": para.format(k % 9) + ("\n\n" + para.format(k) if k % 3 else ""),
                  "lang": "en"}
        if k % 13 == 0:
            record.pop("id")
        lines.append(json.dumps(record))
    lines.append(json.dumps({"id": "big", "text": "x " * 3000}))  # over --max-doc-bytes below
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "b.jsonl").write_text("\n".join(reversed(lines)))  # no final newline; ids used again
    (folder / "c.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines[:20]) + "\n").encode()))
    (folder / "d.jsonl").write_text("\n\n  \n")  # only blank lines
    (folder / "e.txt").write_text(para.format(1) + "\n")
    (folder / "f.json").write_text(json.dumps([{"text": "an array"}], indent=2))


@pytest.mark.unit
@pytest.mark.parametrize("command", ["dedup", "run"])
def test_ranges_read_by_workers_give_the_bytes_of_one_process(tmp_path, monkeypatch, command):
    _corpus(tmp_path / "in")
    monkeypatch.setattr(driver, "BATCH_BYTES", 300)  # many ranges per file, ids checked across them
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        result = invoke(command, tmp_path / "in", "-o", out, "-q", "--workers", workers, "--max-doc-bytes", "4000",
                        "--chunk-docs", "7")
        assert result.exit_code == 0, result.output
        outs.append(output_files(out))
    assert outs[0] == outs[1]
    quarantine = outs[0]["quarantine.jsonl"].decode()
    assert "duplicate id" in quarantine and "larger than --max-doc-bytes" in quarantine


@pytest.mark.unit
def test_whole_files_read_by_workers_give_the_items_the_driver_reads(tmp_path, monkeypatch):
    # What the Ray engine asks for (Engine.reads_whole_files): the files that cannot be cut
    # into ranges (here c.jsonl.gz, d.jsonl, e.txt, f.json) go to a worker whole, so the
    # driver reads no document; the worker's parts, in order, hold the very items the
    # driver would have read, cut as the driver cuts them.
    from curate.discover import discover
    from curate.engines.mapper import Mapper
    from curate.formats import IdRegistry, ReadOptions
    from curate.formats.ranges import WholeFile, read_range

    _corpus(tmp_path / "in")
    monkeypatch.setattr(driver, "BATCH_BYTES", 300)
    monkeypatch.setattr(driver, "BATCH_DOCS", 3)  # a whole file comes back in several parts
    options = ReadOptions()
    found = discover([tmp_path / "in"], tmp_path / "out", options)

    def items(whole_files: bool) -> tuple[list, list[Batch]]:
        got, sent = [], []
        for batch in driver.range_batches(found, options, IdRegistry(found.files), whole_files=whole_files):
            sent.append(batch)
            got.extend(read_range(batch.reads) if batch.reads is not None else batch.items)
        return got, sent

    read_here, _ = items(False)
    read_there, sent = items(True)
    assert read_there == read_here
    whole = [batch for batch in sent if isinstance(batch.reads, WholeFile)]
    assert {batch.reads.file.path.name for batch in whole} == {"c.jsonl.gz", "d.jsonl", "e.txt", "f.json"}
    assert all(not batch.items for batch in sent if batch.reads is not None)

    mapper = Mapper([], None, process=lambda stages, batch: batch)
    gz = next(batch for batch in whole if batch.reads.file.path.name == "c.jsonl.gz")
    parts = mapper.map(gz)
    assert len(parts) > 1
    assert [item for number in range(len(parts)) for item in mapper.finish((gz.number, number), [])] \
        == read_range(gz.reads)
    assert not mapper.held  # every part handed back once
