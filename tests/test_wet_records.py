"""WET files whose records are not all readable conversion records, through the real CLI:
a WARC of responses read as WET, a WET file mixing in other record types, and records
FastWARC cannot parse (headers too long, damaged headers). Files are built as Common
Crawl writes them: one gzip member per record, and uncompressed."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import invoke, read_corpus, read_jsonl


def _record(kind: str, uri: str, payload: bytes, number: int) -> bytes:
    headers = (f"WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Target-URI: {uri}\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
               f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{number:012d}>\r\n"
               f"Content-Type: text/plain\r\nContent-Length: {len(payload)}\r\n\r\n")
    return headers.encode() + payload + b"\r\n\r\n"


def _text(number: int) -> bytes:
    return f"Record {number} opens with a plain sentence.\nIts second line, of record {number}, is plain.\n".encode()


def _write(path: Path, records: list[bytes]) -> Path:
    gz = path.name.endswith(".gz")
    path.write_bytes(b"".join(gzip.compress(r) if gz else r for r in records))
    return path


def _run(path: Path, out: Path, *extra: str):
    result = invoke("run", path, "-o", out, "--no-builtin-rules", *extra)
    summary = json.loads((out / "summary.json").read_text())
    lines = summary["lines"]
    assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"]
    return result, summary, read_jsonl(out / "quarantine.jsonl")


def _warc(number: int) -> bytes:
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>a page</p>"
    return _record("response", f"https://ex.com/{number}", http, number)


@pytest.mark.parametrize("name", ["full.warc.gz", "full.warc.wet.gz", "full.warc.wet"])
def test_a_warc_file_of_responses_read_as_wet_is_a_problem_and_fails_strict(tmp_path, name):
    path = _write(tmp_path / name, [_record("warcinfo", "", b"software: x\r\n", 1)] + [_warc(n) for n in (2, 3, 4)])
    result, summary, problems = _run(path, tmp_path / "out", "--format", "wet", "--strict")
    assert result.exit_code != 0
    assert [(p["source"], p["line"], p["problem"]) for p in problems] == [
        (name, None, "no conversion records (3 response records, 1 warcinfo record): a WARC file, not a WET file?")]
    assert "extract the text first" in problems[0]["action"]
    assert f"{name}: no conversion records" in result.output
    assert summary["lines"]["read"] == 0


@pytest.mark.parametrize("name", ["mixed.warc.wet.gz", "mixed.warc.wet"])
def test_a_wet_file_with_other_record_types_reads_its_conversions_and_counts_the_rest(tmp_path, name):
    records = [_record("warcinfo", "", b"software: x\r\n", 1), _record("conversion", "https://ex.com/2", _text(2), 2),
               _warc(3), _record("metadata", "https://ex.com/3", b"fetchTimeMs: 5\r\n", 4),
               _record("conversion", "https://ex.com/5", _text(5), 5)]
    _, summary, problems = _run(_write(tmp_path / name, records), tmp_path / "out")
    assert [doc["lines"][0]["line"] for doc in read_corpus(tmp_path / "out")] == [2, 5]
    assert [(p["line"], p["problem"], p["lines"]) for p in problems] == [
        (None, "1 metadata record, 1 response record not read: curate reads only conversion records", 0)]
    assert summary["lines"]["read"] == 4 and summary["lines"]["kept"] == 4


def test_a_common_crawl_wet_file_has_no_problem(tmp_path):
    records = [_record("warcinfo", "", b"software: x\r\n", 1), _record("conversion", "https://ex.com/2", _text(2), 2)]
    result, summary, problems = _run(_write(tmp_path / "cc.warc.wet.gz", records), tmp_path / "out", "--strict")
    assert result.exit_code == 0 and problems == [] and summary["lines"]["kept"] == 2


def _uri_records(long_uri: str) -> list[bytes]:
    return [_record("conversion", long_uri if n == 3 else f"https://ex.com/{n}", _text(n), n) for n in (1, 2, 3, 4)]


@pytest.mark.parametrize("name", ["uri.warc.wet.gz", "uri.warc.wet"])
def test_a_record_with_a_33000_character_uri_is_read_like_the_others(tmp_path, name):
    uri = "http://ex.com/?q=" + "a" * 33_000  # past FastWARC's default 32 KiB of headers
    _, summary, problems = _run(_write(tmp_path / name, _uri_records(uri)), tmp_path / "out")
    docs = read_corpus(tmp_path / "out")
    assert [d["lines"][0]["line"] for d in docs] == [1, 2, 3, 4] and docs[2]["metadata"]["url"] == uri
    assert problems == [] and summary["lines"]["read"] == 8


@pytest.mark.parametrize("name", ["damaged.warc.wet.gz", "damaged.warc.wet"])
def test_a_record_fastwarc_cannot_parse_costs_that_record_and_the_rest_are_read(tmp_path, name):
    records = _uri_records("http://ex.com/?q=" + "a" * 1_100_000)  # record 3: headers past 1 MiB
    records.insert(1, b"XARC/1.0\r\nnot a header\r\n\r\n")  # record 2: not a WARC record at all
    result, summary, problems = _run(_write(tmp_path / name, records), tmp_path / "out")
    docs = read_corpus(tmp_path / "out")
    assert [(d["lines"][0]["line"], d["metadata"]["url"]) for d in docs] == [
        (1, "https://ex.com/1"), (3, "https://ex.com/2"), (5, "https://ex.com/4")]
    assert [d["text"].split(" opens")[0] for d in docs] == ["Record 1", "Record 2", "Record 4"]
    assert [(p["line"], p["problem"]) for p in problems] == [
        (2, "invalid WARC record: Invalid WARC header"),
        (4, "invalid WARC record: headers longer than 1,048,576 bytes (Maximum header length exceeded.)")]
    assert all(p["action"].startswith("record skipped; read on from the next record start") for p in problems)
    assert f"{name}:4: invalid WARC record" in result.output
    assert summary["lines"] == {**summary["lines"], "read": 8, "kept": 6, "quarantined": 2}


def test_a_bad_last_record_is_skipped_and_says_nothing_follows(tmp_path):
    records = [_record("conversion", "https://ex.com/1", _text(1), 1), b"XARC/1.0\r\n\r\n"]
    _, summary, problems = _run(_write(tmp_path / "end.warc.wet", records), tmp_path / "out")
    assert [(p["line"], p["action"].split(";")[1].strip()) for p in problems] == [
        (2, "no record start (a WARC/1. line) follows it")]
    assert summary["lines"]["kept"] == 2


def _lf(record: bytes) -> bytes:
    """A record whose WARC headers end in LF, not CRLF (a hand-rolled writer's), its payload as it was."""
    head, _, rest = record.partition(b"\r\n\r\n")
    return head.replace(b"\r\n", b"\n") + b"\n\n" + rest


@pytest.mark.parametrize("name", ["lf.warc.wet.gz", "lf.warc.wet"])
def test_a_wet_file_whose_headers_end_in_lf_is_read_record_by_record(tmp_path, name):
    # warcio reads such a file record by record; FastWARC read it as one record whose headers
    # never ended: 'WARC record cut off inside its headers (no Content-Length)', 'the file is
    # truncated: re-download it', one line counted for all its documents.
    from warcio.archiveiterator import ArchiveIterator

    crlf_payload = b"Record 3 has CRLF line ends inside its payload.\r\nIts second line, of record 3, is plain.\r\n"
    records = [_lf(_record("warcinfo", "", b"software: x\r\n", 1)), _lf(_record("conversion", "https://ex.com/2",
                                                                                 _text(2), 2)),
               _lf(_record("conversion", "https://ex.com/3", crlf_payload, 3)),
               _lf(_record("conversion", "https://ex.com/4", _text(4), 4))]
    path = _write(tmp_path / name, records)
    with open(path, "rb") as f:
        assert [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(f)][1:] == [
            "https://ex.com/2", "https://ex.com/3", "https://ex.com/4"]
    result, summary, problems = _run(path, tmp_path / "out", "--strict")
    assert result.exit_code == 0 and problems == []
    docs = read_corpus(tmp_path / "out")
    assert [(d["id"], d["lines"][0]["line"], d["metadata"]["url"]) for d in docs] == [
        (f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>", n, f"https://ex.com/{n}") for n in (2, 3, 4)]
    assert docs[1]["text"] == crlf_payload.decode().replace("\r\n", "\n").strip()
    assert [line["bytes"] for line in docs[1]["lines"]] == [[0, 47], [49, 88]]  # the payload's UTF-8, CRs counted
    assert summary["lines"]["read"] == summary["lines"]["kept"] == 6


@pytest.mark.parametrize("name", ["lfbad.warc.wet.gz", "lfbad.warc.wet"])
def test_bytes_between_lf_records_that_no_record_holds_are_said_and_counted(tmp_path, name):
    # FastWARC reads LF headers leniently, and leniently skips lines before a WARC/1. line
    # too: bytes that would have gone unsaid.
    records = [_lf(_record("conversion", f"https://ex.com/{n}", _text(n), n)) for n in (1, 2, 3)]
    records.insert(1, b"XARC/1.0\nnot a header\n\n")
    records.append(b"trailing bytes\n")
    _, summary, problems = _run(_write(tmp_path / name, records), tmp_path / "out")
    docs = read_corpus(tmp_path / "out")
    assert [(d["lines"][0]["line"], d["metadata"]["url"]) for d in docs] == [
        (1, "https://ex.com/1"), (3, "https://ex.com/2"), (4, "https://ex.com/3")]
    assert [(p["line"], p["problem"], p["action"].split(";")[1].strip()) for p in problems] == [
        (2, "invalid WARC record: 23 bytes that no WARC/1. line starts", "read on from the next record start after it"),
        (5, "invalid WARC record: 15 bytes that no WARC/1. line starts", "no record start (a WARC/1. line) follows it")]
    assert summary["lines"] == {**summary["lines"], "read": 8, "kept": 6, "quarantined": 2}


def test_a_record_whose_headers_end_in_lf_after_crlf_records_says_so(tmp_path):
    # Read strictly (the first record's headers end in CRLF), its headers are one line: it
    # was 'cut off inside its headers (no Content-Length)', 'the file is truncated'.
    records = [_record("conversion", f"https://ex.com/{n}", _text(n), n) for n in (1, 2, 3)]
    records[1] = _lf(records[1])
    _, summary, problems = _run(_write(tmp_path / "mixed.warc.wet", records), tmp_path / "out")
    assert [d["lines"][0]["line"] for d in read_corpus(tmp_path / "out")] == [1, 3]
    assert [(p["line"], p["problem"], p["action"]) for p in problems] == [
        (2, "WARC headers that end in LF, not CRLF, after a record whose headers end in CRLF: no Content-Length "
            "can be read", "record skipped; the file mixes LF and CRLF header lines: rewrite it with CRLF (the WARC "
                           "standard's), or check how it was made")]
    assert summary["lines"] == {**summary["lines"], "read": 5, "kept": 4, "quarantined": 1}
