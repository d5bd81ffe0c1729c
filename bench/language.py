"""How far curate's language labels can be trusted, on the labelled set
tests/fixtures/languages/labelled.jsonl.gz (built by bench/language_set.py).

    python bench/language.py          # report on the held-out (test) half -> bench/results/language.{txt,json}
    python bench/language.py --fit    # fit the calibration and the `und` threshold on the fit half, print them

A label is right when it is the text's ISO 639-1 code for a language the profiles cover,
and `und` for one they do not (a guess there is wrong, however plausible: Malay labelled
Indonesian is wrong). Mixed texts (a third of their lines from another language) count as
right when labelled with their main language; what matters for them is their score.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curate.document import Document, Line, Origin
from curate.stages import language

SET = ROOT / "tests" / "fixtures" / "languages" / "labelled.jsonl.gz"
RESULTS = ROOT / "bench" / "results"
CALIBRATION_FILE = ROOT / "curate" / "stages" / "language_calibration.py"


def records(split: str | None = None) -> list[dict]:
    rows = [orjson.loads(line) for line in gzip.decompress(SET.read_bytes()).splitlines()]
    return [r for r in rows if split is None or r["split"] == split]


def document(record: dict) -> Document:
    parts = record["text"].split("\n")
    lines = [Line(k, part, part, Origin(k + 1, 0, len(part.encode())), False) for k, part in enumerate(parts)]
    return Document(record["id"], "set.jsonl", None, lines)


MODEL = "langdetect"  # --model


def covered() -> set[str]:
    """The codes the model can give."""
    if MODEL == "py3langid":
        from curate.stages.language_py3langid import identifier

        return set(identifier().labels)
    return set(language.model().codes)


def label(recs: list[dict]) -> list[tuple[str, float]]:
    docs = [document(r) for r in recs]
    if MODEL == "py3langid":
        from curate.stages.language_py3langid import detect_languages

        detect_languages(docs)
    else:
        language.detect_languages(docs)
    return [(d.language or language.UNDETERMINED, d.language_score) for d in docs]


def document_features(recs: list[dict]) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """Each text's winning code, its (fit, margin, n-grams) features, langdetect's naive
    posterior for the winner, and the winning profile, computed as the language stage
    computes a document's."""
    m = language.model()
    rows, _, summed, _ = language.evidence_rows([document(r) for r in recs])
    line_tops = m.features(rows)[0].tolist()
    parts = iter(language._main_parts(rows, summed, line_tops, m.codes))
    width = len(m.languages) + 2
    totals = np.array([next(parts) if p else np.zeros(width) for p in summed])
    with np.errstate(invalid="ignore", divide="ignore"):  # texts with no n-gram: und anyway
        top, fit, margin, grams = m.features(totals)
    whole = np.array([rows[p].sum(axis=0) if p else np.zeros(width) for p in summed])
    posterior = np.array([m.best(t[:len(m.languages)])[1] for t in whole])
    return [m.codes[t] for t in top], np.column_stack([fit, margin, grams]), posterior, [m.languages[t] for t in top]


def _design(features: np.ndarray) -> np.ndarray:
    fit, margin, grams = features.T
    return np.column_stack([np.ones(len(fit)), fit, margin, np.log(grams)])


def fit_logistic(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3) -> np.ndarray:
    """Logistic regression by Newton's method (iteratively reweighted least squares),
    with a little ridge so that a separable set still converges."""
    w = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-x @ w))
        gradient = x.T @ (y - p) - ridge * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        w += step
        if np.abs(step).max() < 1e-10:
            break
    return w


def right(record: dict, code: str) -> bool:
    return code == (record["lang"] if record["in_model"] else language.UNDETERMINED)


def fit_py3langid() -> None:
    """py3langid's own probabilities are its calibration: only the `und` threshold to scan."""
    from curate.stages import language_py3langid as other

    known = covered()
    recs = [{**r, "in_model": r["lang"] in known} for r in records("fit") if r["kind"] != "mixed"]
    for threshold in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9):
        other.UND_BELOW = threshold
        labels = label(recs)
        accuracy = np.mean([right(r, c) for r, (c, _) in zip(recs, labels, strict=True)])
        print(f"und below {threshold:.2f}: accuracy {accuracy:.4f}")


