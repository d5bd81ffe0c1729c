"""Parity of curate's Gopher packs with datatrove's Gopher filters, on the same texts.

    python bench/document_rules.py [--out bench/results/document-rules.json] [--sets noise-train,corpus20]

For each sample set, as the issue's user did: `curate run` cleans it (no document rule on),
and the kept text of each document (its corpus record's text) is what both sides judge:
  * curate: the read and documents stages alone over those texts (curate.api.process),
    with --enable gopher-quality,gopher-repetition;
  * datatrove 0.10.1: GopherRepetitionFilter then GopherQualityFilter, defaults, English
    (bench/peers/datatrove_gopher.py, in bench/.venv-peers with spaCy for its tokenizer).
Prints the documents each drops, the agreement, and every disagreement counted by cause
(curate's rule against datatrove's reason), overall and for the documents curate labels
English. Sets: noise-train (the real pages of ../shared/noise-train, 867 pages, many
languages) and corpus20 (bench/data/corpus20/corpus.jsonl, 20 MB, bench/generate.py's
mixed-language documents).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SETS = {
    "noise-train": ROOT.parent / "shared" / "noise-train" / "input",
    "corpus20": ROOT / "bench" / "data" / "corpus20" / "corpus.jsonl",
}
PACKS = ("gopher-quality", "gopher-repetition")
PEER = ROOT / "bench" / "peers" / "datatrove_gopher.py"


def kept_texts(source: Path, work: Path) -> list[dict]:
    """`curate run` on the set with default settings: each kept document's id, text, language."""
    out = work / "pass1"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "curate", "run", str(source), "-o", str(out), "--quiet",
                    "--no-project-rules", "--overwrite"], check=True, cwd=work, env=env)
    records = []
    for shard in sorted((out / "corpus").iterdir()):
        with open(shard, encoding="utf-8") as f:
            records += [json.loads(line) for line in f]
    return [{"id": r["id"], "text": r["text"], "language": r.get("language", "und")} for r in records]


def curate_verdicts(records: list[dict], as_datatrove: bool = False) -> dict[str, str | None]:
    """The first Gopher rule that drops each text, or None. ``as_datatrove``: the 80%
    alphabetic rule read as datatrove reads it (of tokens, punctuation included), so that
    the differences left are the word tokenizer's."""
    import curate
    from curate.rules import load_rules

    if as_datatrove:
        ruleset = load_rules(enabled=(*PACKS, "datatrove-readings"), disabled=("gopher-alpha-words",))
    else:
        ruleset = load_rules(enabled=PACKS)
    out: dict[str, str | None] = {}
    for cleaned in curate.process(({"id": r["id"], "text": r["text"]} for r in records), ruleset=ruleset,
                                  stages=("read", "documents")):
        dropped = [x["reason"] for x in cleaned.removed if x["reason"].startswith("doc:")]
        out[cleaned.id] = dropped[0][len("doc:"):] if dropped else None
    return out


def datatrove_verdicts(records: list[dict], work: Path) -> tuple[dict[str, str | None], str]:
    """datatrove's reason for dropping each text (repetition first, as FineWeb's pipeline), or None."""
    kept = work / "kept.jsonl"
    with open(kept, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n")
    verdicts = work / "datatrove.jsonl"
    done = subprocess.run([sys.executable, str(PEER), str(kept), str(verdicts)], check=True,
                          capture_output=True, text=True)
    version = json.loads(done.stdout.strip().splitlines()[-1])["datatrove"]
    out: dict[str, str | None] = {}
    with open(verdicts, encoding="utf-8") as f:
        for line in f:
            v = json.loads(line)
            out[v["id"]] = v["repetition"] or v["quality"]
    return out, version


def compare(records: list[dict], ours: dict, theirs: dict) -> dict:
    both = only_curate = only_datatrove = neither = 0
    causes: Counter = Counter()
    for r in records:
        a, b = ours[r["id"]], theirs[r["id"]]
        if a and b:
            both += 1
        elif not a and not b:
            neither += 1
        else:
            if a:
                only_curate += 1
            else:
                only_datatrove += 1
            causes[f"curate {a or 'keeps'} / datatrove {b or 'keeps'}"] += 1
    n = len(records)
    return {
        "documents": n,
        "dropped_by_curate": both + only_curate,
        "dropped_by_datatrove": both + only_datatrove,
        "dropped_by_both": both,
        "only_curate": only_curate,
        "only_datatrove": only_datatrove,
        "agreement": round((both + neither) / n, 4) if n else None,
        "differences_by_cause": dict(causes.most_common()),
        "curate_by_rule": dict(Counter(v for v in (ours[r["id"]] for r in records) if v).most_common()),
        "datatrove_by_reason": dict(Counter(v for v in (theirs[r["id"]] for r in records) if v).most_common()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "document-rules.json")
    ap.add_argument("--sets", default=",".join(SETS), help=f"comma list of: {', '.join(SETS)}")
    args = ap.parse_args()
    result: dict = {"packs": list(PACKS), "sets": {}}
    for name in args.sets.split(","):
        source = SETS[name]
        if not source.exists():
            sys.exit(f"error: {source} is missing (set {name}); see this script's docstring")
        with tempfile.TemporaryDirectory(prefix="curate-docrules-") as tmp:
            work = Path(tmp)
            t0 = time.perf_counter()
            records = kept_texts(source, work)
            t1 = time.perf_counter()
            ours = curate_verdicts(records)
            t2 = time.perf_counter()
            alike = curate_verdicts(records, as_datatrove=True)
            theirs, version = datatrove_verdicts(records, work)
            t3 = time.perf_counter()
        english = [r for r in records if r["language"] == "en"]
        result["datatrove"] = version
        result["sets"][name] = {
            "all": compare(records, ours, theirs),
            "english": compare(english, ours, theirs),
            "all, alpha share as datatrove": compare(records, alike, theirs),
            "seconds": {"curate_run": round(t1 - t0, 1), "curate_rules": round(t2 - t1, 1),
                        "datatrove_filters": round(t3 - t2, 1)},
        }
        for part in ("all", "english", "all, alpha share as datatrove"):
            c = result["sets"][name][part]
            print(f"{name} ({part}): {c['documents']} documents kept by curate run; Gopher packs drop "
                  f"{c['dropped_by_curate']}, datatrove drops {c['dropped_by_datatrove']}, both "
                  f"{c['dropped_by_both']}; agreement {c['agreement']}")
            for cause, count in c["differences_by_cause"].items():
                print(f"    {count:5d}  {cause}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
