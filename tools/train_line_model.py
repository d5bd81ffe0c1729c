"""Train curate's line model and report it out of fold.

    pip install -e '.[train]'
    python tools/train_line_model.py            # writes curate/linemodel/line.npz
    python tools/train_line_model.py --dry-run --weak 0.25 --trees 300   # try a variant: report, write nothing

Reads the gold sets in tests/fixtures (noise-dev, noise-train: pages with keep/drop
snippets, see tools/linedata.py for how lines get their labels), and:

1. splits the pages into 5 folds by site (a fold never holds two pages of one site);
2. for each fold, fits gradient-boosted trees on the other four and scores this one, so
   every page is scored by a model that never saw its site;
3. picks the two thresholds of the line-model rule (for lines a built-in rule hit, and
   for lines none did) on those out-of-fold scores;
4. the same way, fits the page gate: a classifier of whole pages (article, or a page of
   another type: noise-train's page_type) and a second line model fitted on the pages
   that are not articles, which judges the lines of the pages the classifier calls so;
   picks the thresholds again, one pair for both models, on the gated out-of-fold
   verdicts; and prints content kept and noise removed, by set, language and page type,
   beside the rules alone;
5. fits the shipped models on every page, checks the numpy evaluation against
   scikit-learn's own predictions, and writes the model file, the fold model files (for
   bench/noise.py's out-of-fold run of the real CLI) and a reference for the tests.

Deterministic: the same data and versions give the same model file.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from linedata import FOLDS, Page, load_set  # noqa: E402

from curate.detectors import LineModelRule, _close_menu_runs, _share_list_scores, _share_menu_scores  # noqa: E402
from curate.gold import fold as fold_text  # noqa: E402
from curate.linemodel.features import FEATURES, PAGE_FEATURES, RULE_GROUPS, page_vectors  # noqa: E402
from curate.linemodel.model import LineModel, PageGate  # noqa: E402
from curate.rules import RuleSet, load_rules  # noqa: E402
from curate.stages.noise import arbitrates  # noqa: E402

SETS = ("noise-dev", "noise-train")

# This script makes the model file, so it must run when the shipped one is stale (fitted
# on other features than this curate computes, which load_model refuses when the
# line-model rule is built, as load_rules does): here the rule is built without loading
# it. Nothing in this script scores with the shipped file.
LineModelRule.__post_init__ = lambda self: None  # type: ignore[method-assign]
RULE_DEFAULTS = LineModelRule()
# A hundred trees of depth 6 at most: every line walks 600 nodes, ~8 µs a line (bench/run.py).
PARAMS = {"max_iter": 100, "learning_rate": 0.15, "max_leaf_nodes": 31, "max_depth": 6, "l2_regularization": 1.0,
          "min_samples_leaf": 30, "early_stopping": False, "random_state": 0}
WEAK = 0.5  # what a page's lines labelled content by position weigh, against its snippets' 1
# The same for the model of pages that are not articles: between a thread's or a grid's
# first and last keep snippet lie much of its chrome (usernames, buttons, dates, filters),
# so position says less there. Out of fold, 0.1 against 0.5 kept as much content and
# removed more noise of noise-train (0.915 against 0.910).
OTHER_WEAK = 0.1
TARGETS = (0.97, 0.90)  # content kept, noise removed (issue 16)
# A line no rule hit goes only when the model finds noise clearly likelier than content:
# at 0.5 it took a list item and a thank-you post off two of the probe pages
# (tests/fixtures/probes); out of fold, 0.6 moved no figure by more than 0.003.
FREE_FLOOR = 0.6
GRID = tuple(round(x, 2) for x in np.arange(0.1, 0.95, 0.05))
# The page types of noise-train's manifest that are not articles: the page gate's class 1.
NOT_ARTICLES = frozenset({"collection", "listing", "product", "service", "documentation", "forum"})
# From this probability on, a page's lines go to the model for pages that are not
# articles. Out of fold, at a rule threshold of 0.15 (gate 0.3 / 0.5 / 0.7 / 0.9): noise-dev
# 0.978/0.857, 0.981/0.861, 0.981/0.863, 0.981/0.864; noise-train 0.951/0.914,
# 0.950/0.916, 0.948/0.917, 0.940/0.916; listings, the lowest page type, 0.896, 0.896,
# 0.880, 0.831; articles sent 117, 67, 36, 4 of both sets' 654. At one half the listings gain
# what a lower gate gives, and half as many articles are sent as at 0.3.
GATE = 0.5
# A small classifier for ~1,000 pages: shallow trees, many leaves' worth of samples.
PAGE_PARAMS = {"max_iter": 200, "learning_rate": 0.05, "max_depth": 3, "min_samples_leaf": 10,
               "early_stopping": False, "random_state": 0}
# What a point of content kept weighs against a point of noise removed when thresholds
# are chosen: without it, the chooser gave noise-dev's content up to reach its noise.
CONTENT_WEIGHT = 2.0


def weights(pages: list[Page], weak: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labelled rows, labels and weights: each page's content and noise lines weigh the
    same in all (a long page with many snippets does not outweigh a short one), and the
    two classes weigh the same."""
    rows, labels, weight = [], [], []
    for page in pages:
        mask = page.labels >= 0
        y = page.labels[mask]
        w = np.ones(len(y))
        for c in (0, 1, 2):
            if (y == c).any():
                w[y == c] = ((WEAK if weak is None else weak) if c == 2 else 1.0) / (y == c).sum()
        rows.append(page.features[mask])
        labels.append(np.where(y == 2, 0, y))
        weight.append(w)
    y = np.concatenate(labels)
    w = np.concatenate(weight)
    for c in (0, 1):
        w[y == c] *= 0.5 * len(y) / w[y == c].sum()
    return np.concatenate(rows), y, w