def fit() -> None:
    """Fit, on the fit half, each profile's fit offset, then the logistic calibration, then
    the `und` threshold, and write them to curate/stages/language_calibration.py."""
    m = language.model()
    base = language._profile_log_probabilities()[3]
    m.expected = base.copy()
    recs = [r for r in records("fit") if r["kind"] != "mixed"]
    codes, features, _, profiles = document_features(recs)
    fits: dict[str, list[float]] = defaultdict(list)
    for r, code, f, profile in zip(recs, codes, features, profiles, strict=True):
        if r["in_model"] and code == r["lang"] and r["kind"] == "long":
            fits[profile].append(float(f[0]))
    offsets = {profile: round(float(np.median(v)), 4) for profile, v in sorted(fits.items()) if len(v) >= 3}
    default = float(np.median(list(offsets.values())))
    m.expected = base + np.array([offsets.get(lang, default) for lang in m.languages])
    codes, features, _, _ = document_features(recs)
    y = np.array([r["in_model"] and c == r["lang"] for r, c in zip(recs, codes, strict=True)], dtype=float)
    usable = features[:, 2] > 0  # a text with no n-gram in any profile is und before any score
    w = fit_logistic(_design(features[usable]), y[usable])
    language.calibration.CALIBRATION = tuple(round(float(v), 4) for v in w)
    best = (-1.0, 0.0)
    for threshold in np.arange(0.05, 0.96, 0.05):
        language.calibration.UND_BELOW = float(threshold)
        labels = label(recs)
        accuracy = np.mean([right(r, c) for r, (c, _) in zip(recs, labels, strict=True)])
        print(f"und below {threshold:.2f}: accuracy {accuracy:.4f}")
        best = max(best, (float(accuracy), round(float(threshold), 2)))
    text = CALIBRATION_FILE.read_text(encoding="utf-8")
    head = text[:text.index("# Weights of")]
    offsets_text = "".join(f"    {k!r}: {v},\n" for k, v in offsets.items())
    CALIBRATION_FILE.write_text(
        head + "# Weights of (intercept, fit, margin, log n-grams) in the logistic confidence.\n"
        f"CALIBRATION = {language.calibration.CALIBRATION}\n"
        f"# A label whose confidence is below this is \"und\" ({best[0]:.4f} of the fit half right).\n"
        f"UND_BELOW = {best[1]}\n"
        "# Per profile: its own labelled long texts' median fit per n-gram less the profile's prediction.\n"
        f"FIT_OFFSET: dict[str, float] = {{\n{offsets_text}}}\n", encoding="utf-8")
    print(f"calibration {language.calibration.CALIBRATION}, und below {best[1]} -> {CALIBRATION_FILE}")


