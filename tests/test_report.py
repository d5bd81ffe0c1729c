"""`curate report OUT`: one self-contained HTML page read back from a finished output
folder, driven through the real CLI on the seeds and on generated runs."""

from __future__ import annotations

import json
import random
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import FIXTURES, SEEDS, invoke, read_jsonl

pytest.importorskip("matplotlib", reason="curate report needs the report extra: pip install -e '.[report]'")

SECTIONS = ("overview", "reasons", "sources", "languages", "lengths", "clusters", "examples", "settings")
CHARTS = ("reasons", "sources", "languages", "lengths", "similarity", "cluster-sizes")


def _run(inputs: Path, out: Path, *options: str) -> Path:
    result = invoke("run", inputs, "-o", out, "--quiet", *options)
    assert result.exit_code == 0, result.output
    return out


def _report(out: Path, *options: str) -> str:
    result = invoke("report", out, *options)
    assert result.exit_code == 0, result.output
    target = Path(options[options.index("-o") + 1]) if "-o" in options else out / "report.html"
    return target.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seeds_out(tmp_path_factory) -> Path:
    return _run(SEEDS, tmp_path_factory.mktemp("seeds") / "out")


@pytest.fixture(scope="module")
def seeds_page(seeds_out) -> str:
    return _report(seeds_out)


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <style> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def _tags(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def test_every_section_and_chart_is_there(seeds_page):
    ids = {attrs.get("id") for _, attrs in _tags(seeds_page).tags}
    assert {*SECTIONS, *(f"chart-{c}" for c in CHARTS)} <= ids
    for chart in CHARTS:
        figure = re.search(rf'<figure class="chart" id="chart-{chart}">(.*?)</figure>', seeds_page, re.S)
        assert figure and "<svg" in figure.group(1) and "<path" in figure.group(1), chart


def test_the_numbers_are_summary_json_s(seeds_out, seeds_page):
    summary = json.loads((seeds_out / "summary.json").read_text())
    cards = dict((label, int(value.replace(",", ""))) for value, label in
                 re.findall(r'<div class="card" data-figure="[^"]*"><b>([\d,]+)</b>([^<]+)</div>', seeds_page))
    assert cards["documents read"] == summary["documents"]["read"]
    assert cards["documents written"] == summary["documents"]["written"]
    for key in ("read", "kept", "removed", "quarantined"):
        assert cards[f"lines {key}"] == summary["lines"][key]
    assert cards["problems"] == summary["problem_counts"]["total"]
    dups = [r for r in read_jsonl(seeds_out / "removed.jsonl") if r["stage"] == "dedup"]
    assert cards["duplicate clusters"] == len({json.dumps(r["duplicate_of"], sort_keys=True) for r in dups})
    # The reason table: lines counted from removed.jsonl, and summary.json's own count beside it
    # (read in its section: the by-source table has four columns too).
    reasons = seeds_page[seeds_page.index('<section id="reasons">'):seeds_page.index('<section id="sources">')]
    rows = re.findall(r'<tr><td>([^<]+)</td><td class="n">([\d,]+)</td><td class="n">([\d,]+)</td>'
                      r'<td class="n">([\d,]+)</td></tr>', reasons)
    assert {reason: int(lines) for reason, lines, _, _ in rows} == summary["removed_by_reason"]
    assert all(lines == theirs for _, lines, _, theirs in rows)
    removed = read_jsonl(seeds_out / "removed.jsonl")
    chars = {reason: int(c.replace(",", "")) for reason, _, c, _ in rows}
    assert chars == {reason: sum(len(r["removed"]) for r in removed if r["reason"] == reason) for reason in chars}
    # The settings, flattened: the dedup threshold the run used.
    threshold = summary["settings"]["dedup"]["threshold"]
    assert f"<td><code>dedup.threshold</code></td><td><code>{threshold}</code></td>" in seeds_page


def test_examples_and_the_cluster_show_removed_text(seeds_out, seeds_page):
    removed = read_jsonl(seeds_out / "removed.jsonl")
    for reason in {r["reason"] for r in removed}:
        assert f'<h3 class="mono">{reason} <span class="where">(' in seeds_page
    copy = next(r for r in removed if r["stage"] == "dedup")
    from html import escape

    assert escape(copy["removed"]) in seeds_page.split('id="clusters"')[1].split('id="examples"')[0]
    assert "showing 1 of 1 clusters" in seeds_page


def test_the_page_loads_nothing(seeds_page):
    parsed = _tags(seeds_page)
    for tag, attrs in parsed.tags:
        assert tag not in ("script", "link", "img", "iframe", "object", "embed", "base"), tag
        assert "src" not in attrs and "srcset" not in attrs, tag
        for name, value in attrs.items():
            if name in ("href", "xlink:href"):
                assert value and value.startswith("#"), (tag, name, value)
            assert not re.search(r"https?://|//", value or ""), (tag, name, value)
    assert not re.search(r"url\((?!#)|@import|https?://", "".join(parsed.styles))
    assert re.search(r'http-equiv="Content-Security-Policy" content="default-src \'none\'', seeds_page)
    assert "<script" not in seeds_page.lower()


def test_same_output_same_bytes_wherever_it_lies(seeds_out, seeds_page, tmp_path):
    copy = tmp_path / "elsewhere" / seeds_out.name
    shutil.copytree(seeds_out, copy)
    (copy / "report.html").unlink()  # seeds_page wrote it
    assert _report(copy) == seeds_page
    assert _report(seeds_out, "-o", str(tmp_path / "again.html")) == seeds_page


def test_refuses_to_overwrite_and_says_how(seeds_out, tmp_path):
    target = tmp_path / "r.html"
    target.write_text("mine")
    result = invoke("report", seeds_out, "-o", target)
    assert result.exit_code == 1
    assert result.output == (f"Error: {target}: exists already; use --overwrite to replace it, or -o FILE to write "
                             "elsewhere\n")
    assert target.read_text() == "mine"
    done = invoke("report", seeds_out, "-o", target, "--overwrite")
    assert done.exit_code == 0 and done.output.startswith(f"report written to {target} (0.")
    assert "1 duplicate cluster)" in done.output


def test_bad_output_folder_says_what_to_do(tmp_path):
    assert invoke("report", tmp_path / "nope").output == (
        f"Error: {tmp_path / 'nope'}: no such folder; give the output folder of a finished `curate run` (the "
        "folder given to -o, which holds summary.json)\n")
    assert invoke("report", "s3://bucket/clean/").output == (
        "Error: s3://bucket/clean/: a URL; curate report and curate clusters read a local output folder: copy it "
        "here first (aws s3 sync, gsutil rsync, ...)\n")
    (tmp_path / "summary.json").write_text("{not json")
    assert invoke("report", tmp_path).output.startswith(f"Error: {tmp_path / 'summary.json'}: unreadable (")


@pytest.mark.parametrize("command", ["report", "clusters"])
def test_a_damaged_output_folder_is_named_not_a_traceback(command, seeds_out, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(seeds_out, out)
    (out / "report.html").unlink(missing_ok=True)
    removed = (out / "removed.jsonl").read_bytes()
    (out / "removed.jsonl").write_bytes(removed + b'{"broken\n')
    lines = removed.count(b"\n")
    assert invoke(command, out).output.startswith(f"Error: {out / 'removed.jsonl'}:{lines + 1}: invalid JSON (")
    copy = b'{"stage": "dedup", "reason": "duplicate", "duplicate_of": {"doc": "x"}}\n'
    (out / "removed.jsonl").write_bytes(removed + copy)
    assert invoke(command, out).output == (
        f"Error: {out / 'removed.jsonl'}: the record at byte {len(removed)} is not one curate writes "
        "(KeyError('bytes')); the output folder is damaged, run `curate run` again\n")
    (out / "removed.jsonl").write_bytes(removed)
    with open(next((out / "corpus").iterdir()), "a", encoding="utf-8") as shard:
        shard.write('{"id": "no text"}\n')
    if command == "report":  # clusters reads the corpus only for kept texts, and stops when it has them all
        assert invoke(command, out).output.endswith(": record has no 'text' field; the output folder is damaged, "
                                                    "run `curate run` again\n")


@pytest.mark.parametrize("command", ["report", "clusters"])
def test_a_corpus_deleted_from_the_folder_is_named_damaged(command, seeds_out, tmp_path):
    """A report drew "5 documents before, 0 after" where summary.json says 5 were written."""
    out = Path(shutil.copytree(seeds_out, tmp_path / "out"))
    shutil.rmtree(out / "corpus")
    result = invoke(command, out, "-o", tmp_path / "x")
    assert result.exit_code == 1
    assert result.output == (f"Error: {out}: corpus/ holds no shard, but summary.json says the run wrote 5 "
                             "documents; the folder is damaged, run `curate run` again\n")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(("field", "value", "said"), [
    (("removed_by_reason",), [1], "removed_by_reason is an array, not an object"),
    (("inputs",), 5, "inputs is a number, not an array"),
    (("rules",), 5, "rules is a number, not an array"),
    (("problem_counts", "by_kind"), "x", "problem_counts.by_kind is a string, not an object"),
    (("documents",), [], "documents is an array, not an object"),
    (("documents", "written"), "5", "documents.written is a string, not a whole number"),
    (("lines",), None, None),  # null, or no field at all: an older or newer run's summary, read as far as it goes
])
def test_a_summary_field_of_the_wrong_type_is_named_not_a_traceback(field, value, said, seeds_out, tmp_path):
    out = Path(shutil.copytree(seeds_out, tmp_path / "out"))
    summary = json.loads((out / "summary.json").read_text())
    *parents, last = field
    holder = summary
    for key in parents:
        holder = holder[key]
    holder[last] = value
    (out / "summary.json").write_text(json.dumps(summary))
    result = invoke("report", out, "-o", tmp_path / "r.html")
    if said is None:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1
    assert result.output == (f"Error: {out / 'summary.json'}: {said} as curate writes it; the summary is damaged, "
                             "run `curate run` again\n")


def test_without_matplotlib_it_names_the_pip_command(seeds_out, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what `import matplotlib` meets when it is not installed
    result = invoke("report", seeds_out, "-o", tmp_path / "r.html")
    assert result.exit_code == 1
    assert result.output == ("Error: curate report draws its charts with matplotlib, which is not installed; "
                             "pip install 'curate-corpus[report]'\n")
    assert not (tmp_path / "r.html").exists()


def test_a_later_run_overwrites_the_folder_and_its_report(seeds_out, seeds_page, tmp_path):
    # seeds_page: the report is written into seeds_out (a worker may run this test first)
    out = tmp_path / "out"
    shutil.copytree(seeds_out, out)
    assert (out / "report.html").exists()
    _run(SEEDS, out, "--overwrite")  # report.html is curate's own: the folder is not refused as foreign
    assert not (out / "report.html").exists()  # and a report of the old run does not outlive it


def _many_clusters(folder: Path, clusters: int) -> Path:
    """Documents whose paragraphs are copied: cluster k has 1 + k % 3 copies."""
    words = [f"w{n}" for n in range(400)]
    paragraphs = [" ".join(random.Random(k).choices(words, k=14)) for k in range(clusters)]
    folder.mkdir(parents=True)
    with open(folder / "docs.jsonl", "w", encoding="utf-8") as f:
        for k, paragraph in enumerate(paragraphs):
            for copy in range(2 + k % 3):
                f.write(json.dumps({"id": f"d{k}-{copy}", "text": paragraph}) + "\n")
    return folder


def test_large_runs_are_sampled_and_say_so(tmp_path):
    out = _run(_many_clusters(tmp_path / "in", 80), tmp_path / "out", "--no-project-rules")
    page = _report(out)
    copies = sum(1 + k % 3 for k in range(80))
    assert f"showing 50 of 80 clusters ({copies:,} copies), largest first, and at most 3 copies of each" in page
    assert page.count('<h3 id="cluster-') == 50
    # Largest first: every cluster of 3 copies before any of 2.
    sizes = [int(n) for n in re.findall(r'<h3 id="cluster-\d+">Cluster \d+: (\d+) cop', page)]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] == 3
    assert "up to 5 lines per reason" in page and "(5 of " in page


def _folded(page: str, what: str) -> dict[str, tuple[int, ...]]:
    """The rows of a chart's folded table of figures: label -> its numbers."""
    table = re.search(rf"<summary>The figures, by {what}</summary><table>(.*?)</table>", page, re.S)
    assert table, f"no figures by {what}"
    rows = re.findall(r"<tr><td>([^<]*)</td>((?:<td class=\"n\">[\d,]+</td>)+)</tr>", table.group(1))
    return {label: tuple(int(v.replace(",", "")) for v in re.findall(r">([\d,]+)<", cells)) for label, cells in rows}


@pytest.mark.parametrize("case", ["seeds", "sites"])
def test_sources_sites_and_languages_add_up_to_summary_json(case, seeds_out, seeds_page, tmp_path):
    if case == "seeds":
        out, page = seeds_out, seeds_page
    else:  # six sites, with lines each site repeats: the site stage ran (--site url, the default)
        out = _run(FIXTURES / "sites" / "crawl", tmp_path / "out")
        page = _report(out)
    summary = json.loads((out / "summary.json").read_text())
    kept, removed = summary["lines"]["kept"], summary["lines"]["removed"]
    groups = ["source", "language"] + (["site"] if case == "sites" else [])
    assert ("<summary>The figures, by site</summary>" in page) == (case == "sites")
    for what in groups:
        rows = _folded(page, what)
        assert sum(r[0] for r in rows.values()) == kept, what
        assert sum(r[1] for r in rows.values()) == removed, what
    if case == "sites":
        sites = _folded(page, "site")
        assert len(sites) == 6 and all(label.endswith(".example") for label in sites)
        assert summary["removed_by_reason"]["site:repeated"] > 0
    sources = _folded(page, "source")
    by_source = {r["source"] for r in read_jsonl(out / "removed.jsonl")}
    assert by_source <= set(sources)


@pytest.mark.slow
def test_a_generated_run_gives_a_small_report_and_every_cluster(tmp_path):
    """bench/generate.py's corpus (copies and near copies, boilerplate, mojibake), 1.5 MB:
    the page stays small and sampled, and the clusters file holds every copy."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from generate import generate

    generate(1.5, tmp_path / "corpus", truth=False)
    out = _run(tmp_path / "corpus" / "corpus.jsonl", tmp_path / "out", "--no-project-rules")
    page = _report(out)
    assert len(page.encode("utf-8")) < 1_000_000
    found = re.search(r"showing 50 of ([\d,]+) clusters \(([\d,]+) copies\)", page)
    assert found, "a 1.5 MB generated run has more than 50 clusters"
    result = invoke("clusters", out)
    assert result.exit_code == 0, result.output
    clusters = read_jsonl(out / "clusters.jsonl")
    copies = [r for r in read_jsonl(out / "removed.jsonl") if r["stage"] == "dedup"]
    assert len(clusters) == int(found.group(1).replace(",", ""))
    assert sum(len(c["copies"]) for c in clusters) == len(copies) == int(found.group(2).replace(",", ""))
    assert all(c["kept"]["text"] for c in clusters)  # every kept paragraph found in the corpus


@pytest.mark.parametrize("text,kept", [("Leave a Comment\n", 0), ("A fine sentence about nothing much at all.\n", 1)])
def test_a_run_that_keeps_nothing_or_removes_nothing_still_has_its_page(text, kept, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(text)
    out = _run(tmp_path / "in", tmp_path / "out")
    assert json.loads((out / "summary.json").read_text())["lines"]["kept"] == kept
    page = _report(out)
    ids = {attrs.get("id") for _, attrs in _tags(page).tags}
    assert set(SECTIONS) <= ids
    assert "No paragraph was removed as a near-duplicate." in page


def test_dollar_signs_in_names_and_sites_are_text_not_formulas(tmp_path):
    """Chart labels are file names and sites: matplotlib read '$...$' in them as TeX, and
    one that did not parse stopped the report with a traceback."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "price_$5_and_$6.txt").write_text("The harbour authority said on Monday that the terminal would open.\n")
    (src / "cost $5 to $10.txt").write_text("The second page says the bridge will close for repairs in spring.\n")
    pages = [{"url": f"http://a$\\frac{{x}}$b.com/{i}", "text": f"Page {i} of the site says something new today.\n"
              "Our weekly print edition reaches forty thousand homes across the valley."} for i in range(3)]
    (src / "site.jsonl").write_text("".join(json.dumps(page) + "\n" for page in pages))
    page = _report(_run(src, tmp_path / "out"))
    assert "price_$5_and_$6.txt" in page and "cost $5 to $10.txt" in page  # as written, spaces and all
