"""Score an output folder against gold snippets (`curate score`).

A gold folder holds NAME.json files of {"keep": [...], "drop": [...], "once": [...]}:
keep snippets must appear in the output of input NAME (its file name less the suffix its
format is read by: NAME.txt, NAME.jsonl.gz, ...; page.v2.txt is page.v2), drop snippets
must not appear, once snippets must appear exactly once. The kept text of a finished
output folder counts (its corpus shards, in any --output-format, read as `curate report`
reads them), grouped by the page name of each record's `source`;
text is compared after NFKC, case folding, straight quotes, removal of invisible
characters and collapsed whitespace. These are the conventions of the gold sets in
tests/fixtures (and of the score_gold.py tool they came with).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from curate.discover import is_curate_output
from curate.errors import UsageError
from curate.formats import claimed_suffix
from curate.formats.jsonl import json_kind
from curate.report.folder import OutputFolder

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"'})
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
KINDS = ("keep", "drop", "once")
GOLD_SHAPE = '{"keep": [...], "drop": [...], "once": [...]}, each a list of strings'

Gold = dict[str, list[str]]  # kind -> snippets, every kind present


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text).translate(_QUOTES).casefold()
    return re.sub(r"\s+", " ", text).strip()


def page_name(source: str) -> str:
    """The name gold calls an input by: its file name less the suffix its reader claims
    (``page.v2.txt`` is ``page.v2``, ``crawl.jsonl.gz`` is ``crawl``); a name no reader
    claims (read with --format) stays whole."""
    name = PurePosixPath(source).name
    return name[: len(name) - len(claimed_suffix(name))] or name


def output_texts(out_dir: Path) -> dict[str, str]:
    """The kept text of a finished output folder, folded and joined per page name.
    OutputFolder refuses what is not a finished run (no summary.json, a run writing it)
    and reads each shard with the format registry's reader, so a compressed or Parquet
    corpus scores as its JSON Lines twin; nothing else in the folder is read."""
    return _texts(OutputFolder(out_dir))


def _texts(folder: OutputFolder) -> dict[str, str]:
    docs: dict[str, list[str]] = {}
    for doc in folder.corpus():
        docs.setdefault(page_name(doc.source), []).append(fold(doc.text))
    return {k: "\n".join(v) for k, v in docs.items()}


@dataclass(frozen=True)
class Scored:
    totals: dict[str, list[int]]  # kind -> [satisfied, total]
    failures: list[str]
    absent: list[str]  # gold pages that name no input of the run (no kept or removed line)
    pages: int  # gold pages in all


def score(out_dir: Path, gold_dir: Path) -> tuple[dict[str, list[int]], list[str]]:
    """({kind: [satisfied, total]}, failures) for keep, drop and once snippets."""
    scored = score_folder(out_dir, gold_dir)
    return scored.totals, scored.failures


def score_folder(out_dir: Path, gold_dir: Path) -> Scored:
    """The scores, and the gold pages the run has no input of: their keep snippets miss
    and every drop snippet holds, so a GOLD of other inputs scored "noise removed 663/663"
    without a word. None of them found is an error. The gold is read first: a wrong GOLD
    argument is named before a large corpus is read."""
    golds = load_gold(gold_dir)
    folder = OutputFolder(out_dir)
    docs = _texts(folder)
    totals, failures = score_golds(docs, golds)
    absent = [name for name in golds if name not in docs]
    if absent:  # a page whose every line was removed has no kept text, and is an input all the same
        removed = {page_name(source) for item in folder.removed()
                   if isinstance(source := item.record.get("source"), str)}
        absent = [name for name in absent if name not in removed]
    if absent and len(absent) == len(golds):
        raise UsageError(f"{gold_dir}: none of its {len(golds)} gold page{'' if len(golds) == 1 else 's'} names an "
                         f"input of {out_dir} (no line of it kept or removed; {absent[0]}.json scores the input "
                         f"{absent[0]}.txt, {absent[0]}.jsonl, ...); give the gold of this run's inputs")
    return Scored(totals, failures, absent, len(golds))


def score_golds(docs: dict[str, str], golds: dict[str, Gold]) -> tuple[dict[str, list[int]], list[str]]:
    totals = {kind: [0, 0] for kind in KINDS}
    failures = []
    for name, gold in golds.items():
        text = docs.get(name, "")
        for kind in KINDS:
            for snippet in gold[kind]:
                n = text.count(fold(snippet))
                ok = {"keep": n >= 1, "drop": n == 0, "once": n == 1}[kind]
                totals[kind][0] += ok
                totals[kind][1] += 1
                if not ok:
                    failures.append(f"{name}: {kind} x{n}: {snippet[:80]}")
    return totals, failures


def load_gold(gold_dir: Path) -> dict[str, Gold]:
    """Every NAME.json of the gold folder, by NAME in name order, checked: a file of the
    wrong shape is an error naming it, never a silent 0 (a string iterated as snippets
    counted each of its characters; a folder of no gold files scored 0/0 and passed)."""
    if is_curate_output(gold_dir):
        raise UsageError(f"{gold_dir}: a curate output folder, not a gold folder; the order is "
                         "`curate score OUT GOLD`, GOLD holding NAME.json files of " + GOLD_SHAPE)
    paths = sorted(gold_dir.glob("*.json"))
    if not paths:
        raise UsageError(f"{gold_dir}: no gold files (NAME.json) in this folder; give the folder that holds them, "
                         f"each {GOLD_SHAPE}")
    return {path.stem: _gold_file(path) for path in paths}


def _gold_file(path: Path) -> Gold:
    try:
        gold = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise _bad(path, f"invalid JSON at line {err.lineno} column {err.colno} ({err.msg})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise _bad(path, f"unreadable ({getattr(err, 'strerror', None) or err})") from None
    if not isinstance(gold, dict):
        raise _bad(path, f"{json_kind(gold)}, not a JSON object")
    unknown = sorted(set(gold) - set(KINDS))
    if unknown or not gold:
        raise _bad(path, f"unknown key {unknown[0]!r}" if unknown else "no keep, drop or once list")
    return {kind: _snippets(path, kind, gold.get(kind, [])) for kind in KINDS}


def _snippets(path: Path, kind: str, value: object) -> list[str]:
    if not isinstance(value, list):
        raise _bad(path, f"{kind!r} is {json_kind(value)}, not a list of strings")
    for n, snippet in enumerate(value, 1):
        if not isinstance(snippet, str):
            raise _bad(path, f"{kind!r} item {n} is {json_kind(snippet)}, not a string")
        if not fold(snippet):  # "" is in every text: a keep that always holds, a drop that never does
            raise _bad(path, f"{kind!r} item {n} is empty (or only spaces and invisible characters)")
    return value


def _bad(path: Path, problem: str) -> UsageError:
    return UsageError(f"{path}: {problem}; a gold file holds one object {GOLD_SHAPE}")

