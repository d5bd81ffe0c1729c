"""Seconds per MB of the normalise and noise stages and of the line model, in process,
before and after.

    python bench/noise_stage.py                       # the 20 MB bench corpus, this checkout
    python bench/noise_stage.py --baseline HEAD       # HEAD's curate beside this checkout's
    python bench/noise_stage.py --baseline HEAD --files curate/linemodel/features.py curate/linemodel/model.py
    python bench/noise_stage.py --corpus tests/fixtures/noise-train/input --reps 5
    python bench/noise_stage.py --profile             # and cProfile's top functions of the stage

Reads the corpus (bench/generate.py's corpus<MB>/corpus.jsonl by default, made if it is
not there; or any file or folder `curate run` reads) through the read stage once, in
batches as the driver cuts them, and keeps each batch pickled. Then, for ``--reps``
repetitions, each batch is unpickled afresh and put through the normalise stage and the
noise stage (StripNoise with the built-in rules and the line model), timed with
perf_counter:

- normalise: the normalise stage's call (ftfy's repairs, spacing, fenced code, Markdown's
  marks, a table row's tabs, nested lists);
- noise: the whole noise stage call;
- rules: noise minus line-model (document_rule_hits: every rule over every line);
- line-model: the stage's own ``batch.timings["line-model"]`` (arbitrate_pages);
- of which features (pages_features) and trees (LineModel.scores), timed by wrapping
  those two functions; the rest of line-model is judging and auditing.

Each figure is the sum over batches of the fastest repetition of that batch: other
processes on a shared machine only ever add time, so the minimum is the best estimate
of the code's own cost. What the stage remembers of lines it has seen (the verdicts of
backtracking patterns) is emptied before each repetition, which so sees what one run
sees. Figures are seconds per MB of input (with MB/s, and seconds for the whole corpus).
Every variant also prints a digest of its verdicts (each removed line's index, reason
and score): equal digests mean the same output. The bench corpus has long lines
(~325 characters); real pages (tests/fixtures/noise-train, ~56) weigh per-line costs
four times as much, so measure both.

With ``--baseline REV``, the curate package of git revision REV (``git archive``), or
the one in the folder REV/curate, is measured too, each in a process of its own,
alternating for ``--rounds`` rounds; the table shows both side by side. With
``--files``, the baseline is this checkout's package with only those files taken from
REV: one change measured alone while other work sits in the working tree. Both packages
are copied at the start (to a temporary folder, the only thing written), so work landing
in the working tree meanwhile is on neither side.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIGURES = ("normalise", "noise", "rules", "line-model", "features", "trees")


def prepared_batches(corpus: Path) -> tuple[list[bytes], int]:
    """Each batch after the read stage, pickled; and the input bytes."""
    from curate.discover import discover
    from curate.driver import batches, input_items
    from curate.formats import DEFAULT_READ
    from curate.stages.split import Split

    found = discover([corpus])
    split = Split()
    out = []
    size = 0
    for batch in batches(input_items(found, "text", DEFAULT_READ)):
        size += batch.size
        out.append(pickle.dumps(split(batch), protocol=pickle.HIGHEST_PROTOCOL))
    return out, size


class Stopwatch:
    """Seconds spent inside a wrapped function since the last ``take``."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, function):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed

    def take(self) -> float:
        seconds, self.seconds = self.seconds, 0.0
        return seconds


def measure(corpus: Path, reps: int, profile: bool) -> dict:
    """The figures of the curate package that is imported, on ``corpus``."""
    import curate.linemodel.features as features
    from curate.linemodel.model import LineModel
    from curate.rules import load_rules
    from curate.stages.noise import MODEL_TIMING, StripNoise
    from curate.stages.normalise import Normalise

    pickled, size = prepared_batches(corpus)
    normalise = Normalise()
    stage = StripNoise(load_rules([]))
    feature_clock, tree_clock = Stopwatch(), Stopwatch()
    features.pages_features = feature_clock.wrap(features.pages_features)  # type: ignore[method-assign]
    LineModel.scores = tree_clock.wrap(LineModel.scores)  # type: ignore[method-assign]
    best = [dict.fromkeys(FIGURES, float("inf")) for _ in pickled]
    digest = hashlib.sha256()
    for rep in range(reps):
        forget_verdicts()
        for k, data in enumerate(pickled):
            batch = pickle.loads(data)
            started = time.perf_counter()
            normalise(batch)
            normalised = time.perf_counter() - started
            started = time.perf_counter()
            stage(batch)
            noise = time.perf_counter() - started
            model = batch.timings.get(MODEL_TIMING, 0.0)
            seen = {"normalise": normalised, "noise": noise, "rules": noise - model, "line-model": model,
                    "features": feature_clock.take(), "trees": tree_clock.take()}
            best[k] = {name: min(best[k][name], seen[name]) for name in FIGURES}
            if rep == 0:
                for doc in batch.documents():
                    digest.update(repr([(r.line.index, r.reason, r.why.score) for r in doc.removed]).encode())
    figures = {name: sum(b[name] for b in best) for name in FIGURES}
    result = {"mb": size / 1e6, "batches": len(pickled), "seconds": figures, "verdicts": digest.hexdigest()[:16]}
    if profile:
        result["profile"] = profile_stage(stage, [normalise(pickle.loads(data)) for data in pickled])
    return result


def forget_verdicts() -> None:
    """Empty what the noise stage remembers of lines it has seen, so that each repetition
    sees what a run sees: a cold start, warmed by the batches before."""
    from curate import patterns
    from curate.stages import noise

    # Where it lives moved (noise.py before 2026-12-03, patterns.py since); older checkouts have neither.
    for module in (patterns, noise):
        remembered = getattr(module, "_remembered_search", None)
        if remembered is not None:
            remembered.cache_clear()


