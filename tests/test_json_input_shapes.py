"""JSON input that other tools write and that JSON readers take without a word: a name
twice in one object, UTF-16 with a byte order mark, a document that is one object on one
line, records pretty-printed over several lines, an array with a trailing comma. Each is
read through the real CLI; nothing is lost without a word, and every message says what
to do."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import in_process, read_corpus, read_jsonl

TEXTS = [f"Record {i} talks about the migration patterns of northern birds in spring number {i}." for i in range(4)]
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