def fit(pages: list[Page], weak: float | None = None):
    from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped]

    rows, y, w = weights(pages, weak)
    return HistGradientBoostingClassifier(**PARAMS).fit(rows, y, sample_weight=w)


def page_row(page: Page) -> np.ndarray:
    return page_vectors(page.features, [len(page.features)])[0]


def fit_pages(pages: list[Page]):
    """The page classifier: 1 for a page that is not an article, on the pages whose type
    is known (noise-dev's are news articles; noise-train's manifest names the rest)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    known = [p for p in pages if p.page_type != "?"]
    rows = np.array([page_row(p) for p in known])
    return HistGradientBoostingClassifier(**PAGE_PARAMS).fit(rows, [int(p.page_type in NOT_ARTICLES) for p in known])


def fit_other(pages: list[Page]):
    """The line model for pages that are not articles: fitted on those pages alone, its
    lines labelled content by position weighing OTHER_WEAK."""
    return fit([p for p in pages if p.page_type in NOT_ARTICLES], OTHER_WEAK)


@dataclasses.dataclass
class Gated:
    """Out-of-fold verdict inputs of the page gate: each page's other-model scores,
    whether the gate sends the page to it, and the thresholds of both models."""

    other: dict[str, np.ndarray]
    sent: dict[str, bool]
    thresholds: tuple[float, float] = (0.5, FREE_FLOOR)  # (rule, free), chosen by choose_thresholds

    def scores_of(self, page: Page, scores: dict[str, np.ndarray]) -> np.ndarray:
        """The page's out-of-fold scores by the model the gate gives it."""
        return self.other[page.name] if self.sent[page.name] else scores[page.name]

    def kept(self, page: Page, scores: dict[str, np.ndarray], rule: LineModelRule = RULE_DEFAULTS) -> np.ndarray:
        return kept_mask(page, self.scores_of(page, scores), *self.thresholds, rule, self.sent[page.name])

    def judge(self, page: Page, pages_clf, other) -> None:
        """Record ``page``'s gate verdict and other-model scores, by a fold's gate models."""
        self.sent[page.name] = bool(pages_clf.predict_proba(page_row(page)[None, :])[0, 1] >= GATE)
        self.other[page.name] = other.predict_proba(page.features)[:, 1]


