"""`curate score OUT GOLD` through the CLI on real output folders: the kept text of every
--output-format scores alike, and as the reference scorer (../shared/tools/score_gold.py)
scores it; a folder that is not a finished run, and gold of the wrong shape, are errors
that say what to do (status 2: 1 says snippets missed), never a traceback or a 0/0."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, SEEDS_GOLD, invoke, output_files, run_process

FORMATS = ("jsonl", "jsonl.gz", "jsonl.zst", "parquet")
REFERENCE = ROOT.parent / "shared" / "tools" / "score_gold.py"
SHAPE = 'a gold file holds one object {"keep": [...], "drop": [...], "once": [...]}, each a list of strings'


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """The seeds' run in each output format."""
    base = tmp_path_factory.mktemp("score")
    outs = {}
    for fmt in FORMATS:
        outs[fmt] = base / fmt
        result = invoke("run", SEEDS, "-o", outs[fmt], "-q", "--output-format", fmt)
        assert result.exit_code == 0, result.output
    return outs


@pytest.fixture(scope="module")
def mixed_gold(tmp_path_factory) -> Path:
    """The seeds' gold with keep and drop swapped in two files: snippets that miss, so the
    figures compared are not all full marks."""
    gold = Path(shutil.copytree(SEEDS_GOLD, tmp_path_factory.mktemp("gold") / "gold"))
    for path in sorted(gold.glob("*.json"))[:2]:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["keep"], data["drop"] = data["drop"], data["keep"]
        path.write_text(json.dumps(data), encoding="utf-8")
    return gold


def _figures(output: str) -> dict[str, tuple[int, int]]:
    last = output.strip().splitlines()[-1]
    found = re.findall(r"(content kept|noise removed|once) (\d+)/(\d+)", last)
    assert len(found) == 3, output
    return {name: (int(ok), int(of)) for name, ok, of in found}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_output_format_scores_as_plain_jsonl(fmt, runs, mixed_gold):
    full = invoke("score", runs[fmt], SEEDS_GOLD)
    assert full.exit_code == 0, full.output
    assert _figures(full.output) == {"content kept": (32, 32), "noise removed": (29, 29), "once": (3, 3)}
    mixed = invoke("score", runs[fmt], mixed_gold)
    assert mixed.exit_code == 1
    assert _figures(mixed.output) == _figures(invoke("score", runs["jsonl"], mixed_gold).output)
    assert _figures(mixed.output)["content kept"][0] < _figures(mixed.output)["content kept"][1]


@pytest.mark.skipif(not REFERENCE.is_file(), reason="the reference scorer lives beside the checkout, in ../shared")
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_figures_are_the_reference_scorer_s(fmt, runs, mixed_gold):
    for gold in (SEEDS_GOLD, mixed_gold):
        reference = subprocess.run([sys.executable, str(REFERENCE), str(runs[fmt]), str(gold)],
                                   capture_output=True, text=True, check=False)
        assert "warning" not in reference.stderr, reference.stderr  # it read every shard
        ours = invoke("score", runs[fmt], gold, "--show", "1000")
        assert _figures(ours.output) == _figures(reference.stdout)
        assert ours.exit_code == reference.returncode


def _refused(out: Path, gold: Path) -> str:
    """The last line of a refused score, checked for status 2 and an untouched folder."""
    before = output_files(out) if (out / "summary.json").exists() else None
    result = invoke("score", out, gold)
    assert result.exit_code == 2, result.output
    assert "content kept" not in result.output
    if before is not None:
        assert output_files(out) == before
    return result.output.splitlines()[-1]