def auroc(scores: list[float], positive: list[bool]) -> float:
    """The chance that a right label scores above a wrong one (ties count half)."""
    s = np.asarray(scores)
    pos, neg = s[np.asarray(positive)], s[~np.asarray(positive)]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def report() -> dict:
    known = covered()
    recs = [{**r, "in_model": r["lang"] in known} for r in records("test")]
    labels = label(recs)
    codes, _, posterior, _ = document_features(recs)
    pure = [k for k, r in enumerate(recs) if r["kind"] != "mixed"]
    out: dict = {"model": MODEL, "set": str(SET.relative_to(ROOT)), "split": "test", "texts": len(recs),
                 "languages_in_model": len({r["lang"] for r in recs if r["in_model"]}),
                 "languages_out_of_model": len({r["lang"] for r in recs if not r["in_model"]}),
                 "calibration": list(language.calibration.CALIBRATION) if MODEL == "langdetect" else None,
                 "und_below": language.calibration.UND_BELOW if MODEL == "langdetect" else _py3langid_und()}
    ok = [right(recs[k], labels[k][0]) for k in pure]
    out["accuracy"] = round(float(np.mean(ok)), 4)
    for kind in ("short", "long"):
        sel = [k for k in pure if recs[k]["kind"] == kind]
        out[f"accuracy_{kind}"] = round(float(np.mean([right(recs[k], labels[k][0]) for k in sel])), 4)
    for in_model in (True, False):
        sel = [k for k in pure if recs[k]["in_model"] == in_model]
        if not sel:
            continue
        name = "in_model" if in_model else "out_of_model"
        out[f"accuracy_{name}"] = round(float(np.mean([right(recs[k], labels[k][0]) for k in sel])), 4)
        out[f"und_share_{name}"] = round(float(np.mean([labels[k][0] == "und" for k in sel])), 4)
    per_language: dict[str, list[bool]] = defaultdict(list)
    for k in pure:
        per_language[recs[k]["lang"]].append(right(recs[k], labels[k][0]))
    out["per_language"] = {lang: round(float(np.mean(v)), 3) for lang, v in sorted(per_language.items())}
    # Separation: of the texts given a label (not und), do right labels score above wrong ones?
    given = [k for k in pure if labels[k][0] != "und"]
    is_right = [right(recs[k], labels[k][0]) for k in given]
    scores = [labels[k][1] for k in given]
    out["labelled"] = len(given)
    out["mean_score_right"] = round(float(np.mean([s for s, r in zip(scores, is_right, strict=True) if r])), 4)
    out["mean_score_wrong"] = round(float(np.mean([s for s, r in zip(scores, is_right, strict=True) if not r])), 4)
    out["auroc"] = round(auroc(scores, is_right), 4)
    for cut in (0.5, 0.9):
        kept = [r for s, r in zip(scores, is_right, strict=True) if s >= cut]
        out[f"precision_at_{cut}"] = round(float(np.mean(kept)), 4) if kept else None
        out[f"kept_at_{cut}"] = round(len(kept) / len(pure), 4)
    if MODEL == "langdetect":
        # The naive posterior (langdetect's, what curate reported before) on the same texts.
        naive_right = [codes[k] == recs[k]["lang"] and recs[k]["in_model"] for k in pure]
        naive = [float(posterior[k]) for k in pure]
        out["naive_accuracy"] = round(float(np.mean(naive_right)), 4)  # no und: out-of-model texts all wrong
        out["naive_auroc"] = round(auroc(naive, naive_right), 4)
        out["naive_wrong_at_0.999"] = round(float(np.mean([p >= 0.999 for p, r in zip(naive, naive_right, strict=True)
                                                           if not r])), 4)
    out["wrong_at_0.999"] = round(float(np.mean([s >= 0.999 for s, r in zip(scores, is_right, strict=True)
                                                 if not r])), 4) if not all(is_right) else 0.0
    # Mixed texts against pure long texts.
    mixed = [k for k, r in enumerate(recs) if r["kind"] == "mixed"]
    long_in = [k for k in pure if recs[k]["kind"] == "long" and recs[k]["in_model"]]
    out["mixed"] = len(mixed)
    out["mixed_main_label"] = round(float(np.mean([labels[k][0] == recs[k]["lang"] for k in mixed])), 4)
    out["mixed_mean_score"] = round(float(np.mean([labels[k][1] for k in mixed])), 4)
    out["mixed_share_at_0.9"] = round(float(np.mean([labels[k][1] >= 0.9 for k in mixed])), 4)
    if MODEL == "langdetect":
        out["mixed_naive_at_0.999"] = round(float(np.mean([posterior[k] >= 0.999 for k in mixed])), 4)
    out["pure_long_mean_score"] = round(float(np.mean([labels[k][1] for k in long_in])), 4)
    return out


def _py3langid_und() -> float:
    from curate.stages import language_py3langid as other

    return other.UND_BELOW


def _text(out: dict) -> str:
    lines = [f"curate language labels ({out['model']}) on {out['set']} ({out['split']} half, {out['texts']} texts; "
             f"{out['languages_in_model']} languages in the model, {out['languages_out_of_model']} not)"]
    for key, value in out.items():
        if key not in ("per_language", "set", "split", "texts", "model"):
            lines.append(f"  {key:28} {value}")
    lines.append("  per language (share right): " + " ".join(f"{k} {v}" for k, v in out["per_language"].items()))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fit", action="store_true", help="fit the calibration and the und threshold (fit half)")
    parser.add_argument("--name", default=None, help="results file stem under bench/results/ "
                                                     "(default: language, or language-MODEL)")
    parser.add_argument("--model", choices=language.LANGUAGE_MODELS, default="langdetect",
                        help="the --language-model to measure")
    args = parser.parse_args()
    global MODEL
    MODEL = args.model
    if args.fit:
        fit() if MODEL == "langdetect" else fit_py3langid()
        return
    args.name = args.name or ("language" if MODEL == "langdetect" else f"language-{MODEL}")
    out = report()
    text = _text(out)
    print(text, end="")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    (RESULTS / f"{args.name}.txt").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
