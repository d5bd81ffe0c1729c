"""The Python API gives, record for record, what `curate run` writes for the same records in
a JSONL file: the site pass included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES, invoke, read_corpus, read_jsonl

import curate
from curate.stages.site import REASON

ARTICLES = [
    "The harbour authority said on Monday that the new container terminal would open in the spring, two years late.",
    "Farmers in the valley reported that the late frost had damaged nearly half of the apricot blossoms this year.",
    "The city library will extend its opening hours during the exam period, the council announced on Tuesday.",
    "A new study of river otters found that the animals had returned to streams where they were absent for decades.",
    "The regional rail operator plans to replace its oldest trains by the end of next year, a spokesperson said.",
    "Volunteers planted more than three thousand trees along the river banks over the weekend, the organisers said.",
]
PROMO = "Support our independent journalism with a monthly donation today, it keeps us going."


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
