"""--workers N with workers that read byte ranges of JSON Lines files themselves
(curate.formats.ranges): the same bytes as --workers 1, whatever the files hold."""

from __future__ import annotations

import gzip
import json

import pytest
from conftest import invoke, output_files

from curate import driver


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
