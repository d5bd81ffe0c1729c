"""JSON input that other tools write and that JSON readers take without a word: a name
twice in one object, UTF-16 with a byte order mark, a document that is one object on one
line, records pretty-printed over several lines, an array with a trailing comma. Each is
read through the real CLI; nothing is lost without a word, and every message says what
to do."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import corpus_bytes, in_process, read_corpus, read_jsonl

# Texts of each file its own, so that no dedup removes one.
STORIES = {
    "L": ["The harbour authority said the new container terminal would open in the spring, two years late.",
          "Farmers in the valley reported that the late frost had damaged half of the apricot blossoms.",
          "The city library will extend its opening hours during the exam period, the council announced.",
          "A new study of river otters found them back in streams where they were absent for decades.",
          "The pipeline report lists a quoted"],
    "A": ["The regional rail operator plans to replace its oldest trains by the end of next year.",
          "Volunteers planted more than three thousand trees along the river banks over the weekend.",
          "A bakery on the main square won the national prize for its rye bread for the third time.",
          "The museum reopened its east wing after a renovation that took four years and cost millions.",
          "The county archive keeps a quoted"],
}


def _run(out: Path, *inputs: Path | str, extra: tuple[str, ...] = ()):
    result = in_process("run", *inputs, "-o", out, "--no-builtin-rules", "--no-project-rules", *extra)
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else None
    return result, summary


def _quarantine(out: Path) -> list[dict]:
    return read_jsonl(out / "quarantine.jsonl") if (out / "quarantine.jsonl").exists() else []


def test_a_repeated_name_is_said_and_a_repeated_text_field_quarantines_its_record(tmp_path):
    """{"text": A, "text": B}: every JSON reader keeps B, and A was nowhere, with --strict
    exiting 0. A repeated text field makes the record's text unknown: quarantined with its
    line. Any other repeated name keeps the last value (as JSON readers do) and says so in
    a problem of 0 lines whose preview is the dropped value, at any depth, in JSON lines
    and in an array, whatever the whitespace around the colon or the parser (NaN: json)."""
    def lines(tag: str) -> list[str]:
        first, second, third, fourth, fifth = STORIES[tag]
        return [
            f'{{"id": "{tag}a", "text": "FIRST {first}", "text": "SECOND {second}"}}',
            f'{{"id": "{tag}b", "text": "{third}", "score": 1, "score": 2, '
            f'"meta": {{"tags": [{{"x": [1], "x": "two"}}]}}}}',
            f'{{"id": "{tag}c", "text" : "{fourth}", "n": NaN, "url" :"u1", "url"\t: "u2"}}',
            f'{{"id": "{tag}d", "text": "{fifth} \\":\\" in it and no name twice.", "k": "\\":"}}',
        ]

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jsonl").write_text("\n".join(lines("L")) + "\n")
    (src / "b.json").write_text("[\n" + ",\n".join(lines("A")) + "\n]\n")
    out = tmp_path / "out"
    result, summary = _run(out, src, extra=("--strict",))
    assert result.returncode != 0  # --strict: a value dropped is a problem
    for source, unit, tag in (("a.jsonl", "line", "L"), ("b.json", "array element", "A")):
        records = {r["id"]: r for r in read_corpus(out) if r["source"] == source}
        assert sorted(records) == [f"{tag}b", f"{tag}c", f"{tag}d"]
        assert records[f"{tag}b"]["metadata"] == {"score": 2, "meta": {"tags": [{"x": "two"}]}}
        assert records[f"{tag}c"]["metadata"] == {"n": None, "url": "u2"}
        assert records[f"{tag}d"]["metadata"] == {"k": '":'}
        problems = [(q["line"], q["lines"], q["preview"], q["problem"]) for q in _quarantine(out)
                    if q["source"] == source]
        kept = "(the record keeps the last value, as JSON readers do)"
        assert problems[1:] == [
            (2, 0, "1", f"a field name is repeated in an object: ['score'] {kept}"),
            (2, 0, "[1]", f"a field name is repeated in an object: ['meta']['tags'][0]['x'] {kept}"),
            (3, 0, '"u1"', f"a field name is repeated in an object: ['url'] {kept}"),
        ]
        line, lines, preview, problem = problems[0]
        assert (line, lines) == (1, 1) and "FIRST" in preview
        assert problem == ("the text field is repeated: 'text' 2 times in this record, so which one is the text is "
                           "not known (a JSON reader keeps the last and drops the others without a word)")
        [action] = {q["action"] for q in _quarantine(out) if q["source"] == source and q["line"] == 1}
        assert action == (f"record skipped; keep one 'text' field in this {unit} (rename or delete the others) "
                          "and run again")
    assert summary["lines"]["quarantined"] == 2  # the two records of two texts; the dropped values hold 0 lines
    assert summary["problem_counts"]["by_kind"]["a field name is repeated in an object"] == 6
    # --text-field names the field that must not repeat; a repeated 'text' is then metadata.
    again = tmp_path / "again"
    _run(again, src / "a.jsonl", extra=("--text-field", "url"))
    assert read_corpus(again) == []
    assert [(q["line"], q["lines"], q["problem"].split(",")[0]) for q in _quarantine(again)] == [
        (1, 1, "record has no 'url' field"), (2, 1, "record has no 'url' field"),
        (3, 1, "the text field is repeated: 'url' 2 times in this record"), (4, 1, "record has no 'url' field")]

_WORDS = ["harbour", "river", "valley", "frost", "library", "otters", "trains", "bakery", "museum", "archive",
          "council", "farmers", "season", "bridge", "forest", "meadow", "village", "station", "market", "garden",
          "tower", "island", "canal", "orchard", "quarry", "lighthouse", "glacier", "summit", "harvest", "ferry",
          "tram", "cathedral", "vineyard", "mill", "pasture", "dune", "lagoon", "estuary", "plateau", "workshop"]


def _story(key: str) -> str:
    """A text of its own for each key, so that no dedup removes one."""
    import random

    rng = random.Random(key)
    return f"The {key} report: " + " ".join(rng.choice(_WORDS) for _ in range(24)) + "."


def _wide_records(encoding: str, count: int = 3, label: str = "") -> bytes:
    """JSON Lines as Windows PowerShell 5's `>` writes them: UTF-16 LE with a byte order
    mark and CRLF line ends (Python's "utf-16" codec writes the mark; -le/-be write none).
    The texts hold characters whose UTF-16 units hold a 0x0A byte (U+0A15, U+010A) and one
    beyond the BMP (a surrogate pair)."""
    mark = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff", "utf-32-le": b"\xff\xfe\x00\x00",
            "utf-32-be": b"\x00\x00\xfe\xff"}[encoding]
    label = label or encoding
    records = [json.dumps({"id": f"{label}-{i}", "text": f"{_story(f'{label}-{i}')} ਕ Ċ 😀"}, ensure_ascii=False)
               for i in range(count)]
    return mark + ("\r\n".join(records) + "\r\n").encode(encoding)


def test_utf16_and_utf32_json_lines_with_a_byte_order_mark_are_read_whole(tmp_path):
    """PowerShell 5's `>` writes UTF-16 LE with a mark: record 1 was quarantined ('utf-16-le'
    codec can't decode byte 0x0a), records 2 and 3 read (json guesses UTF-16 per line),
    and the last byte made a fourth 'line'. The file is read as UTF-8 as it streams, lines
    numbered as in the file, in every UTF-16 and UTF-32 order, compressed, as a .json
    array, and cut into worker ranges (it is read whole instead, the same bytes out)."""
    import gzip

    src = tmp_path / "in"
    src.mkdir()
    for encoding in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        (src / f"{encoding}.jsonl").write_bytes(_wide_records(encoding))
    (src / "zipped.jsonl.gz").write_bytes(gzip.compress(_wide_records("utf-16-le", label="gz")))
    array = json.dumps([{"id": f"arr-{i}", "text": f"{_story(f'arr-{i}')} ਕ"} for i in range(2)], indent=2,
                       ensure_ascii=False)
    (src / "array.json").write_bytes(array.encode("utf-16"))
    bom = json.dumps({"id": "bom", "text": _story("bom")}).encode()
    (src / "utf8-bom.jsonl").write_bytes(b"\xef\xbb\xbf" + bom + b"\n")
    out = tmp_path / "out"
    result, summary = _run(out, src, extra=("--strict",))
    assert result.returncode == 0, result.stdout + result.stderr
    assert _quarantine(out) == []
    records = {r["id"]: r for r in read_corpus(out)}
    for encoding in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        for i in range(3):
            record = records[f"{encoding}-{i}"]
            assert record["text"] == f"{_story(f'{encoding}-{i}')} ਕ Ċ 😀"
            assert (record["source"], [line["line"] for line in record["lines"]]) == (f"{encoding}.jsonl", [i + 1])
    assert [records[f"gz-{i}"]["source"] for i in range(3)] == ["zipped.jsonl.gz"] * 3
    assert [records[f"arr-{i}"]["lines"][0]["line"] for i in range(2)] == [1, 2]
    assert records["bom"]["text"] == _story("bom")
    assert summary["lines"]["read"] == summary["lines"]["kept"] == 4 * 3 + 3 + 2 + 1
    # Cut into ranges for workers, a UTF-16 file is read whole: the same bytes out.
    workers = tmp_path / "workers"
    _run(workers, src, extra=("--workers", "2", "--chunk-docs", "2"))
    assert (workers / "corpus").exists()
    assert corpus_bytes(workers) == corpus_bytes(out)


def test_bytes_that_are_not_utf16_after_the_mark_keep_the_records_before_them(tmp_path):
    """A lone surrogate in record 2, or an odd byte at the end: the records before it are
    kept, and the problem, at the line where reading stopped, names the encoding and how
    to convert the file, in the .txt and CSV readers' words."""
    good = _wide_records("utf-16-le", label="odd")
    other = _wide_records("utf-16-le", label="surrogate")
    second = other.index("\r\n".encode("utf-16-le")) + 4 + 40  # inside record 2's text
    broken = other[:second] + b"\x00\xd8" + other[second:]  # a lone high surrogate
    src = tmp_path / "in"
    src.mkdir()
    (src / "surrogate.jsonl").write_bytes(broken)
    (src / "odd.jsonl").write_bytes(good + b"\x00")
    out = tmp_path / "out"
    result, _ = _run(out, src)
    assert result.returncode == 0, result.stdout + result.stderr
    problems = {q["source"]: q for q in _quarantine(out)}
    assert (problems["surrogate.jsonl"]["line"], problems["surrogate.jsonl"]["lines"]) == (2, 1)
    assert problems["surrogate.jsonl"]["problem"].startswith("invalid UTF-16-LE (illegal UTF-16 surrogate at byte ")
    assert problems["surrogate.jsonl"]["action"] == ("records after line 1 are lost; convert the file to UTF-8 "
                                                    "(e.g. iconv -f utf-16-le -t utf-8)")
    assert problems["odd.jsonl"]["line"] == 4 and problems["odd.jsonl"]["problem"] == (
        f"invalid UTF-16-LE (truncated data at byte {len(good):,})")
    kept = sorted((r["source"], r["id"]) for r in read_corpus(out))
    assert kept == [("odd.jsonl", f"odd-{i}") for i in range(3)] + [("surrogate.jsonl", "surrogate-0")]


def test_a_json_document_on_one_line_and_pretty_printed_records_are_one_problem_each_with_the_way_out(tmp_path):
    """pandas' df.to_json("x.json") (orient 'columns') and json.dump({"data": [...]}) write
    one object on one line: its one 'record' had no text field, or an object for one, and
    the advice was --text-field, which cannot help. Records pretty-printed by `jq .` (no
    -c) or json.dump with indent made one 'invalid JSON' problem per physical line (9 for
    3 records). Each file is one problem, its lines counted, saying how to convert it; a
    .json file of one record on one line is still that record."""
    pd = pytest.importorskip("pandas")
    src = tmp_path / "in"
    src.mkdir()
    texts = [_story(f"doc-{i}") for i in range(3)]
    pd.DataFrame({"text": texts}).to_json(src / "pandas_default.json")
    (src / "wrapped.json").write_text(json.dumps({"data": [{"text": t} for t in texts]}))
    compact = "".join(json.dumps({"id": f"p{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    if shutil.which("jq"):  # jq . (no -c), as people run it to look at a file
        pretty = subprocess.run(["jq", "."], input=compact, capture_output=True, text=True, check=True).stdout
    else:  # what jq writes: two spaces of indent
        pretty = "".join(json.dumps(json.loads(line), indent=2) + "\n" for line in compact.splitlines())
    (src / "jq_pretty.jsonl").write_text(pretty)
    (src / "jq_pretty.json").write_text("\n" + "".join(json.dumps({"text": t}, indent=4) + "\n" for t in texts))
    (src / "one.json").write_text(json.dumps({"id": "one", "text": _story("one")}) + "\n\n")
    (src / "broken_first.jsonl").write_text('{"text": "cut off\n' + json.dumps({"text": _story("after")}) + "\n")
    out = tmp_path / "out"
    result, summary = _run(out, src)
    assert result.returncode == 0, result.stdout + result.stderr
    problems = {q["source"]: q for q in _quarantine(out)}
    for name in ("pandas_default.json", "wrapped.json"):
        problem = problems[name]
        assert (problem["line"], problem["lines"]) == (None, 1)
        assert problem["problem"] == ("a whole JSON document (one JSON object, on one line), not JSON lines or an "
                                      "array of records")
        assert "jq -c '.FIELD[]' FILE > FILE.jsonl" in problem["action"]
        assert "df.to_json(FILE, orient='records', lines=True)" in problem["action"]
    assert problems["jq_pretty.jsonl"]["problem"] == (
        "records pretty-printed over several lines (the first, an object, on lines 1 to 4), not JSON lines (one "
        "record per line)")
    assert problems["jq_pretty.jsonl"]["action"] == (
        "skipped; make it JSON lines with jq -c . FILE > FILE.jsonl (or json.dumps without indent), and run again")
    assert (problems["jq_pretty.jsonl"]["line"], problems["jq_pretty.jsonl"]["lines"]) == (None, 12)
    assert problems["jq_pretty.json"]["problem"].startswith("records pretty-printed over several lines (the first, "
                                                            "an object, on lines 2 to 4)")
    assert problems["jq_pretty.json"]["lines"] == 9
    assert [(q["line"], q["problem"].split(":")[0]) for q in _quarantine(out) if q["source"] == "broken_first.jsonl"] \
        == [(1, "invalid JSON")]
    assert sorted(r["id"] for r in read_corpus(out)) == ["broken_first.jsonl:2", "one"]
    assert len(_quarantine(out)) == 5
    lines = summary["lines"]
    assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"]
    assert lines["quarantined"] == 1 + 1 + 12 + 9 + 1
    # Cut into ranges for workers, a file whose first line is not JSON is read whole: the same problems.
    workers = tmp_path / "workers"
    _run(workers, src, extra=("--workers", "2"))
    assert (workers / "quarantine.jsonl").read_bytes() == (out / "quarantine.jsonl").read_bytes()
    assert corpus_bytes(workers) == corpus_bytes(out)


def test_a_trailing_comma_in_a_json_array_costs_nothing_and_is_said(tmp_path):
    """[{...}, {...},] (JavaScript's trailing comma): both elements were read, and a
    non-existent element 3 was quarantined as a lost line. A problem of 0 lines at the
    last element says so; a comma in the middle ([a,,b]) is still a bad element."""
    src = tmp_path / "in"
    src.mkdir()
    elements = [json.dumps({"id": f"e{i}", "text": _story(f"element-{i}")}) for i in range(2)]
    (src / "trailing.json").write_text("[\n  " + ",\n  ".join(elements) + ",\n]\n")
    out = tmp_path / "out"
    result, summary = _run(out, src, extra=("--strict",))
    assert result.returncode != 0  # --strict: said, though nothing is lost
    assert [r["id"] for r in read_corpus(out)] == ["e0", "e1"]
    assert [(q["line"], q["lines"], q["problem"], q["action"]) for q in _quarantine(out)] == [
        (2, 0, "a trailing comma after the last element (JavaScript allows one, JSON does not)",
         "nothing is lost: every element is read; remove the comma to make the file JSON")]
    assert summary["lines"]["quarantined"] == 0 and summary["lines"]["read"] == summary["lines"]["kept"] == 2
