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


@pytest.mark.unit
def test_an_engine_may_ask_for_larger_batches(tmp_path, monkeypatch):
    # Engine.batch_bytes (the Ray engine's are larger): ranges, and the parts a worker cuts
    # a whole file into, hold that much input, and the items are the same whatever the size.
    from curate.discover import discover
    from curate.engines.mapper import Mapper
    from curate.formats import IdRegistry, ReadOptions
    from curate.formats.ranges import ReadRange, WholeFile, read_range

    _corpus(tmp_path / "in")
    monkeypatch.setattr(driver, "BATCH_BYTES", 300)
    options = ReadOptions()
    found = discover([tmp_path / "in"], tmp_path / "out", options)

    def sent(batch_bytes: int | None) -> list[Batch]:
        return list(driver.range_batches(found, options, IdRegistry(found.files), whole_files=True,
                                         batch_bytes=batch_bytes))

    def items(batches: list[Batch]) -> list:
        return [item for batch in batches for item in read_range(batch.reads)]

    small, large = sent(None), sent(3000)
    assert items(small) == items(large)
    ranges = {size: [b.reads for b in batches if isinstance(b.reads, ReadRange)]
              for size, batches in (("small", small), ("large", large))}
    assert len(ranges["large"]) < len(ranges["small"]) / 4
    # Every range but a file's last holds at least the size asked for.
    for name, size in (("small", 300), ("large", 3000)):
        by_file: dict[str, list[ReadRange]] = {}
        for part in ranges[name]:
            by_file.setdefault(part.file.path.name, []).append(part)
        assert all(part.end - part.start >= size for parts in by_file.values() for part in parts[:-1])

    gz = next(b for b in large if isinstance(b.reads, WholeFile) and b.reads.file.path.name == "c.jsonl.gz")
    assert gz.reads.batch_bytes == 3000
    mapper = Mapper([], None, process=lambda stages, batch: batch)
    assert len(mapper.map(gz)) == 1  # 20 records of ~130 bytes: one part of 3000 bytes
    gz_small = next(b for b in small if isinstance(b.reads, WholeFile) and b.reads.file.path.name == "c.jsonl.gz")
    assert len(Mapper([], None, process=lambda stages, batch: batch).map(gz_small)) > 1


@pytest.mark.unit
def test_ray_batches_grow_with_the_input_up_to_a_limit():
    pytest.importorskip("ray")
    from curate.engines.ray import BATCH_BYTES_MAX, BATCHES_PER_ACTOR, batch_bytes_for

    def full(size: int, actors: int) -> int:
        return batch_bytes_for(size, actors)(0)  # the first batch's size

    assert full(0, 2) == driver.BATCH_BYTES  # a small input: as many batches as locally
    assert BATCHES_PER_ACTOR == 8 and full(10 << 20, 2) == 640 << 10  # 10 MB, 16 batches
    assert full(10 << 40, 2) == BATCH_BYTES_MAX  # a large one: no more than the limit
    assert full(10 << 20, 0) == full(10 << 20, 1)  # a cluster with no CPU yet
    assert full(40 << 20, 64) < full(40 << 20, 2)  # more actors, smaller batches


@pytest.mark.unit
def test_batches_shrink_towards_the_end_of_the_input():
    from curate.engines.tapering import TAPER, BatchSizes

    sizes = BatchSizes(full=1 << 20, least=1 << 18, total=20 << 20, workers=2)
    assert sizes(0) == sizes(10 << 20) == 1 << 20  # full-sized while plenty is left
    left = 3 << 20
    assert sizes((20 << 20) - left) == left // (TAPER * 2) < 1 << 20  # then a share of what is left
    assert sizes(20 << 20) == sizes((20 << 20) - 1000) == 1 << 18  # never below the least
    # Never larger for a later batch.
    seen = [sizes(done) for done in range(0, 20 << 20, 1 << 16)]
    assert seen == sorted(seen, reverse=True)


@pytest.mark.unit
def test_ranges_cut_with_shrinking_sizes_cover_the_file(tmp_path):
    from curate.discover import discover
    from curate.engines.tapering import BatchSizes
    from curate.formats import IdRegistry, ReadOptions
    from curate.formats.ranges import ReadRange, read_range

    folder = tmp_path / "in"
    folder.mkdir()
    lines = [f'{{"id": "d{k}", "text": "{"word " * (k % 40 + 5)}"}}' for k in range(4000)]
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n")
    options = ReadOptions()
    found = discover([folder], tmp_path / "out", options)
    total = sum(f.size for f in found.files)
    sizes = BatchSizes(full=total // 8, least=total // 64, total=total, workers=2)
    batches = list(driver.range_batches(found, options, IdRegistry(found.files), whole_files=True,
                                        batch_bytes=sizes))
    parts = [b.reads for b in batches]
    assert all(isinstance(p, ReadRange) for p in parts)
    assert [p.start for p in parts[1:]] == [p.end for p in parts[:-1]] and parts[-1].end == total
    lengths = [p.end - p.start for p in parts]
    assert lengths[0] >= total // 8 and min(lengths[:-1]) >= total // 64
    assert lengths[-2] < lengths[0] / 3  # the last batches are smaller than the first
    fixed = list(driver.range_batches(found, options, IdRegistry(found.files), whole_files=True,
                                      batch_bytes=total // 8))
    assert [item for b in batches for item in read_range(b.reads)] == \
        [item for b in fixed for item in read_range(b.reads)]
