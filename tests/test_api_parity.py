"""The Python API gives, record for record, what `curate run` writes for the same records in
a JSONL file: the site pass, records the reader takes that orjson cannot write, reused ids
and --max-doc-bytes. Its arguments are checked as the CLI checks its options, before
anything is read or written."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from conftest import FIXTURES, NEWS_SENTENCES, SEEDS, SITE_PROMO, invoke, read_corpus, read_jsonl

import curate
from curate.driver import RunConfig
from curate.errors import ApiTypeError, ApiValueError, UsageError
from curate.stages.dedup.signature import DedupConfig
from curate.stages.site import REASON

ARTICLES = NEWS_SENTENCES
PROMO = SITE_PROMO


def line_of(record: dict) -> bytes:
    """The JSON line the API documents for a record: compact UTF-8, a lone surrogate as its
    escape (json's writer; orjson refuses what these tests give)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace") + b"\n"


def cli_records(tmp_path: Path, lines: list[bytes], *options: str, name: str = "recs.jsonl") -> Path:
    """`curate run` over a file of these lines; its output folder."""
    src = tmp_path / "in"
    src.mkdir()
    (src / name).write_bytes(b"".join(lines))
    out = tmp_path / "out"
    result = invoke("run", src, "-o", out, "-q", "--no-project-rules", *options)
    assert result.exit_code == 0, result.output
    return out


def assert_same(results: list[curate.Cleaned], out: Path) -> None:
    """The API's records are the output folder's, in order."""
    assert [r.record for r in results if r.record] == read_corpus(out)
    assert [rec for r in results for rec in r.removed] == read_jsonl(out / "removed.jsonl")
    assert [p for r in results for p in r.problems] == read_jsonl(out / "quarantine.jsonl")


# -- the site pass ---------------------------------------------------------------------------


def test_the_api_removes_a_sites_promo_from_every_page_as_the_cli_does(tmp_path):
    records = [{"id": f"p{k}", "text": f"{PROMO}\n{text}", "url": f"https://gazette.example/{k}"}
               for k, text in enumerate(ARTICLES[:4])]
    records += [{"id": "other", "text": f"{PROMO}\n{ARTICLES[4]}", "url": "https://other.example/1"},
                {"id": "no-url", "text": f"{PROMO}\n{ARTICLES[5]}"}]
    out = cli_records(tmp_path, [line_of(r) for r in records])
    results = curate.process(records, source="recs.jsonl", ruleset=curate.ruleset())
    assert_same(results, out)
    site = [r["doc"] for c in results for r in c.removed if r["reason"] == REASON]
    assert site == ["p0", "p1", "p2", "p3"]  # the first page's too, which the census saw before the main pass
    assert PROMO in results[4].text and PROMO not in results[5].text  # another site's page; a copy


def test_the_api_gives_the_cli_records_of_a_crawl_of_six_sites(tmp_path):
    lines = [line for part in sorted((FIXTURES / "sites" / "crawl").iterdir())
             for line in part.read_bytes().splitlines(keepends=True)]
    out = cli_records(tmp_path, lines, name="crawl.jsonl")
    assert any(r["reason"] == REASON for r in read_jsonl(out / "removed.jsonl"))
    records = (json.loads(line) for line in lines)  # an iterable that can be read once, read by two workers
    results = curate.process(records, source="crawl.jsonl", ruleset=curate.ruleset(), workers=2)
    assert len(results) == len(lines)
    assert_same(results, out)


@pytest.mark.unit
def test_documents_given_in_memory_are_a_sequence_when_the_census_reads_them():
    from curate.stages.site import SiteBoilerplate
    from curate.stages.site_census import census_stage_of_items

    stage = SiteBoilerplate()
    with pytest.raises(TypeError, match="give a Sequence"):
        census_stage_of_items([stage], iter([]))
    assert census_stage_of_items([stage], []) is None  # no page has a site: no census
    assert census_stage_of_items([SiteBoilerplate(mode="off")], iter([])) is None


# -- records the reader takes ----------------------------------------------------------------


def _deep(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_records_orjson_cannot_write_are_read_as_the_reader_reads_their_line(tmp_path):
    records = [
        {"id": "big", "text": ARTICLES[0], "views": 2**70, "debt": -(2**70), "share": 0.25},
        {"id": "surrogate", "text": ARTICLES[1], "title": "bad \ud800 title", "tags": ["ok", "\udfff"]},
        {"id": "key", "text": ARTICLES[2], "bad\ud800key": 1},
        {"id": "id \ud800", "text": ARTICLES[3]},
        {"id": "pair", "text": ARTICLES[4], "emoji": "\ud83d\ude00"},  # two halves: one character when read
        {"id": "text", "text": "a lone \ud800 in the text itself"},
        {"id": "number key", "text": ARTICLES[5], 1: "one", "big": 2**70},
        {"id": "deep", "text": "nested far too deep", "x": _deep(300)},
        {"id": 7, "text": "The text of a record whose id is a number, which is kept as its id.", "n": 2**64},
    ]
    out = cli_records(tmp_path, [line_of(r) for r in records])
    results = curate.process(records, source="recs.jsonl", ruleset=curate.ruleset())
    assert len(results) == len(records)
    assert_same(results, out)
    assert results[0].record is not None and results[0].record["metadata"]["views"] == 2**70
    assert results[1].record is not None and results[1].record["metadata"]["title"] == "bad \\ud800 title"
    assert [p["problem"] for p in results[5].problems] == [
        "text contains lone surrogates (invalid \\ud800-\\udfff escapes)"]
    assert results[7].problems[0]["problem"].startswith("nested too deeply")
    assert not any(p["problem"].startswith("record cannot be written") for r in results for p in r.problems)


def test_nan_is_null_as_the_output_writes_it(tmp_path):
    records = [{"id": "a", "text": ARTICLES[0], "score": float("nan"), "hi": float("inf"), "big": 2**70},
               {"id": "b", "text": ARTICLES[1], "score": float("nan")}]
    # json writes NaN, which the reader reads, and the output writes as null.
    out = cli_records(tmp_path, [json.dumps(r).encode() + b"\n" for r in records])
    results = curate.process(records, source="recs.jsonl", ruleset=curate.ruleset())
    assert_same(results, out)
    assert results[0].record is not None and results[0].record["metadata"]["score"] is None


@pytest.mark.unit
def test_what_no_json_line_can_hold_is_a_problem_that_says_what_to_give():
    [bad, good] = curate.process([{"id": "a", "text": "Some words.", "tags": {"x"}},
                                  {"id": "b", "text": ARTICLES[0]}], ruleset=curate.ruleset(builtin=False))
    assert bad.record is None and bad.problems[0]["problem"].startswith("record cannot be written as JSON")
    assert "str, int, float, bool, None, lists, and dicts with str keys" in bad.problems[0]["action"]
    assert good.text == ARTICLES[0]


# -- ids and --max-doc-bytes -----------------------------------------------------------------


def test_a_reused_id_is_the_problem_the_cli_writes(tmp_path):
    records = [{"id": "dup", "text": ARTICLES[0]}, {"id": "dup", "text": ARTICLES[1]},
               {"id": "other", "text": ARTICLES[2]}, {"text": ARTICLES[3]}, {"id": "dup", "text": ARTICLES[4]},
               {"id": 5, "text": ARTICLES[5]}, {"id": "5", "text": "The fifth record's id again, now as a string."}]
    out = cli_records(tmp_path, [line_of(r) for r in records])
    results = curate.process(records, source="recs.jsonl", ruleset=curate.ruleset())
    assert_same(results, out)
    assert len(results) == len(records)  # each problem with the record that reuses the id
    assert [p["problem"] for p in results[1].problems] == ["duplicate id 'dup', first used at recs.jsonl:1"]
    assert results[1].text == ARTICLES[1]  # kept, as the CLI keeps it
    assert [p["problem"] for p in results[6].problems] == ["duplicate id '5', first used at recs.jsonl:6"]


def test_a_record_over_max_doc_bytes_is_skipped_as_the_cli_skips_it(tmp_path):
    limit = 400
    empty = len(line_of({"id": "a", "text": ""})) - 1

    def sized(name: str, size: int) -> dict:  # a record whose line is ``size`` bytes, its newline left out
        words = ("Line of the record text number " * 20)[:size - empty - 1]
        return {"id": name, "text": words + "\n" * (size - empty - len(words) - 1) + "x"}

    records = [sized("a", limit), sized("b", limit + 1), sized("c", 5 * limit), {"id": "d", "text": ARTICLES[0]}]
    assert [len(line_of(r)) - 1 for r in records[:2]] == [limit, limit + 1]
    out = cli_records(tmp_path, [line_of(r) for r in records], "--max-doc-bytes", str(limit))
    results = curate.process(records, source="recs.jsonl", ruleset=curate.ruleset(), max_doc_bytes=limit)
    assert_same(results, out)
    assert results[0].record is not None and results[3].record is not None
    assert [p["problem"] for p in results[1].problems] == [
        f"record of {limit + 2} bytes is larger than --max-doc-bytes ({limit} bytes)"]


def test_the_default_max_doc_bytes_is_the_clis(tmp_path):
    records = [{"id": "huge", "text": "x" * (64 << 20)}, {"id": "small", "text": ARTICLES[0]}]
    out = cli_records(tmp_path, [line_of(r) for r in records])
    results = curate.process(records, source="recs.jsonl", ruleset=curate.ruleset())
    assert_same(results, out)
    size = len(line_of(records[0]))
    assert [p["problem"] for p in results[0].problems] == [
        f"record of {size:,} bytes is larger than --max-doc-bytes (67,108,864 bytes)"]
    assert not results[0].removed and results[1].text == ARTICLES[0]


# -- arguments -------------------------------------------------------------------------------

RECORDS = [{"id": "a", "text": ARTICLES[0]}]


@pytest.mark.unit
@pytest.mark.parametrize(("call", "error", "said"), [
    (lambda out: curate.ruleset("my-rules"), ApiTypeError, "folders=['my-rules']"),
    (lambda out: curate.ruleset(disabled="byline"), ApiTypeError, "disabled=['byline']"),
    (lambda out: curate.ruleset(enabled="c4"), ApiTypeError, "enabled=['c4']"),
    (lambda out: curate.ruleset(keep_languages="en"), ApiTypeError, "keep_languages=['en']"),
    (lambda out: curate.ruleset(keep_languages=[""]), ApiValueError, "names no language code"),
    (lambda out: curate.ruleset(builtin="no"), ApiTypeError, "builtin must be True or False"),
    (lambda out: curate.clean_text(ARTICLES[0], ruleset="x"), ApiTypeError, "ruleset must be a RuleSet"),
    (lambda out: curate.clean_text(b"bytes"), ApiTypeError, "text must be a str"),
    (lambda out: curate.process({"id": "a", "text": ARTICLES[0]}), ApiTypeError, "give process([record])"),
    (lambda out: curate.process(ARTICLES[0]), ApiTypeError, "records must be an iterable of records"),
    (lambda out: curate.process(RECORDS, stages="dedup"), ApiTypeError, "stages=['dedup']"),
    (lambda out: curate.process(RECORDS, stages=["read", "nope"]), ApiValueError, "unknown stage 'nope'"),
    (lambda out: curate.process(RECORDS, dedup=0.9), ApiTypeError, "dedup must be a DedupConfig"),
    (lambda out: curate.process(RECORDS, dedup=DedupConfig(threshold=0.0)), ApiValueError, "dedup.threshold=0.0"),
    (lambda out: curate.process(RECORDS, workers="2"), ApiTypeError, "workers must be an int, not str '2'"),
    (lambda out: curate.process(RECORDS, workers=0), ApiValueError, "workers=0"),
    (lambda out: curate.process(RECORDS, workers=-1), ApiValueError, "workers=-1"),
    (lambda out: curate.process(RECORDS, max_doc_bytes=0), ApiValueError, "max_doc_bytes=0"),
    (lambda out: curate.process(RECORDS, text_field=None), ApiTypeError, "text_field must be a str"),
    (lambda out: curate.run("crawl", out), ApiTypeError, "inputs=['crawl']"),
    (lambda out: curate.run(SEEDS, out), ApiTypeError, "inputs must be a list"),
    (lambda out: curate.run([], out), ApiValueError, "inputs is empty"),
    (lambda out: curate.run([SEEDS], out, chunk_items=0), ApiValueError, "chunk_items=0"),
    (lambda out: curate.run([SEEDS], out, site="URL"), ApiValueError, "site='URL'"),
    (lambda out: curate.run([SEEDS], out, site="nope"), ApiValueError, "site='nope'"),
    (lambda out: curate.run([SEEDS], out, workers=0), ApiValueError, "workers=0"),
    (lambda out: curate.run([SEEDS], out, engine="spark"), ApiValueError, "engine='spark'"),
    (lambda out: curate.run([SEEDS], out, overwrite="yes"), ApiTypeError, "overwrite must be True or False"),
    (lambda out: curate.run([SEEDS], out, dedup_only=1), ApiTypeError, "dedup_only must be True or False"),
    (lambda out: curate.run([SEEDS], out, stages=("read",)), ApiTypeError, "unexpected setting 'stages'"),
    (lambda out: curate.run([SEEDS], out, chunk_docs=5), ApiTypeError, "unexpected setting 'chunk_docs'"),
    (lambda out: curate.run([SEEDS], out, sink="xml"), ApiValueError, "sink='xml'"),
    (lambda out: curate.run([SEEDS], out, memory=0), ApiValueError, "memory=0"),
    (lambda out: curate.run([SEEDS], out, staging=out.parent), ApiValueError, "leave staging out"),
    (lambda out: curate.run([SEEDS], out, against=out.parent / "nowhere"), ApiValueError, "does not exist"),
    (lambda out: curate.run([SEEDS], out, against=[SEEDS, FIXTURES]), ApiValueError,
     "2 indexes given (" + f"{SEEDS}, {FIXTURES}); a run takes one"),
    (lambda out: curate.run([SEEDS], out, against=b"seeds"), ApiTypeError, "against must be a path"),
    (lambda out: curate.run([SEEDS], "http://example.org/out"), ApiValueError, "cannot write there"),
])
def test_a_bad_argument_is_refused_before_anything_is_written(tmp_path, call, error, said):
    out = tmp_path / "out"
    with pytest.raises(error) as raised:
        call(out)
    assert said in str(raised.value)
    assert isinstance(raised.value, UsageError)
    assert not out.exists()


@pytest.mark.unit
def test_a_refused_run_leaves_the_folder_free_for_the_next(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ApiValueError):
        curate.run([SEEDS], out, chunk_items=0)
    assert curate.run([SEEDS], out, ruleset=curate.ruleset(builtin=False)).documents_read == 5


@pytest.mark.unit
@pytest.mark.parametrize(("settings", "option"), [
    ({"workers": 0}, ("--workers", "0")),
    ({"chunk_items": 0}, ("--chunk-docs", "0")),
    ({"site": "URL"}, ("--site", "URL")),
    ({"site_min_pages": 1}, ("--site-min-pages", "1")),
    ({"site_min_share": 1.5}, ("--site-min-share", "1.5")),
    ({"dedup": DedupConfig(threshold=float("nan"))}, ("--threshold", "nan")),
    ({"dedup": DedupConfig(num_perm=8)}, ("--num-perm", "8")),
    ({"dedup": DedupConfig(min_words=0)}, ("--min-words", "0")),
    ({"max_doc_lines": 0}, ("--max-doc-lines", "0")),
    ({"language_model": "cld3"}, ("--language-model", "cld3")),
    ({"input_format": "xml"}, ("--format", "xml")),
    ({"encoding": "nope"}, ("--encoding", "nope")),
    ({"engine": "spark"}, ("--engine", "spark")),
    ({"against": (SEEDS, FIXTURES)}, ("--against", str(SEEDS), "--against", str(FIXTURES))),
])
def test_the_api_refuses_what_the_cli_refuses_with_its_reason(tmp_path, settings, option):
    result = invoke("run", SEEDS, "-o", tmp_path / "cli", *option)
    assert result.exit_code == 2
    with pytest.raises(ApiValueError) as raised:
        curate.run([SEEDS], tmp_path / "api", **settings)
    reason = str(raised.value).split(": ", 1)[1].split(" (refused as")[0]
    assert reason.replace("'", "") in " ".join(result.output.replace("'", "").split())  # 'nan' (typed), nan
    assert not (tmp_path / "api").exists() and not (tmp_path / "cli").exists()


@pytest.mark.unit
def test_every_run_setting_is_checked_as_its_option():
    from curate.api import _OTHER_SETTINGS, _SETTINGS

    arguments = {"inputs", "output", "ruleset", "workers", "stages"}  # run's own, or set by dedup_only
    assert {f.name for f in dataclasses.fields(RunConfig)} == {*_SETTINGS, *_OTHER_SETTINGS, *arguments}


def test_a_setting_is_converted_as_the_cli_converts_it(tmp_path):
    curate.run([SEEDS], tmp_path / "api", site_min_share=1, dedup=DedupConfig(threshold=1))
    assert invoke("run", SEEDS, "-o", tmp_path / "cli", "-q", "--no-project-rules", "--site-min-share", "1",
                  "--threshold", "1").exit_code == 0
    assert (tmp_path / "api" / "summary.json").read_bytes().replace(b"/api", b"/cli") == \
        (tmp_path / "cli" / "summary.json").read_bytes()
