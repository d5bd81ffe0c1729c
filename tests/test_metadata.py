"""Every input field survives into the output: the record's own fields go to "metadata",
curate's fields stay apart."""

from __future__ import annotations

import json

from conftest import invoke, read_corpus

TEXT = "A paragraph of real content that is long enough to be kept by every stage of the run."


def _run(tmp_path, *records: str) -> list[dict]:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jsonl").write_text("".join(line + "\n" for line in records), encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("run", src, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    return read_corpus(out)


def test_every_other_field_is_kept_as_metadata(tmp_path):
    fields = {"url": "https://example.org/a", "date": "2024-05-01", "licence": "CC-BY-4.0",
              "warc": {"record_id": "<urn:uuid:1>", "offsets": [1, 2]}, "score": 0.5, "flag": None}
    (rec,) = _run(tmp_path, json.dumps({"id": "doc-1", "text": TEXT, **fields}))
    assert rec["id"] == "doc-1" and rec["text"] == TEXT
    assert rec["metadata"] == fields
    assert not set(fields) & (set(rec) - {"metadata"})  # curate's own fields stay apart


def test_a_record_without_other_fields_has_no_metadata_key(tmp_path):
    (rec,) = _run(tmp_path, json.dumps({"id": "x", "text": TEXT}))
    assert "metadata" not in rec


def test_an_id_that_cannot_be_the_documents_id_is_kept_in_metadata(tmp_path):
    (rec,) = _run(tmp_path, json.dumps({"id": ["a", 1], "text": TEXT}))
    assert rec["id"] == "a.jsonl:1" and rec["metadata"] == {"id": ["a", 1]}


def test_a_lone_surrogate_in_a_field_is_escaped_not_fatal(tmp_path):
    (rec,) = _run(tmp_path, '{"id": "s", "text": "' + TEXT + '", "title": "bad \\ud800 title"}')
    assert rec["metadata"] == {"title": "bad \\ud800 title"}
