"""The Python API gives what the command line writes, and the README's example runs."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT, SEEDS, invoke, output_files, read_corpus, read_jsonl

import curate

PAGE = ("Home » News » Harbour\n"
        "The harbour authority said on Monday that the new container terminal would open in the spring, two years "
        "later than planned, because the dredging took longer than expected.\n"
        "Share on Facebook\n"
        "The harbour authority said on Monday that the new container terminal would open in the spring, two years "
        "later than planned, because the dredging took longer than expected.\n")


def test_clean_text_keeps_the_content_and_says_why_each_line_went():
    cleaned = curate.clean_text(PAGE, id="page")
    assert cleaned.id == "page"
    assert cleaned.text.startswith("The harbour authority said on Monday") and "Share on" not in cleaned.text
    reasons = {r["removed"]: r["reason"] for r in cleaned.removed}
    assert reasons["Home » News » Harbour"].startswith("rule:")
    assert reasons["Share on Facebook"].startswith("rule:")
    assert [r["reason"] for r in cleaned.removed if r["stage"] == "dedup"] == ["duplicate"]
    assert cleaned.record is not None and cleaned.record["lines"][0]["line"] == 1


def test_process_gives_the_records_the_cli_writes(tmp_path):
    records = [{"id": path.stem, "text": path.read_text(encoding="utf-8"), "url": f"https://example.org/{k}"}
               for k, path in enumerate(sorted(SEEDS.glob("*.txt")))]
    src = tmp_path / "in"
    src.mkdir()
    (src / "records.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                       encoding="utf-8")
    out = tmp_path / "out"
    assert invoke("run", src, "-o", out, "-q", "--no-project-rules").exit_code == 0
    results = curate.process(records, source="records.jsonl", ruleset=curate.ruleset())
    assert [r.record for r in results if r.record] == read_corpus(out)
    assert [rec for r in results for rec in r.removed] == read_jsonl(out / "removed.jsonl")
    assert results[0].record is not None and results[0].record["metadata"] == {"url": "https://example.org/0"}


def test_document_rules_and_the_language_keep_list_from_the_api():
    records = [{"id": "en", "text": PAGE}, {"id": "short", "text": "Only a few words here, not an article."},
               {"id": "de", "text": "Der Hafen wird erst im Frühjahr eröffnet, zwei Jahre später als geplant, weil "
                                    "die Baggerarbeiten länger gedauert haben als erwartet."}]
    rules = curate.ruleset(enabled=["gopher-quality"], keep_languages=["en"])
    assert {"gopher-word-count", "keep-lang"} <= {r.name for r in rules.active}
    en, short, de = curate.process(records, ruleset=rules)
    assert en.text and not short.text and not de.text
    assert {r["reason"] for r in short.removed} == {"doc:gopher-word-count"}
    assert {r["reason"] for r in de.removed} == {"doc:keep-lang"}
    assert not curate.process(records[1:2], ruleset=curate.ruleset())[0].removed  # off by default


def test_a_record_without_text_is_a_problem_not_an_exception():
    [bad, good] = curate.process([{"id": "a", "body": "no text field"}, {"id": "b", "text": PAGE}])
    assert bad.record is None and bad.problems[0]["problem"] == "record has no 'text' field"
    assert good.text


def test_run_writes_the_folder_the_cli_writes(tmp_path):
    summary = curate.run([SEEDS], tmp_path / "api")
    assert invoke("run", SEEDS, "-o", tmp_path / "cli", "-q", "--no-project-rules").exit_code == 0
    assert output_files(tmp_path / "api") == output_files(tmp_path / "cli")
    assert summary.documents_read == 5


def test_the_readme_example_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"## Python API\n.*?```python\n(.*?)```", readme, re.S)
    assert match, "README has a ## Python API section with a python example"
    exec(compile(match.group(1), "README.md", "exec"), {"__name__": "readme_example"})


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError):
        curate.no_such_function  # noqa: B018