def profile_stage(stage, batches: list) -> str:
    """cProfile's top functions of the noise stage over normalised batches, one pass."""
    import cProfile
    import pstats

    forget_verdicts()
    profiler = cProfile.Profile()
    profiler.enable()
    for batch in batches:
        stage(batch)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return out.getvalue()


def export_revision(revision: str, into: Path, files: list[str]) -> Path:
    """A curate package under ``into``: the one of a git revision, or, with ``files``, this
    checkout's with only those files as they are at the revision."""
    if not files:
        archive = subprocess.run(["git", "archive", "--format=tar", revision, "curate"], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(into, filter="data")
        return into
    shutil.copytree(ROOT / "curate", into / "curate", ignore=shutil.ignore_patterns("__pycache__"))
    for name in files:
        path = Path(name).resolve().relative_to(ROOT) if Path(name).is_absolute() else Path(name)
        (into / path).write_bytes(subprocess.run(["git", "show", f"{revision}:{path.as_posix()}"], cwd=ROOT,
                                                 check=True, capture_output=True).stdout)
    return into


def run_variant(package_root: Path, corpus: Path, reps: int, profile: bool) -> dict:
    """``measure`` in a fresh process that imports curate from ``package_root``."""
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", "--corpus", str(corpus), "--reps", str(reps)]
    if profile:
        cmd.append("--profile")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"measuring {package_root} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def merged(runs: list[dict]) -> dict:
    """The fastest of several runs of one variant, figure by figure."""
    out = dict(runs[0])
    out["seconds"] = {name: min(r["seconds"][name] for r in runs) for name in FIGURES}
    return out


def print_table(variants: dict[str, dict]) -> None:
    first = next(iter(variants.values()))
    mb = first["mb"]
    print(f"corpus: {mb:.1f} MB in {first['batches']} batches; figures: seconds per MB (MB/s, seconds in all)")
    print(f"{'':<12}" + "".join(f"  {name:>28}" for name in variants))
    for figure in FIGURES:
        cells = ""
        for result in variants.values():
            s = result["seconds"][figure]
            cells += f"  {s / mb:>10.4f} ({mb / s if s else float('inf'):>6.1f}, {s:>6.2f} s)"
        print(f"{figure:<12}{cells}")
    if len(variants) > 1:
        names = list(variants)
        for figure in ("normalise", "noise", "line-model"):
            before, after = (variants[n]["seconds"][figure] for n in names[:2])
            print(f"{figure}: {names[1]} takes {after / before:.2f}x the time of {names[0]} "
                  f"({before / after:.2f}x as fast)")
    same = len({r["verdicts"] for r in variants.values()}) == 1
    print("verdicts: " + ", ".join(f"{name} {r['verdicts']}" for name, r in variants.items())
          + ("" if len(variants) == 1 else "  (identical)" if same else "  (DIFFERENT)"))
    for name, result in variants.items():
        if "profile" in result:
            print(f"\n--- {name}: cProfile of the noise stage, one pass ---\n{result['profile']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, help="a file or folder curate reads (default: the --mb bench corpus)")
    parser.add_argument("--mb", type=float, default=20.0, help="size of the generated bench corpus (default 20)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each batch per process (default 3)")
    parser.add_argument("--baseline", metavar="REV", help="also measure the curate package of this git revision "
                        "(or of this folder, which holds curate/)")
    parser.add_argument("--files", nargs="+", default=[], metavar="PATH",
                        help="with --baseline: take only these files (under curate/) from REV, the rest from "
                             "this checkout, to measure one change while others are in the working tree")
    parser.add_argument("--rounds", type=int, default=2, help="with --baseline: alternating processes per variant")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions of the stage")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the worker's side
    args = parser.parse_args()
    if args.corpus is None:
        sys.path.insert(0, str(HERE))
        from generate import ensure_corpus

        args.corpus = ensure_corpus(args.mb) / "corpus.jsonl"
    if args.measure:
        print(json.dumps(measure(args.corpus, args.reps, args.profile)))
        return
    if args.baseline is None:
        print_table({"this checkout": measure(args.corpus, args.reps, args.profile)})
    else:
        compare(args)


def compare(args: argparse.Namespace) -> None:
    """The baseline and this checkout, each in processes of its own, side by side."""
    with tempfile.TemporaryDirectory(prefix="noise-stage-") as tmp:
        # Both packages copied now: other work landing in the working tree mid-run would
        # otherwise be measured on one side only.
        base = Path(tmp) / "baseline"
        if (Path(args.baseline) / "curate").is_dir():
            shutil.copytree(Path(args.baseline) / "curate", base / "curate",
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            export_revision(args.baseline, base, args.files)
        this = Path(tmp) / "this"
        shutil.copytree(ROOT / "curate", this / "curate", ignore=shutil.ignore_patterns("__pycache__"))
        label = args.baseline + (" (those files)" if args.files else "")
        runs: dict[str, list[dict]] = {label: [], "this checkout": []}
        for round_ in range(args.rounds):
            last = round_ == args.rounds - 1
            runs[label].append(run_variant(base, args.corpus, args.reps, args.profile and last))
            runs["this checkout"].append(run_variant(this, args.corpus, args.reps, args.profile and last))
        print_table({name: merged(r) | ({"profile": r[-1]["profile"]} if "profile" in r[-1] else {})
                     for name, r in runs.items()})

if __name__ == "__main__":
    main()