def set_variant(weak: float | None, trees: int | None, depth: int | None) -> None:
    """Change what weights() and fit() use, for a variant tried with --dry-run."""
    global WEAK
    if weak is not None:
        WEAK = weak
    if trees is not None:
        PARAMS["max_iter"] = trees
    if depth is not None:
        PARAMS["max_depth"] = depth


def export(clf, name: str, rule_threshold: float, free_threshold: float,
           features: tuple[str, ...] = FEATURES) -> LineModel:
    """The classifier's trees as padded arrays (a leaf points to itself)."""
    trees = [predictors[0].nodes for predictors in clf._predictors]
    width = max(len(nodes) for nodes in trees)
    shape = (len(trees), width)
    feature, left, right = np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape, np.int64)
    threshold, value = np.zeros(shape), np.zeros(shape)
    depth = 0
    for t, nodes in enumerate(trees):
        k = np.arange(len(nodes))
        leaf = nodes["is_leaf"].astype(bool)
        feature[t, :len(nodes)] = np.where(leaf, 0, nodes["feature_idx"])
        threshold[t, :len(nodes)] = np.where(leaf, np.inf, nodes["num_threshold"])
        left[t, :len(nodes)] = np.where(leaf, k, nodes["left"])
        right[t, :len(nodes)] = np.where(leaf, k, nodes["right"])
        value[t, :len(nodes)] = np.where(leaf, nodes["value"], 0.0)
        depth = max(depth, int(nodes["depth"].max()))
        if nodes["is_categorical"].any():  # features are numbers, never missing: only numeric splits
            raise SystemExit("categorical splits are not supported by the numpy evaluation")
    baseline = float(np.ravel(clf._baseline_prediction)[0])
    return LineModel(name, features, baseline, feature, threshold, left, right, value, depth, rule_threshold,
                     free_threshold)


def export_gated(main, pages_clf, other, name: str, thresholds: tuple[float, float]) -> LineModel:
    """One model file: the line model, and its page gate (the page classifier and the
    line model for pages that are not articles), both line models at ``thresholds``."""
    gate = PageGate(export(pages_clf, f"{name}-pages", GATE, GATE, PAGE_FEATURES), GATE,
                    export(other, f"{name}-other", *thresholds))
    return dataclasses.replace(export(main, name, *thresholds), gate=gate)


def kept_mask(page: Page, scores: np.ndarray, rule_threshold: float, free_threshold: float,
              rule: LineModelRule = RULE_DEFAULTS, other: bool = False) -> np.ndarray:
    """What the line-model rule keeps (detectors.LineModelRule.judge_pages, with ``rule``'s
    settings): the items of a list and the lines of a menu run inside the article share
    their run's score, and a menu run outside it goes whole when the model takes all but
    an end; ``other``: the page gate calls the page something other than an article. (Not
    simulated: the region's headline, which judge_pages reads as prose.)"""
    hit = page.certain | page.detected
    columns = page.features[:, [FEATURES.index(f"rule_{name}") for name in RULE_GROUPS]] > 0
    groups = {line.index: {RULE_GROUPS[k] for k in np.flatnonzero(row)}
              for line, row, was_hit in zip(page.lines, columns, hit, strict=True) if was_hit}
    detected = {line.index for line, flag in zip(page.lines, page.detected, strict=True) if flag}
    arbitrated = [(page.lines, groups, detected)]
    scores = scores.copy()
    _share_list_scores(scores, [page.lines], ~hit)
    _share_menu_scores(scores, arbitrated)
    cut = rule.cuts(page.features, page.detected, [len(page.lines)], (rule_threshold, free_threshold),
                    other=np.full(len(page.lines), other))
    _close_menu_runs(scores, cut, arbitrated)
    return ~(page.certain | (scores >= cut))


