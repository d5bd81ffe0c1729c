"""How the line model's out-of-fold figures grow with the pages it learns from.

    pip install -e '.[train]'
    python tools/linemodel_learning_curve.py                 # fractions 0.125 0.25 0.5 0.75 1
    python tools/linemodel_learning_curve.py --pages /tmp/pages.pkl   # reuse the pages of a run
    python tools/linemodel_learning_curve.py --fractions 1 --params '{"min_samples_leaf": 300}'

The model's out-of-fold figures have stayed short of issue 16's targets through every
variant tried (docs/noise-history.md). This asks whether more labelled pages of the same
kind would close the gap: for each fraction of the sites, it trains the models exactly
as tools/train_line_model.py does (the line model, the page gate and the model for pages
that are not articles, five folds by site), but each fold's models learn only from that
fraction of the other folds' sites (a reproducible draw per seed, by a hash of the site),
and every page is still scored by models that never saw its site. The thresholds are
chosen on those scores as the training script chooses them. It prints content kept and
noise removed of both gold sets, the lowest page type of noise-train, the worst margin to
the targets (what the thresholds are chosen to widen), and the spread over the draws, so
that the curve's slope at the full data can be read off beside its noise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import train_line_model as train  # noqa: E402
from linedata import FOLDS, Page, load_set  # noqa: E402

from curate.rules import RuleSet, load_rules  # noqa: E402
from curate.stages.noise import arbitrates  # noqa: E402


def drawn(site: str, seed: int, fraction: float) -> bool:
    """Whether ``site`` is among the ``fraction`` of the sites of draw ``seed``: the same
    on every machine, and nested (a site drawn at 0.25 is drawn at 0.5 for the same seed),
    so that the curve's steps differ by added pages only."""
    value = int(hashlib.sha256(f"{seed}:{site}".encode()).hexdigest(), 16) / 2**256
    return value < fraction


def out_of_fold(pages: list[Page], fraction: float, seed: int) -> tuple[dict, train.Gated, float]:
    """Every page's out-of-fold scores and gate verdicts by models that learnt from
    ``fraction`` of the other folds' sites; and how many pages each fold learnt from, on
    average."""
    scores: dict[str, np.ndarray] = {}
    gated = train.Gated({}, {})
    sizes = []
    for k in range(FOLDS):
        rest = [p for p in pages if p.fold != k and drawn(p.site, seed, fraction)]
        sizes.append(len(rest))
        clf, pages_clf, other = train.fit(rest), train.fit_pages(rest), train.fit_other(rest)
        for page in pages:
            if page.fold == k:
                scores[page.name] = clf.predict_proba(page.features)[:, 1]
                gated.judge(page, pages_clf, other)
    gated.thresholds = train.choose_thresholds(pages, scores, gated)
    return scores, gated, float(np.mean(sizes))


def figures(pages: list[Page], scores: dict, gated: train.Gated) -> dict[str, float]:
    """Content kept and noise removed of each set, and noise-train's lowest page type."""
    counts: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(6, dtype=np.int64))
    for page in pages:
        got = train.snippet_counts(page, gated.kept(page, scores))
        counts[(page.corpus, "all")] += got
        if page.corpus == "noise-train" and page.page_type != "?":
            counts[(page.corpus, page.page_type)] += got
    out = {}
    for name in train.SETS:
        out[f"{name} kept"], out[f"{name} removed"], _ = train.figures(counts[(name, "all")])
    types = {key[1]: train.figures(value)[0] for key, value in counts.items() if key[0] == "noise-train"
             and key[1] != "all"}
    lowest = min(types, key=lambda kind: types[kind])
    out["lowest type"] = types[lowest]
    out["lowest"] = lowest  # type: ignore[assignment]
    out["worst margin"] = min(min(train.CONTENT_WEIGHT * (out[f"{name} kept"] - train.TARGETS[0]),
                                  out[f"{name} removed"] - train.TARGETS[1]) for name in train.SETS)
    return out


# "worst margin": what the thresholds are chosen to widen (train.choose_thresholds), the
# smallest of each set's content kept less 0.97 (counted twice) and noise removed less 0.9:
# the targets are met when it is 0 or more, whatever the thresholds trade between them.
COLUMNS = ("noise-dev kept", "noise-dev removed", "noise-train kept", "noise-train removed", "lowest type",
           "worst margin")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=train.ROOT / "tests" / "fixtures")
    parser.add_argument("--pages", type=Path,
                        help="a pickle of the labelled pages (or the training script's --dump): read if it exists, "
                             "else written")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.125, 0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--seeds", type=int, default=3, help="draws per fraction below 1")
    parser.add_argument("--params", type=json.loads, default={},
                        help="the line models' tree settings to change, as JSON: '{\"min_samples_leaf\": 300}' "
                             "(scikit-learn's HistGradientBoostingClassifier; see train_line_model.PARAMS)")
    args = parser.parse_args()
    train.PARAMS.update(args.params)
    if args.pages is not None and args.pages.exists():
        sys.modules["__main__"].Gated = train.Gated  # type: ignore[attr-defined]  # a --dump was pickled there
        pages = pickle.loads(args.pages.read_bytes())
        if isinstance(pages, tuple):  # the training script's --dump: (pages, scores, gated)
            pages = pages[0]
    else:
        ruleset = load_rules([], builtin=True, check_examples=False)
        ruleset = RuleSet([rule for rule in ruleset.rules if not arbitrates(rule)])
        pages = [page for name in train.SETS for page in load_set(args.data / name, ruleset)]
        if args.pages is not None:
            args.pages.write_bytes(pickle.dumps(pages))
    if args.params:
        print(f"tree settings changed: {args.params}")
    print(f"{len(pages)} pages, {len({p.site for p in pages})} sites; targets: content kept >= "
          f"{train.TARGETS[0]}, noise removed >= {train.TARGETS[1]}, every page type's content kept >= 0.92\n")
    header = f"{'fraction':>8} {'seed':>4} {'pages':>6} {'thresh':>6} " + " ".join(f"{c:>19}" for c in COLUMNS)
    print(header, flush=True)
    rows: dict[float, list[dict]] = defaultdict(list)
    for fraction in args.fractions:
        for seed in range(1 if fraction >= 1 else args.seeds):
            scores, gated, size = out_of_fold(pages, fraction, seed)
            got = figures(pages, scores, gated)
            rows[fraction].append(got)
            print(f"{fraction:>8.3f} {seed:>4} {size:>6.0f} {gated.thresholds[0]:>6.2f} "
                  + " ".join(f"{got[c]:>19.3f}" for c in COLUMNS) + f"  ({got['lowest']})", flush=True)
    print("\nmean over the draws, and the largest minus the smallest:")
    for fraction, got in rows.items():
        print(f"{fraction:>8.3f} {len(got):>4} {'':>6} {'':>6} " + " ".join(
            f"{np.mean([g[c] for g in got]):>12.3f} ±{(max(g[c] for g in got) - min(g[c] for g in got)) / 2:.3f}"
            for c in COLUMNS))


if __name__ == "__main__":
    main()
