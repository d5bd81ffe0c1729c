"""Probe pages: pages that are not news articles (recipes, a forum thread, a product page,
documentation, a list article, an FAQ, a how-to), through the real CLI process, scored
against their gold snippets one page at a time. See tests/fixtures/probes/README.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, read_jsonl

from curate.gold import fold, output_texts

PROBES = FIXTURES / "probes"
PROBES_INPUT = PROBES / "input"
PROBES_GOLD = PROBES / "gold"
PAGES = sorted(p.stem for p in PROBES_GOLD.glob("*.json"))


@pytest.fixture(scope="module")
def probe_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], list[dict], list[dict]]:
    """One run of `python -m curate run` over every probe page (from the checkout, as
    test_seeds does): (kept text per page, folded as curate.gold does; removed.jsonl;
    the corpus records as written)."""
    out = tmp_path_factory.mktemp("probes") / "out"
    result = subprocess.run([sys.executable, "-m", "curate", "run", str(PROBES_INPUT.relative_to(ROOT)),
                             "-o", str(out), "-q"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # Scored on the corpus alone: the kept text, as `curate score` counts it.
    records = [record for part in sorted((out / "corpus").glob("*.jsonl")) for record in read_jsonl(part)]
    return output_texts(out), read_jsonl(out / "removed.jsonl"), records


def _page_line(page: str, snippet: str) -> int:
    """The 1-based line of the probe page that holds the snippet (gold snippets are unique)."""
    lines = (PROBES_INPUT / f"{page}.txt").read_text(encoding="utf-8").splitlines()
    return next((i for i, line in enumerate(lines, 1) if fold(snippet) in fold(line)), 0)


def _why_removed(removed: list[dict], page: str, snippet: str) -> str:
    """What removed.jsonl says of the page's removed lines that hold the snippet: the
    reason, and the line model's noise_score when it had a say."""
    hits = [r for r in removed
            if Path(str(r["source"])).stem == page and fold(snippet) in fold(str(r["removed"]))]
    if not hits:
        return "not in removed.jsonl"
    return "; ".join(f"{r['reason']}" + (f" (noise_score {r['noise_score']})" if "noise_score" in r else "")
                     for r in hits)


# Pages whose gold curate does not meet yet, and why (issue 16 is open on them). strict:
# a page that starts passing fails here until it leaves this list.
KNOWN_GAPS: dict[str, str] = {}


@pytest.mark.parametrize("page", [pytest.param(page, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[page]))
                                  if page in KNOWN_GAPS else page for page in PAGES])
def test_probe_page_meets_its_gold(page: str, probe_run: tuple[dict[str, str], list[dict], list[dict]]) -> None:
    texts, removed, _ = probe_run
    gold = json.loads((PROBES_GOLD / f"{page}.json").read_text(encoding="utf-8"))
    text = texts.get(page, "")
    failures = []
    # The same test as curate.gold.score_golds: keep n >= 1, drop n == 0, once n == 1.
    for snippet in gold.get("keep", []):
        if text.count(fold(snippet)) == 0:
            failures.append(f"{page}: keep lost (page line {_page_line(page, snippet)}): {snippet!r}"
                            f" <- {_why_removed(removed, page, snippet)}")
    for snippet in gold.get("drop", []):
        n = text.count(fold(snippet))
        if n:
            failures.append(f"{page}: drop kept x{n} (page line {_page_line(page, snippet)}): {snippet!r}")
    for snippet in gold.get("once", []):
        n = text.count(fold(snippet))
        if n != 1:
            failures.append(f"{page}: once x{n}: {snippet!r}")
    if failures:
        total = sum(len(gold.get(k, [])) for k in ("keep", "drop", "once"))
        pytest.fail(f"{len(failures)} of {total} snippets failed:\n" + "\n".join(failures), pytrace=False)


def test_a_tables_rows_keep_their_tabs_in_the_output(probe_run: tuple[dict[str, str], list[dict], list[dict]]) -> None:
    """The rules read a row's tabs as spaces; the text written out has them, so that its
    columns do not run together ("Am Mühlbach 6.1., 20.1. 13.1. 16.1.")."""
    [record] = [r for r in probe_run[2] if Path(r["source"]).stem == "calendar-de"]
    page = (PROBES_INPUT / "calendar-de.txt").read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if "\t" in line]
    assert len(rows) == 13
    assert [row for row in rows if row not in record["text"].split("\n")] == []


def test_a_markdown_pages_code_keeps_its_spacing_in_the_output(
        probe_run: tuple[dict[str, str], list[dict], list[dict]]) -> None:
    """Each fenced block of the Markdown page is in the output as written: indentation,
    the columns a command printed, the fences; and the links the rules read as text stay
    links."""
    [record] = [r for r in probe_run[2] if Path(r["source"]).stem == "docs-md-en"]
    page = (PROBES_INPUT / "docs-md-en.txt").read_text(encoding="utf-8")
    blocks = page.split("```")[1::2]
    assert len(blocks) == 3
    assert [block for block in blocks if f"```{block}```" not in record["text"]] == []