def snippet_counts(page: Page, kept: np.ndarray) -> np.ndarray:
    """Keep snippets kept, of all; drop snippets removed, of all; lines between the first
    and last keep snippet (and the title) kept, of all: headings, list items, short lines
    of the content, which no snippet scores."""
    text = fold_text(" ".join(line.text for line, k in zip(page.lines, kept, strict=True) if k))
    keep = [text.count(fold_text(s)) >= 1 for s in page.gold.get("keep", [])]
    drop = [text.count(fold_text(s)) == 0 for s in page.gold.get("drop", [])]
    span = page.labels == 2
    return np.array([sum(keep), len(keep), sum(drop), len(drop), int((kept & span).sum()), int(span.sum())])


def figures(counts: np.ndarray) -> tuple[float, float, float]:
    return counts[0] / max(counts[1], 1), counts[2] / max(counts[3], 1), counts[4] / max(counts[5], 1)


def report(pages: list[Page], scores: dict[str, np.ndarray], rule_t: float, free_t: float,
           gated: Gated | None = None) -> None:
    groups: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(6, dtype=np.int64))
    rules_only: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(6, dtype=np.int64))
    for page in pages:
        kept = gated.kept(page, scores) if gated is not None else kept_mask(page, scores[page.name], rule_t, free_t)
        model = snippet_counts(page, kept)
        alone = snippet_counts(page, np.array([line.index not in page.taken for line in page.lines]))
        for key in ((page.corpus, "all"), (page.corpus, f"lang {page.language}"),
                    (page.corpus, f"type {page.page_type}")):
            groups[key] += model
            rules_only[key] += alone
    print(f"{'':<36}{'rules alone':^27}{'with the model':^27}")
    print(f"{'set':<12} {'group':<17} {'pages':>5} " + f"{'kept':>8} {'removed':>8} {'short':>8} " * 2)
    for key in sorted(groups, key=lambda k: (k[0], k[1] != "all", k[1])):
        n = sum(1 for p in pages if p.corpus == key[0] and (key[1] == "all" or key[1] in
                                                             (f"lang {p.language}", f"type {p.page_type}")))
        if n < 3:
            continue
        a, b = figures(rules_only[key]), figures(groups[key])
        print(f"{key[0]:<12} {key[1]:<17} {n:>5} " + "".join(f"{x:>8.3f} " for x in (*a, *b)))


# The doubtful-region settings (LineModelRule.region_threshold, region_share,
# region_prose_other) shown beside the defaults, to see how the figures move around them.
REGION_SWEEP = ((0.35, 0.4, True), (0.5, 0.25, True), (0.5, 0.35, True), (0.5, 0.5, True), (0.7, 0.4, True),
                (0.5, 0.4, False), (0.0, 1.0, False))


def region_sweep(pages: list[Page], scores: dict[str, np.ndarray], gated: Gated) -> None:
    """Content kept and noise removed per set at other doubtful-region settings (out of
    fold, with the chosen thresholds); share 1.0 is the region judged like any detector."""
    print("\ndoubtful region: lines only the region hit, on pages where it cut more than the share of the prose "
          "(prose, other: and a prose line after the article on a page the gate calls something other than an article)")
    heads = "".join(f" {name + ' kept':>17} {'removed':>8}" for name in SETS)
    print(f"{'threshold':>9} {'share':>6} {'prose, other':>12}{heads}")
    defaults = (RULE_DEFAULTS.region_threshold, RULE_DEFAULTS.region_share, RULE_DEFAULTS.region_prose_other)
    for region_t, share, prose_other in (defaults, *REGION_SWEEP):
        rule = dataclasses.replace(RULE_DEFAULTS, region_threshold=region_t, region_share=share,
                                   region_prose_other=prose_other)
        total = {name: np.zeros(6, dtype=np.int64) for name in SETS}
        for page in pages:
            total[page.corpus] += snippet_counts(page, gated.kept(page, scores, rule))
        row = "".join(f" {figures(total[name])[0]:>17.3f} {figures(total[name])[1]:>8.3f}" for name in SETS)
        chosen = "  (default)" if (region_t, share, prose_other) == defaults else ""
        print(f"{region_t:>9.2f} {share:>6.2f} {'yes' if prose_other else 'no':>12}{row}{chosen}")


