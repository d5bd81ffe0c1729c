"""Dedup quality against the generator's ground truth (bench/generate.py's truth.tsv).

    python bench/quality.py CORPUS_DIR CURATE_OUTPUT_DIR [--save bench/results/NAME.json]

Each truth row is a paragraph that copies an earlier one, with the true word 5-gram
Jaccard of the pair. Recall is the share of copies with Jaccard >= 0.8 that curate
removed as duplicates; the false-positive rate is the share of copies with Jaccard
< 0.5 that it removed (such a copy is different enough to be its own paragraph).
curate's audit gives a removed line's byte span in the record's text, which is
turned back into the text line the truth names.

The same on each pair's Jaccard as the dedup stage saw its two lines (``*_seen_*``).

Then the whole audit: every removed duplicate's exact Jaccard with the paragraph it
points at, recomputed here from the two texts (normalised as curate normalises a line,
shingled by an implementation of this file's own over shingle *strings*, not hashes),
and how many fall below the run's threshold (there should be none).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

from curate.stages.dedup.shingles import is_unspaced
from curate.stages.normalise import normalise_text

_WORD = re.compile(r"\w+")


def removed_paragraphs(corpus: Path, out: Path, duplicates: bool = True) -> set[tuple[str, int]]:
    """(document id, text line) of every paragraph curate removed as a duplicate (or, with
    ``duplicates=False``, removed by any other stage: noise rules, normalisation)."""
    wanted: dict[str, list[int]] = {}
    with open(out / "removed.jsonl", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if (rec["reason"] == "duplicate") == duplicates:
                wanted.setdefault(rec["doc"], []).append(rec["bytes"][0])
    found = set()
    for doc, text in texts_of(corpus, wanted):
        data = text.encode("utf-8")
        for start in wanted[doc]:
            found.add((doc, data.count(b"\n", 0, start) + 1))
    return found


def texts_of(corpus: Path, wanted: dict) -> Iterator[tuple[str, str]]:
    """(id, text) of every record of the corpus whose id is a key of ``wanted``."""
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec["id"] in wanted:
                yield rec["id"], rec["text"]


def dedup_quality(corpus_dir: Path, out: Path) -> dict:
    """Recall counts a copy as missed whatever removed it; ``recall_ge_0.8_reaching_dedup``
    counts only copies that reached the dedup stage with their original (neither removed
    by a noise rule first), which is what dedup alone can be judged on."""
    removed = removed_paragraphs(corpus_dir / "corpus.jsonl", out)
    elsewhere = removed_paragraphs(corpus_dir / "corpus.jsonl", out, duplicates=False)
    high = low = high_hit = low_hit = reached = reached_hit = 0
    with open(corpus_dir / "truth.tsv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            jaccard = float(row["jaccard"])
            copy = (row["copy_doc"], int(row["copy_line"]))
            hit = copy in removed
            if jaccard >= 0.8:
                high, high_hit = high + 1, high_hit + hit
                if copy not in elsewhere and (row["original_doc"], int(row["original_line"])) not in elsewhere:
                    reached, reached_hit = reached + 1, reached_hit + hit
            elif jaccard < 0.5:
                low, low_hit = low + 1, low_hit + hit
    seen = seen_quality(corpus_dir, out, removed, elsewhere)
    return {"pairs_jaccard_ge_0.8": high, "recall_ge_0.8": round(high_hit / high, 4) if high else None,
            "pairs_jaccard_ge_0.8_reaching_dedup": reached,
            "recall_ge_0.8_reaching_dedup": round(reached_hit / reached, 4) if reached else None,
            "pairs_jaccard_lt_0.5": low, "removed_jaccard_lt_0.5": low_hit,
            "false_positive_rate_lt_0.5": round(low_hit / low, 5) if low else None,
            "removed_as_duplicates": len(removed), **seen}


def seen_quality(corpus_dir: Path, out: Path, removed: set, elsewhere: set) -> dict:
    """Recall and false positives on the Jaccard of each truth pair as the dedup stage saw
    the two lines (normalised when the run normalised; raw for `curate dedup`, where 3% of
    documents carry mojibake or HTML entities that the generator's own Jaccard, taken
    before it garbled them, does not see), for pairs that reached dedup."""
    settings = json.loads((out / "summary.json").read_text())["settings"]
    clean = normalise_text if "normalise" in settings["stages"] else (lambda text: text)
    with open(corpus_dir / "truth.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    wanted: dict[str, set[int]] = {}
    for row in rows:
        wanted.setdefault(row["copy_doc"], set()).add(int(row["copy_line"]))
        wanted.setdefault(row["original_doc"], set()).add(int(row["original_line"]))
    lines: dict[tuple[str, int], str] = {}
    for doc, text in texts_of(corpus_dir / "corpus.jsonl", wanted):
        text_lines = text.split("\n")
        for n in wanted[doc]:
            lines[doc, n] = text_lines[n - 1]
    high = high_hit = low = low_hit = 0
    for row in rows:
        copy, original = (row["copy_doc"], int(row["copy_line"])), (row["original_doc"], int(row["original_line"]))
        if copy in elsewhere or original in elsewhere:
            continue
        a = shingle_set(clean(lines[copy]), settings["dedup"])
        b = shingle_set(clean(lines[original]), settings["dedup"])
        jaccard = len(a & b) / len(a | b) if a | b else 0.0
        hit = copy in removed
        if jaccard >= 0.8:
            high, high_hit = high + 1, high_hit + hit
        elif jaccard < 0.5:
            low, low_hit = low + 1, low_hit + hit
    return {"pairs_seen_jaccard_ge_0.8": high, "recall_seen_ge_0.8": round(high_hit / high, 4) if high else None,
            "pairs_seen_jaccard_lt_0.5": low, "removed_seen_jaccard_lt_0.5": low_hit}


def shingle_set(text: str, dedup: dict) -> set[str]:
    """The paragraph's shingles as curate defines them (README, Deduplication): word
    n-grams of the lowercased \\w+ words, or character n-grams of unspaced scripts."""
    lowered = text.lower()
    if is_unspaced(lowered):
        chars = "".join(ch for ch in lowered if not ch.isspace())
        n = dedup["shingle_chars"]
        return {chars[i:i + n] for i in range(max(1, len(chars) - n + 1))}
    words = _WORD.findall(lowered)
    n = dedup["shingle_words"]
    return {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def audit_jaccards(corpus: Path, out: Path) -> list[tuple[float, float]]:
    """(exact Jaccard recomputed here, similarity curate wrote) of every removed duplicate.
    The kept paragraph is cut out of its input record by the byte span the audit names."""
    settings = json.loads((out / "summary.json").read_text())["settings"]
    dedup = settings["dedup"]
    # Lines are shingled as the dedup stage saw them: normalised when the run normalised.
    clean = normalise_text if "normalise" in settings["stages"] else (lambda text: text)
    removals = []
    wanted: dict[str, list[tuple[int, int]]] = {}
    with open(out / "removed.jsonl", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec["reason"] == "duplicate":
                target = rec["duplicate_of"]
                removals.append((rec["removed"], target["doc"], tuple(target["bytes"]), rec["similarity"]))
                wanted.setdefault(target["doc"], []).append(tuple(target["bytes"]))
    kept: dict[tuple[str, tuple[int, int]], str] = {}
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            for span in wanted.get(rec["id"], ()):
                data = rec["text"].encode("utf-8")
                kept[rec["id"], span] = data[span[0]:span[1]].decode("utf-8")
    pairs = []
    for removed, doc, span, written in removals:
        a = shingle_set(clean(removed), dedup)
        b = shingle_set(clean(kept[doc, span]), dedup)
        pairs.append((len(a & b) / len(a | b), written))
    return pairs


def exact_audit(corpus_dir: Path, out: Path) -> dict:
    threshold = json.loads((out / "summary.json").read_text())["settings"]["dedup"]["threshold"]
    pairs = audit_jaccards(corpus_dir / "corpus.jsonl", out)
    below = [j for j, _ in pairs if j < threshold]
    return {"threshold": threshold, "removed_duplicates_checked": len(pairs),
            "removed_below_threshold": len(below), "lowest_exact_jaccard": round(min(j for j, _ in pairs), 4)
            if pairs else None, "similarity_differs_from_recomputed": sum(abs(j - w) > 5e-5 for j, w in pairs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus_dir", type=Path, help="bench/generate.py's folder (corpus.jsonl, truth.tsv)")
    parser.add_argument("output", type=Path, help="curate's output folder for that corpus")
    parser.add_argument("--save", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    quality = dedup_quality(args.corpus_dir, args.output)
    figures = {"corpus": str(args.corpus_dir), **quality, "exact_audit": exact_audit(args.corpus_dir, args.output)}
    text = json.dumps(figures, indent=2)
    print(text)
    if args.save:
        args.save.write_text(text + "\n")


if __name__ == "__main__":
    main()
