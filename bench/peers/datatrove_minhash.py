#!/usr/bin/env python3
"""datatrove MinHash near-duplicate removal on paragraph records, for comparison with curate.

usage: datatrove_minhash.py INPUT_JSONL WORKDIR --out RESULT.json [--tasks 1]

INPUT_JSONL holds one paragraph per line ({"id":..., "text":...}). Runs the four datatrove
stages (signature -> buckets -> cluster -> filter + JsonlWriter), each as its own
LocalPipelineExecutor, timed with perf_counter. Kept records go to WORKDIR/output/, ids of
removed records to WORKDIR/removed_ids.txt. Re-executes itself under bench/.venv-peers.
"""

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _dtcommon as dt


def main():
    args = dt.peer_arguments(__doc__.splitlines()[1])

    workdir = Path(args.workdir).resolve()
    out_dir = workdir / "output"
    dt.reset_workdir(workdir, (*dt.MINHASH_SUBDIRS, "output", "logs", "input_shards"))
    t0 = time.perf_counter()
    folder, pattern = dt.prepare_input(args.input_jsonl, workdir, args.tasks)
    shard_s = time.perf_counter() - t0

    # add_file_path=False: keep the written records to id/text/metadata like the input.
    def reader():
        return dt.JsonlReader(folder, glob_pattern=pattern, compression=None, add_file_path=False)

    timings, steps = {}, {}
    for name, pipeline, n_tasks in dt.minhash_stages(reader, workdir, args.tasks, out_dir):
        dt.run_stage(name, pipeline, workdir, n_tasks, args.tasks, timings, steps)
    total = sum(timings.values())

    # Untimed bookkeeping: removed = input ids not written out (multiset, input order).
    in_ids = dt.read_ids(Path(args.input_jsonl))
    kept = Counter(dt.read_ids(out_dir))
    removed = []
    for i in in_ids:
        if kept[i] > 0:
            kept[i] -= 1
        else:
            removed.append(i)
    (workdir / "removed_ids.txt").write_text("".join(f"{i}\n" for i in removed))

    dt.write_result(args.out, {
        "tool": "datatrove",
        "datatrove_version": dt.DATATROVE_VERSION,
        "pipeline": "minhash",
        "input": str(Path(args.input_jsonl).resolve()),
        "tasks": args.tasks,
        "config": {
            "n_grams": dt.MINHASH_CONFIG.n_grams,
            "num_buckets": dt.MINHASH_CONFIG.num_buckets,
            "hashes_per_bucket": dt.MINHASH_CONFIG.hashes_per_bucket,
            "hash": "xxhash64",
            "tokenizer": "whitespace split after datatrove simplify_text (no spaCy/nltk)",
            "buckets_stage_tasks": dt.MINHASH_CONFIG.num_buckets,
        },
        "records_in": len(in_ids),
        "records_kept": len(in_ids) - len(removed),
        "records_removed": len(removed),
        "removed_ids_file": str(workdir / "removed_ids.txt"),
    }, timings, total, shard_s, steps)


if __name__ == "__main__":
    main()