def choose_thresholds(pages: list[Page], scores: dict[str, np.ndarray],
                      gated: Gated | None = None) -> tuple[float, float]:
    """The pair (for lines only a detector hit, for the others) with the widest worst
    margin to the targets (content kept, noise removed) over both sets, a margin of
    content kept counting CONTENT_WEIGHT times one of noise removed: what the thresholds
    trade is content for noise, and content is the scarcer of the two (a corpus loses
    more by a lost sentence than by a kept menu). Ties go to the widest second worst
    margin, and so on. The second threshold is FREE_FLOOR (chosen too, it wandered from
    0.5 to 0.8 between retrainings that moved no figure much). With ``gated``, one pair
    for both models: each page judged by the one the gate gives it (two pairs chosen
    apart wandered as well, and each is one more number fitted to the same pages)."""
    best: list[float] | None = None
    pick = (0.5, FREE_FLOOR)
    # Most pairs keep the same lines of most pages: each page's counts are remembered by
    # what it keeps, so a page's text is folded and searched once per distinct verdict.
    counted: dict[tuple[str, bytes], np.ndarray] = {}
    for rule_t in GRID:
        free_t = max(FREE_FLOOR, rule_t)
        total = {name: np.zeros(6, dtype=np.int64) for name in SETS}
        for page in pages:
            judged = gated.scores_of(page, scores) if gated is not None else scores[page.name]
            kept = kept_mask(page, judged, rule_t, free_t, other=gated is not None and gated.sent[page.name])
            key = (page.name, np.packbits(kept).tobytes())
            if key not in counted:
                counted[key] = snippet_counts(page, kept)
            total[page.corpus] += counted[key]
        margins = [min(CONTENT_WEIGHT * (set_kept - TARGETS[0]), set_removed - TARGETS[1])
                   for set_kept, set_removed, _ in (figures(total[name]) for name in SETS)]
        ranked = sorted(round(m, 6) for m in margins)
        if best is None or ranked > best:
            best, pick = ranked, (rule_t, free_t)
    return pick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "fixtures", help="folder holding the gold sets")
    parser.add_argument("--out", type=Path, default=ROOT / "curate" / "linemodel" / "line.npz")
    parser.add_argument("--folds-dir", type=Path, default=HERE / "linemodel-folds",
                        help="where the fold models go (bench/noise.py reads them)")
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)  # pages and out-of-fold scores, pickled
    parser.add_argument("--dry-run", action="store_true",
                        help="fit the folds and print the out-of-fold figures; write no model, no fold models and "
                             "no test reference")
    parser.add_argument("--weak", type=float, help=f"what a line labelled content by position weighs (default {WEAK})")
    parser.add_argument("--trees", type=int, help=f"boosting rounds (default {PARAMS['max_iter']})")
    parser.add_argument("--depth", type=int, help=f"the trees' largest depth (default {PARAMS['max_depth']})")
    args = parser.parse_args()
    set_variant(args.weak, args.trees, args.depth)
    # The rules the model weighs: every built-in one but the model itself (whose examples
    # need the model file this run writes).
    ruleset = load_rules([], builtin=True, check_examples=False)
    ruleset = RuleSet([rule for rule in ruleset.rules if not arbitrates(rule)])
    pages = [page for name in SETS for page in load_set(args.data / name, ruleset)]
    print(f"{len(pages)} pages; lines labelled: {sum(int((p.labels == 0).sum()) for p in pages)} content and "
          f"{sum(int((p.labels == 1).sum()) for p in pages)} noise by snippets, "
          f"{sum(int((p.labels == 2).sum()) for p in pages)} content by position", flush=True)
    scores: dict[str, np.ndarray] = {}
    fold_models = []
    for k in range(FOLDS):
        clf = fit([p for p in pages if p.fold != k])
        fold_models.append(clf)
        for page in pages:
            if page.fold == k:
                scores[page.name] = clf.predict_proba(page.features)[:, 1]
        print(f"fold {k + 1}/{FOLDS} fitted", flush=True)
    rule_t, free_t = choose_thresholds(pages, scores)
    gated = Gated({}, {})
    fold_gates = []
    for k in range(FOLDS):
        rest = [p for p in pages if p.fold != k]
        pages_clf, other = fit_pages(rest), fit_other(rest)
        fold_gates.append((pages_clf, other))
        for page in pages:
            if page.fold == k:
                gated.judge(page, pages_clf, other)
        print(f"page gate, fold {k + 1}/{FOLDS} fitted", flush=True)
    if args.dump:
        import pickle

        args.dump.write_bytes(pickle.dumps((pages, scores, gated)))
    gated.thresholds = choose_thresholds(pages, scores, gated)
    print(f"\nthresholds without the page gate: {rule_t} for lines only a built-in detector hit, {free_t} for the "
          f"others (out of fold); with it (both models): {gated.thresholds[0]} and {gated.thresholds[1]}")
    for corpus in SETS:
        for kind in sorted({p.page_type for p in pages if p.corpus == corpus}):
            group = [p for p in pages if p.corpus == corpus and p.page_type == kind]
            print(f"  gate, {corpus} {kind}: {sum(gated.sent[p.name] for p in group)} of {len(group)} pages "
                  "sent to the model for pages that are not articles")
    print("kept: keep snippets kept; removed: drop snippets removed; short: lines between the first and last keep "
          "snippet, and the title, kept (headings, list items: content no snippet scores)\n")
    print("without the page gate:")
    report(pages, scores, rule_t, free_t)
    print("\nwith the page gate (as shipped):")
    report(pages, scores, *gated.thresholds, gated)
    region_sweep(pages, scores, gated)
    if args.dry_run:
        return

    final, final_pages, final_other = fit(pages), fit_pages(pages), fit_other(pages)
    model = export_gated(final, final_pages, final_other, "line-model", gated.thresholds)
    assert model.gate is not None
    every = np.concatenate([p.features for p in pages])
    page_rows = np.array([page_row(p) for p in pages])
    gaps = [float(np.max(np.abs(ours.scores(rows) - theirs.predict_proba(rows)[:, 1])))
            for ours, theirs, rows in ((model, final, every), (model.gate.other, final_other, every),
                                       (model.gate.classifier, final_pages, page_rows))]
    if max(gaps) > 1e-9:
        raise SystemExit(f"numpy evaluation differs from scikit-learn's by {max(gaps)}")
    model.save(args.out)
    args.folds_dir.mkdir(parents=True, exist_ok=True)
    for k, (clf, (pages_clf, other)) in enumerate(zip(fold_models, fold_gates, strict=True)):
        export_gated(clf, pages_clf, other, f"line-model-fold{k}", gated.thresholds).save(
            args.folds_dir / f"fold{k}.npz")
    (args.folds_dir / "folds.tsv").write_text("".join(f"{p.corpus}\t{p.name}\t{p.fold}\n" for p in pages))
    rng = np.random.default_rng(0)
    sample = every[np.sort(rng.choice(len(every), size=300, replace=False))]
    reference = ROOT / "tests" / "fixtures" / "linemodel-reference.npz"
    # A hundred pages' rows are check enough, and keep the fixture small (all 1,093: 0.6 MB).
    page_sample = page_rows[np.sort(np.random.default_rng(1).choice(len(page_rows), size=100, replace=False))]
    np.savez_compressed(reference, rows=sample, scores=final.predict_proba(sample)[:, 1],
                        other_scores=final_other.predict_proba(sample)[:, 1], page_rows=page_sample,
                        page_scores=final_pages.predict_proba(page_sample)[:, 1])
    print(f"\nmodel: {model.trees} trees, depth {model.depth}; for pages that are not articles "
          f"{model.gate.other.trees} trees; page gate {model.gate.classifier.trees} trees, depth "
          f"{model.gate.classifier.depth}; numpy matches scikit-learn within {max(gaps):.1e}")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes), fold models in {args.folds_dir}, "
          f"reference in {reference}")


if __name__ == "__main__":
    main()