def test_a_folder_that_is_not_a_finished_run_is_refused(runs, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _refused(empty, SEEDS_GOLD) == (f"Error: {empty}: not a curate output folder (no summary.json); give the "
                                           "folder given to `curate run -o`")
    stopped = tmp_path / "stopped"
    (stopped / ".partial").mkdir(parents=True)
    assert _refused(stopped, SEEDS_GOLD).startswith(f"Error: {stopped}: the run writing this folder has not "
                                                    "finished (no summary.json yet)")


@pytest.mark.parametrize(("text", "problem"), [
    ("{oops", "invalid JSON at line 1 column 2 (Expecting property name enclosed in double quotes)"),
    ('["a"]', "an array, not a JSON object"),
    ('{"keep": "abc"}', "'keep' is a string, not a list of strings"),
    ('{"keep": ["a", 3]}', "'keep' item 2 is a number, not a string"),
    ('{"keep": ["a"], "dorp": ["b"]}', "unknown key 'dorp'"),
    ('{"drop": [" \\u200b "]}', "'drop' item 1 is empty (or only spaces and invisible characters)"),
    ("{}", "no keep, drop or once list"),
])
def test_bad_gold_is_named_with_the_shape_it_must_have(text, problem, runs, tmp_path):
    gold = Path(shutil.copytree(SEEDS_GOLD, tmp_path / "gold"))
    (gold / "x.json").write_text(text, encoding="utf-8")
    assert _refused(runs["jsonl"], gold) == f"Error: {gold / 'x.json'}: {problem}; {SHAPE}"


def test_a_gold_folder_without_gold_files_or_an_output_folder_as_gold_is_refused(runs, tmp_path):
    none = tmp_path / "none"
    none.mkdir()
    assert _refused(runs["jsonl"], none) == (
        f'Error: {none}: no gold files (NAME.json) in this folder; give the folder that holds them, each {{"keep": '
        '[...], "drop": [...], "once": [...]}, each a list of strings')
    assert _refused(runs["jsonl"], runs["jsonl"]).startswith(
        f"Error: {runs['jsonl']}: a curate output folder, not a gold folder; the order is `curate score OUT GOLD`")


def test_a_damaged_shard_is_named_not_a_traceback(runs, tmp_path):
    out = Path(shutil.copytree(runs["jsonl"], tmp_path / "out"))
    shard = next((out / "corpus").iterdir())
    with open(shard, "a", encoding="utf-8") as f:
        f.write("{not json\n")
    result = run_process("score", out, SEEDS_GOLD)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "the output folder is damaged, run `curate run` again" in result.stderr.splitlines()[-1]
    assert str(shard) in result.stderr


def test_shards_missing_from_the_corpus_are_named_damaged(tmp_path):
    """Deleted shards scored as text removed ("content kept 0/32", status 1): status 2,
    as --help promises for an OUT that cannot be scored."""
    out = tmp_path / "out"
    result = invoke("run", SEEDS, "-o", out, "-q", "--chunk-docs", "2")
    assert result.exit_code == 0, result.output
    shards = sorted((out / "corpus").iterdir())
    assert len(shards) == 3
    shards[1].unlink()
    assert _refused(out, SEEDS_GOLD) == (f"Error: {out}: corpus/ holds 3 documents, but summary.json says the run "
                                         "wrote 5; the folder is damaged (a shard missing or cut short), run "
                                         "`curate run` again")
    for shard in shards[::2]:
        shard.unlink()
    assert _refused(out, SEEDS_GOLD) == (f"Error: {out}: corpus/ holds no shard, but summary.json says the run "
                                         "wrote 5 documents; the folder is damaged, run `curate run` again")


def _pages(folder: Path, pages: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, text in pages.items():
        if name.endswith(".jsonl.gz"):
            with gzip.open(folder / name, "wt", encoding="utf-8") as f:
                f.write(json.dumps({"text": text}) + "\n")
        else:
            (folder / name).write_text(text + "\n", encoding="utf-8")
    return folder


HARBOUR = "Another article about the harbour and the ferries that came back early this year, before the spring fair."
BAKERY = "The bakery on the corner of the market square reopened after two years with a queue down the whole street."


def test_a_dotted_page_name_is_scored_by_its_whole_name(tmp_path):
    """NAME.json scores input NAME: page.v2.txt is page.v2, not page (the name was cut at
    its first dot, so page.v2.json matched nothing, and page.v1 and page.v2 were one page)."""
    inputs = _pages(tmp_path / "in", {"page.v1.txt": BAKERY, "page.v2.txt": HARBOUR, "crawl.v2.jsonl.gz": BAKERY})
    gold = tmp_path / "gold"
    gold.mkdir()
    (gold / "page.v2.json").write_text(json.dumps({"keep": ["harbour and the ferries"], "drop": ["bakery"]}))
    (gold / "crawl.v2.json").write_text(json.dumps({"once": ["market square reopened"]}))
    assert invoke("run", inputs, "-o", tmp_path / "out", "-q").exit_code == 0
    result = invoke("score", tmp_path / "out", gold)
    assert result.exit_code == 0, result.output
    assert _figures(result.output) == {"content kept": (1, 1), "noise removed": (1, 1), "once": (1, 1)}
    assert "warning" not in result.output


def test_gold_pages_the_run_has_no_input_of_are_counted(runs, tmp_path):
    """Every drop snippet of a page not in the run holds: said, with the figures as before."""
    gold = Path(shutil.copytree(SEEDS_GOLD, tmp_path / "gold"))
    (gold / "elsewhere.json").write_text(json.dumps({"keep": ["a line of another crawl"], "drop": ["menu"]}))
    (gold / "also-elsewhere.json").write_text(json.dumps({"drop": ["footer"]}))
    result = invoke("score", runs["jsonl"], gold, "--show", "0")
    assert result.exit_code == 1
    assert (f"warning: 2 of 7 gold pages name no input of {runs['jsonl']} (no line of it kept or removed: "
            "also-elsewhere, elsewhere); their keep and once snippets count as missed, their drop snippets as "
            "removed") in result.output.splitlines()
    assert _figures(result.output) == {"content kept": (32, 33), "noise removed": (31, 31), "once": (3, 3)}


def test_a_page_whose_every_line_was_removed_is_an_input_all_the_same(tmp_path):
    inputs = _pages(tmp_path / "in", {"story.txt": HARBOUR, "gone.txt": "(Finish)"})
    gold = tmp_path / "gold"
    gold.mkdir()
    (gold / "gone.json").write_text(json.dumps({"drop": ["(Finish)"]}))
    assert invoke("run", inputs, "-o", tmp_path / "out", "-q").exit_code == 0
    result = invoke("score", tmp_path / "out", gold)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output


def test_gold_of_other_inputs_is_refused(runs, tmp_path):
    """The noise-dev gold against the seeds' run scored "noise removed 663/663" (status 1)."""
    gold = tmp_path / "gold"
    gold.mkdir()
    (gold / "other.json").write_text(json.dumps({"keep": ["a line"], "drop": ["menu"]}))
    (gold / "more.json").write_text(json.dumps({"drop": ["footer"]}))
    assert _refused(runs["jsonl"], gold) == (
        f"Error: {gold}: none of its 2 gold pages names an input of {runs['jsonl']} (no line of it kept or removed; "
        "more.json scores the input more.txt, more.jsonl, ...); give the gold of this run's inputs")
