"""Dedup quality against the generator's ground truth (bench/generate.py's truth.tsv).

    python bench/quality.py CORPUS_DIR CURATE_OUTPUT_DIR

Each truth row is a paragraph that copies an earlier one, with the true word 5-gram
Jaccard of the pair. Recall is the share of copies with Jaccard >= 0.8 that curate
removed as duplicates; the false-positive rate is the share of copies with Jaccard
< 0.5 that it removed (such a copy is different enough to be its own paragraph).
curate's audit gives a removed line's byte span in the record's text, which is
turned back into the text line the truth names.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path


def removed_paragraphs(corpus: Path, out: Path) -> set[tuple[str, int]]:
    """(document id, text line) of every paragraph curate removed as a duplicate."""
    wanted: dict[str, list[int]] = {}
    with open(out / "removed.jsonl", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec["reason"] == "duplicate":
                wanted.setdefault(rec["doc"], []).append(rec["bytes"][0])
    found = set()
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            starts = wanted.get(rec["id"])
            if starts:
                data = rec["text"].encode("utf-8")
                for start in starts:
                    found.add((rec["id"], data.count(b"\n", 0, start) + 1))
    return found


def dedup_quality(corpus_dir: Path, out: Path) -> dict:
    removed = removed_paragraphs(corpus_dir / "corpus.jsonl", out)
    high = low = high_hit = low_hit = 0
    with open(corpus_dir / "truth.tsv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            jaccard = float(row["jaccard"])
            hit = (row["copy_doc"], int(row["copy_line"])) in removed
            if jaccard >= 0.8:
                high, high_hit = high + 1, high_hit + hit
            elif jaccard < 0.5:
                low, low_hit = low + 1, low_hit + hit
    return {"pairs_jaccard_ge_0.8": high, "recall_ge_0.8": round(high_hit / high, 4) if high else None,
            "pairs_jaccard_lt_0.5": low, "false_positive_rate_lt_0.5": round(low_hit / low, 5) if low else None,
            "removed_as_duplicates": len(removed)}


if __name__ == "__main__":
    print(json.dumps(dedup_quality(Path(sys.argv[1]), Path(sys.argv[2])), indent=2))
