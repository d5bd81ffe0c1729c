"""Noise removal on noise-dev and noise-train: curate against text-only cleaners, in one run.

    python bench/noise.py            # needs pip install -e '.[bench]' for jusText

For each gold set in tests/fixtures (pages of naive text with keep/drop snippets), runs:

- curate, out of fold: the pages of each of the 5 site folds (tools/linedata.py) through
  the real `curate run`, with the line model trained without that fold
  (tools/linemodel-folds/, written by tools/train_line_model.py). These are the figures
  to quote: no page is scored by a model that saw its site.
- curate as shipped: the model trained on every page, so in-sample here (for reference).
- curate's rules alone (--disable line-model), C4's line filter and jusText.

Each is scored with the gold snippets (as ../shared/tools/score_gold.py counts them):
content kept is the share of keep snippets in the output, noise removed the share of
drop snippets absent from it; overall, per language and per page type (noise-train's
manifest gives `page_type`). Writes the figures to bench/results/noise.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tools"))

import numpy as np
from baselines import JusText, c4_line_filter
from linedata import FOLDS, LANGUAGE_CODES, fold_of, label_lines, page_language, read_manifest, site_of

from curate.gold import fold, output_texts
from curate.stages.noise import text_lines

SETS = ("noise-dev", "noise-train")
FOLD_MODELS = ROOT / "tools" / "linemodel-folds"
CURATE = Path(sys.executable).parent / "curate"
TARGETS = {"content_kept": 0.97, "noise_removed": 0.90, "page_type_content_kept": 0.92}  # issue 16


class Page:
    def __init__(self, folder: Path, name: str, entry: dict):
        self.name = name
        self.path = folder / "input" / f"{name}.txt"
        self.gold = json.loads((folder / "gold" / f"{name}.json").read_text(encoding="utf-8"))
        text = self.path.read_text(encoding="utf-8")
        language = entry.get("language") or page_language(text)
        self.language = LANGUAGE_CODES.get(language, language)
        self.page_type = entry.get("page_type", "article" if folder.name == "noise-dev" else "unknown")
        self.fold = fold_of(site_of(entry.get("url", ""), name))
        self._span: list[str] | None = None

    def counts(self, text: str) -> tuple[int, int, int, int, int, int]:
        keep = [text.count(fold(s)) >= 1 for s in self.gold.get("keep", [])]
        drop = [text.count(fold(s)) == 0 for s in self.gold.get("drop", [])]
        span = [text.count(line) >= 1 for line in self.span_lines()]
        return sum(keep), len(keep), sum(drop), len(drop), sum(span), len(span)

    def span_lines(self) -> list[str]:
        """Folded lines of two words or more between the first and the last keep snippet
        that no snippet marks (tools/linedata.py's content by position): the headings, list
        items and short sentences of the content, which the keep snippets (long sentences)
        never score."""
        if self._span is None:
            lines = text_lines(self.path.read_text(encoding="utf-8"))
            labels = label_lines(lines, self.gold, np.zeros(len(lines), dtype=bool))
            self._span = [fold(line.text) for line, label in zip(lines, labels, strict=True)
                          if label == 2 and line.index and len(line.text.split()) >= 2]
        return self._span


def load(folder: Path) -> list[Page]:
    manifest = read_manifest(folder)
    return [Page(folder, p.stem, manifest.get(p.stem, {})) for p in sorted((folder / "input").glob("*.txt"))]


def curate(pages: list[Page], out: Path, *extra: str) -> dict[str, str]:
    """`curate run` over these pages (linked into one folder); folded output text by page."""
    with tempfile.TemporaryDirectory(prefix="noise-") as tmp:
        folder = Path(tmp) / "input"
        folder.mkdir()
        for page in pages:
            (folder / page.path.name).symlink_to(page.path)
        subprocess.run([str(CURATE), "run", str(folder), "-o", str(out), "--overwrite", "-q", "--no-project-rules",
                        "--workers", str(os.cpu_count() or 1), *extra], cwd=ROOT, check=True)
    return output_texts(out)


def out_of_fold(pages: list[Page], work: Path) -> dict[str, str]:
    """Each fold's pages through curate with the model that never saw their sites."""
    texts: dict[str, str] = {}
    builtin = (ROOT / "curate" / "rules" / "model.toml").read_text(encoding="utf-8")
    for k in range(FOLDS):
        rules = work / f"fold{k}-rules"
        rules.mkdir(parents=True, exist_ok=True)
        model = FOLD_MODELS / f"fold{k}.npz"
        # The fold's model in place of the built-in one, every other setting as shipped.
        fold_rule, swaps = re.subn(r'(?m)^params = \{ (.*) \}$', f'params = {{ model = "{model}", \\1 }}',
                                   builtin.replace('name = "line-model"', f'name = "line-model-fold{k}"'))
        if swaps != 1 or f"line-model-fold{k}" not in fold_rule:
            raise SystemExit("curate/rules/model.toml has no one-line params table to swap the fold's model into")
        (rules / "model.toml").write_text(fold_rule, encoding="utf-8")
        members = [p for p in pages if p.fold == k]
        if members:
            texts.update(curate(members, work / f"fold{k}", "--disable", "line-model", "--rules", str(rules)))
    return texts


def baseline(pages: list[Page], clean) -> dict[str, str]:
    return {p.name: fold(clean(p.path.read_text(encoding="utf-8"))) for p in pages}


def tally(pages: list[Page], texts: dict[str, str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    for page in pages:
        counts = page.counts(texts.get(page.name, ""))
        for key in ("all", f"lang {page.language}", f"type {page.page_type}"):
            groups[key] = [a + b for a, b in zip(groups[key], counts, strict=True)]
    return dict(groups)


def share(counts: list[int]) -> tuple[float, float]:
    return counts[0] / max(counts[1], 1), counts[2] / max(counts[3], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS),
                        help="the gold sets to score (default: both)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "noise.json",
                        help="where the figures go (default: bench/results/noise.json)")
    args = parser.parse_args()
    work = HERE / "out" / "noise"
    results: dict = {"date": date.today().isoformat(), "sets": {}}
    for name in args.sets:
        pages = load(ROOT / "tests" / "fixtures" / name)
        runs: dict[str, tuple[dict[str, str], float]] = {}
        for label, job in (
            ("curate (out of fold)", lambda p=pages, w=work / name: out_of_fold(p, w / "oof")),
            ("curate (as shipped)", lambda p=pages, w=work / name: curate(p, w / "shipped")),
            ("curate rules alone", lambda p=pages, w=work / name: curate(p, w / "rules", "--disable", "line-model")),
            ("C4 line filter", lambda p=pages: baseline(p, c4_line_filter)),
            ("jusText", lambda p=pages: baseline(p, JusText())),
        ):
            start = time.perf_counter()
            try:
                runs[label] = job(), time.perf_counter() - start
            except ImportError:
                print("jusText is not installed (pip install -e '.[bench]'); skipping it", file=sys.stderr)
        tallies = {label: tally(pages, texts) for label, (texts, _) in runs.items()}
        print(f"\n== {name}: {len(pages)} pages")
        print(f"{'cleaner':<22} {'content kept':>13} {'noise removed':>14} {'seconds':>8} {'short kept':>11}")
        for label, (_, seconds) in runs.items():
            kept, removed = share(tallies[label]["all"])
            short = tallies[label]["all"][4] / max(tallies[label]["all"][5], 1)
            print(f"{label:<22} {kept:>13.3f} {removed:>14.3f} {seconds:>8.1f} {short:>11.3f}")
        print("short kept: lines of the content that no snippet scores (headings, list items, short sentences "
              "between the first and last keep snippet), kept")
        groups = sorted({g for t in tallies.values() for g in t if g != "all"},
                        key=lambda g: (not g.startswith("type"), g))
        labels = [label for label in runs if label != "curate (as shipped)"]
        print(f"\n{'group':<22} {'pages':>5}  " + "  ".join(f"{label[:20]:>20}" for label in labels))
        for group in groups:
            n = sum(1 for p in pages if group in (f"lang {p.language}", f"type {p.page_type}"))
            if n < 3:
                continue
            cells = ["{:.3f} / {:.3f}".format(*share(tallies[label][group])) for label in labels]
            print(f"{group:<22} {n:>5}  " + "  ".join(f"{c:>20}" for c in cells))
        oof = tallies["curate (out of fold)"]
        kept, removed = share(oof["all"])
        worst_type = min((share(v)[0], g) for g, v in oof.items() if g.startswith("type"))
        print(f"\ntargets (out of fold): content kept {kept:.3f} >= {TARGETS['content_kept']} "
              f"{'PASS' if kept >= TARGETS['content_kept'] else 'FAIL'}; noise removed {removed:.3f} >= "
              f"{TARGETS['noise_removed']} {'PASS' if removed >= TARGETS['noise_removed'] else 'FAIL'}; "
              f"lowest page type ({worst_type[1]}) {worst_type[0]:.3f} >= {TARGETS['page_type_content_kept']} "
              f"{'PASS' if worst_type[0] >= TARGETS['page_type_content_kept'] else 'FAIL'}")
        results["sets"][name] = {
            "pages": len(pages),
            "results": {label: {group: {"content_kept": round(share(c)[0], 4), "noise_removed": round(share(c)[1], 4),
                                        "keep": c[:2], "drop": c[2:4], "short": c[4:]}
                                for group, c in tallies[label].items()}
                        for label in runs},
            "seconds": {label: round(seconds, 1) for label, (_, seconds) in runs.items()},
        }
    dest = args.out
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"\nfigures written to {dest}")


if __name__ == "__main__":
    main()
