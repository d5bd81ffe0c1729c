"""Score an output folder against gold snippets (`curate score`).

A gold folder holds NAME.json files of {"keep": [...], "drop": [...], "once": [...]}:
keep snippets must appear in the output of the input whose file name starts with
NAME, drop snippets must not appear, once snippets must appear exactly once. Every
*.jsonl record with `text` and `source` under the output folder counts, grouped by
the stem of `source`; text is compared after NFKC, case folding, straight quotes,
removal of invisible characters and collapsed whitespace. These are the conventions
of the gold sets in tests/fixtures (and of the score_gold.py tool they came with).
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path, PurePosixPath

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"'})
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text).translate(_QUOTES).casefold()
    return re.sub(r"\s+", " ", text).strip()


def output_texts(out_dir: Path) -> dict[str, str]:
    """Every *.jsonl record with text and source under out_dir, joined per source stem."""
    docs: dict[str, list[str]] = {}
    for path in sorted(out_dir.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            if isinstance(rec, dict) and "text" in rec and "source" in rec:
                stem = PurePosixPath(str(rec["source"])).name.split(".")[0]
                docs.setdefault(stem, []).append(fold(str(rec["text"])))
    return {k: "\n".join(v) for k, v in docs.items()}


def score(out_dir: Path, gold_dir: Path) -> tuple[dict[str, list[int]], list[str]]:
    """({kind: [satisfied, total]}, failures) for keep, drop and once snippets."""
    return score_texts(output_texts(out_dir), gold_dir)


def score_texts(docs: dict[str, str], gold_dir: Path) -> tuple[dict[str, list[int]], list[str]]:
    """Score texts already folded and grouped by source stem (see output_texts)."""
    totals = {"keep": [0, 0], "drop": [0, 0], "once": [0, 0]}
    failures = []
    for gold_path in sorted(gold_dir.glob("*.json")):
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        text = docs.get(gold_path.stem, "")
        for kind in totals:
            for snippet in gold.get(kind, []):
                n = text.count(fold(snippet))
                ok = {"keep": n >= 1, "drop": n == 0, "once": n == 1}[kind]
                totals[kind][0] += ok
                totals[kind][1] += 1
                if not ok:
                    failures.append(f"{gold_path.stem}: {kind} x{n}: {snippet[:80]}")
    return totals, failures
