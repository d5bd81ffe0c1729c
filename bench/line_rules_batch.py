"""The line rules asked page by page, or once over a batch's pages (noise.batch_line_hits).

    python bench/line_rules_batch.py [--corpus FILE_OR_FOLDER ...] [--reps 3]

On each corpus (default: bench's 20 MB generated corpus, and the same text as one JSONL
record per paragraph, made if missing), the read stage's batches are normalised, then
every rule (line, block and page rules; not the line model) is run over each batch two
ways: all_rule_hits page by page, as the noise stage did before, and batch_line_hits
then all_rule_hits with those hits. Prints the best seconds of --reps for each and
whether every page got the same hits.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from compare import paragraphs_file
from noise_stage import prepared_batches

from curate.rules import load_rules
from curate.stages.noise import all_rule_hits, batch_line_hits
from curate.stages.normalise import Normalise


def pages_of(corpus: Path) -> list[list[list]]:
    pickled, _ = prepared_batches(corpus)
    normalise = Normalise()
    batches = []
    for data in pickled:
        batch = pickle.loads(data)
        normalise(batch)
        batches.append([doc.lines for doc in batch.documents()])
    return batches


def page_by_page(batches, ruleset) -> list:
    return [all_rule_hits(lines, ruleset) for pages in batches for lines in pages]


def by_batch(batches, ruleset) -> list:
    return [all_rule_hits(lines, ruleset, line_hits=found) for pages in batches
            for lines, found in zip(pages, batch_line_hits(pages, ruleset), strict=True)]


def names(results: list) -> list:
    return [({k: r.name for k, r in taken.items()}, {k: [r.name for r in rs] for k, rs in every.items()})
            for taken, every in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, nargs="+", default=None, help="files or folders curate reads")
    parser.add_argument("--reps", type=int, default=3, help="rounds; the best time of each way is printed")
    args = parser.parse_args()
    corpora = args.corpus
    if corpora is None:
        standard = HERE / "data" / "corpus20" / "corpus.jsonl"
        if not standard.exists():
            raise SystemExit("bench/data/corpus20 is missing: python bench/generate.py makes it")
        records = HERE / "data" / "corpus20-paragraphs" / "paragraphs.jsonl"
        if not records.exists():
            records.parent.mkdir(parents=True)
            paragraphs_file(standard, records)
        corpora = [standard, records]
    ruleset = load_rules()
    print(f"{'corpus':<44} {'pages':>8} {'page by page':>13} {'by batch':>9} {'ratio':>6}  same hits")
    for corpus in corpora:
        batches = pages_of(corpus)
        best = {"page": float("inf"), "batch": float("inf")}
        same = None
        for _ in range(args.reps):
            for way, run in (("page", page_by_page), ("batch", by_batch)):
                started = time.perf_counter()
                result = run(batches, ruleset)
                best[way] = min(best[way], time.perf_counter() - started)
                if way == "page":
                    reference = names(result)
                else:
                    same = names(result) == reference if same is None else same and names(result) == reference
        pages = sum(len(b) for b in batches)
        name = corpus.relative_to(HERE.parent) if corpus.is_relative_to(HERE.parent) else corpus
        ratio = best["batch"] / best["page"]
        print(f"{name!s:<44} {pages:>8,} {best['page']:>12.2f}s {best['batch']:>8.2f}s {ratio:>5.2f}x  {same}")

if __name__ == "__main__":
    main()
