"""Every non-blank input line is kept, removed with a reason, or quarantined, and every
kept line's byte span gives back exactly the line as it was read."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from conftest import NOISE_DEV, SEEDS, invoke, read_corpus, read_jsonl

_BREAK = re.compile(rb"\r\n|\n|\r")


def nonblank_lines(data: bytes) -> dict[int, bytes]:
    """Line number -> raw bytes of every line that is not blank (Python's str.strip())."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return {n: part for n, part in enumerate(_BREAK.split(data), start=1)
            if part.decode("utf-8", "replace").strip()}


def check_txt_accounting(input_dir: Path, out: Path) -> int:
    kept = read_corpus(out)
    removed = read_jsonl(out / "removed.jsonl")
    quarantined = read_jsonl(out / "quarantine.jsonl")
    seen: dict[str, Counter] = {}
    files: dict[str, tuple[bytes, list[bytes]]] = {}

    def read(source: str) -> tuple[bytes, list[bytes]]:
        """An input file's bytes and its lines, split once (splitting the file again for
        each of its lines made checking noise-dev take 12 s)."""
        if source not in files:
            data = (input_dir / source).read_bytes()
            files[source] = data, _BREAK.split(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
        return files[source]

    for rec in kept:
        data, parts = read(rec["source"])
        for entry in rec["lines"]:
            start, end = entry["bytes"]
            _assert_span_is_line(parts, rec["source"], entry["line"], data[start:end].decode("utf-8"))
            seen.setdefault(rec["source"], Counter())[entry["line"]] += 1
    for rec in removed:
        data, parts = read(rec["source"])
        start, end = rec["bytes"]
        assert data[start:end].decode("utf-8") == rec["removed"]
        _assert_span_is_line(parts, rec["source"], rec["line"], rec["removed"])
        seen.setdefault(rec["source"], Counter())[rec["line"]] += 1
    for rec in quarantined:
        # A notice (a rule over its time budget, a duplicate id) accounts for no line.
        if rec["line"] is not None and rec["lines"] > 0:
            seen.setdefault(rec["source"], Counter())[rec["line"]] += 1
    checked = 0
    for path in sorted(input_dir.rglob("*.txt")):
        source = path.relative_to(input_dir).as_posix()
        expected = set(nonblank_lines(path.read_bytes()))
        counts = seen.get(source, Counter())
        assert set(counts) == expected, f"{source}: lines not accounted for: {sorted(expected ^ set(counts))[:10]}"
        assert all(c == 1 for c in counts.values()), f"{source}: a line was accounted twice"
        checked += len(expected)
    return checked


def _assert_span_is_line(parts: list[bytes], source: str, lineno: int, raw: str) -> None:
    assert parts[lineno - 1].decode("utf-8") == raw, f"{source}:{lineno}: span does not give back the line"


def test_every_seed_line_is_accounted_for(tmp_path):
    out = tmp_path / "out"
    assert invoke("run", SEEDS, "-o", out, "-q").exit_code == 0
    checked = check_txt_accounting(SEEDS, out)
    summary = json.loads((out / "summary.json").read_text())
    assert checked == summary["lines"]["read"] == 79
    assert summary["lines"]["kept"] + summary["lines"]["removed"] + summary["lines"]["quarantined"] == 79


@pytest.mark.slow
def test_every_noise_dev_line_is_accounted_for(noise_dev_output):
    out = noise_dev_output
    checked = check_txt_accounting(NOISE_DEV, out)
    summary = json.loads((out / "summary.json").read_text())
    assert checked == summary["lines"]["read"] > 40_000
    lines = summary["lines"]
    assert lines["kept"] + lines["removed"] + lines["quarantined"] == lines["read"]


def test_jsonl_spans_index_the_text_field(tmp_path):
    texts = ["Première ligne, avec des accents.\r\nDeuxième ligne — tiret long.\n\n  Troisième\u00a0ligne.  ",
             "中文段落，没有空格。\n第二行。"]
    src = tmp_path / "in"
    src.mkdir()
    with gzip.open(src / "docs.jsonl.gz", "wt", encoding="utf-8") as f:
        for i, text in enumerate(texts):
            f.write(json.dumps({"id": f"doc-{i}", "text": text}, ensure_ascii=False) + "\n")
    out = tmp_path / "out"
    assert invoke("run", src, "-o", out, "-q", "--no-builtin-rules").exit_code == 0
    records = read_corpus(out)
    assert [r["id"] for r in records] == ["doc-0", "doc-1"]
    for rec, text in zip(records, texts, strict=True):
        assert rec["bytes_of"] == "text_field"
        encoded = text.encode("utf-8")
        raw_lines = [encoded[s:e].decode("utf-8") for s, e in (entry["bytes"] for entry in rec["lines"])]
        assert raw_lines == [line for line in re.split(r"\r\n|\n|\r", text) if line.strip()]
        assert {entry["line"] for entry in rec["lines"]} == {records.index(rec) + 1}
    # NBSP and the outer spaces are cleaned in the text, not in the provenance.
    assert records[0]["text"].endswith("Troisième ligne.")
