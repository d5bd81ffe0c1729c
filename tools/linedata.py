"""Labelled lines for the line model, from gold sets of pages with keep/drop snippets.

A gold set is a folder with input/NAME.txt (a page as naive text), gold/NAME.json
({"keep": [...], "drop": [...]}) and manifest.jsonl (one line per page with its `name`,
`url`, and where known `language` and `page_type`). Each page goes through the same
normalisation and rules as `curate run`; a line is labelled content when a keep snippet
covers part of it, noise when a drop snippet does, and is left unlabelled otherwise (or
when both do). Pages are grouped by site (the URL's host), so that a fold never holds
two pages of one site: their menus and footers repeat, and would leak across folds.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from curate.document import Line
from curate.gold import fold
from curate.linemodel.features import line_features, rule_group, title_overlap
from curate.rules import Rule, RuleSet
from curate.stages.language import detect
from curate.stages.noise import all_rule_hits, is_final, text_lines

FOLDS = 5
# noise-train's manifest names languages; noise-dev's pages get a detected ISO 639-1 code.
LANGUAGE_CODES = {"English": "en", "German": "de", "French": "fr", "Spanish": "es", "Portuguese": "pt",
                  "Czech": "cs", "Chinese": "zh", "Japanese": "ja", "Polish": "pl", "Italian": "it"}


@dataclass
class Page:
    name: str
    corpus: str  # the gold set's folder name
    site: str
    language: str
    page_type: str
    lines: list[Line]
    taken: dict[int, Rule]  # what the rules alone remove
    certain: np.ndarray  # per line: a pattern (line or block) rule hit it, final with the model too
    detected: np.ndarray  # per line: only a detector (page rule) hit it
    features: np.ndarray
    labels: np.ndarray  # 1 noise, 0 content, 2 content by position (see label_lines), -1 unlabelled
    gold: dict = field(default_factory=dict)

    @property
    def fold(self) -> int:
        return fold_of(self.site)


def fold_of(site: str) -> int:
    """The fold of a site's pages: a hash, so the split is the same on every machine."""
    return int(hashlib.sha256(site.encode()).hexdigest(), 16) % FOLDS


def site_of(url: str, name: str) -> str:
    host = urlsplit(url).hostname or ""
    if not host or "::" in url:  # no URL, or a label in place of one: the page is its own site
        return f"page:{name}"
    return host.removeprefix("www.")


HEADLINE_REACH = 15  # lines before the first keep snippet where the headline is looked for


def label_lines(lines: list[Line], gold: dict, certain: np.ndarray) -> np.ndarray:
    """-1, 0 (content) or 1 (noise) per line, from where the folded snippets fall in the
    folded page (lines joined by spaces, as the scorer joins them)."""
    starts, parts, pos = [], [], 0
    for line in lines:
        folded = fold(line.text)
        starts.append(pos)
        parts.append(folded)
        pos += len(folded) + 1
    page = " ".join(parts)
    ends = np.array([s + len(p) for s, p in zip(starts, parts, strict=True)])
    begins = np.array(starts)
    keep = np.zeros(len(lines), dtype=bool)
    drop = np.zeros(len(lines), dtype=bool)
    for kind, marks in (("keep", keep), ("drop", drop)):
        for snippet in gold.get(kind, []):
            needle = fold(snippet)
            if not needle:
                continue
            at = page.find(needle)
            while at >= 0:
                marks |= (begins < at + len(needle)) & (ends > at)
                at = page.find(needle, at + 1)
    labels = np.full(len(lines), -1, dtype=np.int8)
    # Weakly content (2): the page title, and every line between the first and the last
    # keep snippet that no drop snippet marks. Keep snippets are long sentences, so without
    # these a model never sees a heading, a list item or a table row of an article as
    # content, and learns to remove every short line.
    # Above the first snippet, the headline (the last line repeating the title) and what
    # follows it (a standfirst, a lead) are content too; lines a pattern rule removes
    # (a byline, a date) stay out of it, as they are not the model's to decide.
    content = np.flatnonzero(keep & ~drop)
    if len(content):
        first = content[0]
        overlap = title_overlap([line.text for line in lines])
        heads = [k for k in range(max(1, first - HEADLINE_REACH), first) if overlap[k] >= 0.6]
        if heads:
            first = heads[-1]
        labels[first:content[-1] + 1] = 2
    labels[0] = 2
    labels[certain] = -1
    labels[keep & ~drop] = 0
    labels[drop & ~keep] = 1
    labels[drop & keep] = -1
    return labels


def page_language(text: str) -> str:
    """The language of most of a page's letters, line by line: curate's detector is
    calibrated per paragraph, and a whole page of menus and text in one sample fits no
    profile well (it labelled 82 of noise-dev's 226 pages `und`)."""
    letters: Counter[str] = Counter()
    for line in text.splitlines():
        code, _ = detect(line)
        if code != "und":
            letters[code] += sum(ch.isalpha() for ch in line)
    return letters.most_common(1)[0][0] if letters else "und"


def read_manifest(folder: Path) -> dict[str, dict]:
    """A gold set's manifest.jsonl, by page name."""
    rows = (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return {entry["name"]: entry for entry in map(json.loads, filter(str.strip, rows))}


def load_set(folder: Path, ruleset: RuleSet) -> list[Page]:
    manifest = read_manifest(folder)
    pages = []
    for path in sorted((folder / "input").glob("*.txt")):
        name = path.stem
        entry = manifest.get(name, {})
        gold = json.loads((folder / "gold" / f"{name}.json").read_text(encoding="utf-8"))
        lines = text_lines(path.read_text(encoding="utf-8"))
        taken, every = all_rule_hits(lines, ruleset)
        hits = {index: {rule_group(rule.file) for rule in rules} for index, rules in every.items()}
        certain = np.array([any(is_final(r) for r in every.get(line.index, ())) for line in lines], dtype=bool)
        detected = np.array([line.index in every for line in lines], dtype=bool) & ~certain
        language = entry.get("language") or page_language(path.read_text(encoding="utf-8"))
        language = LANGUAGE_CODES.get(language, language)
        page_type = entry.get("page_type", "article" if folder.name == "noise-dev" else "?")
        pages.append(Page(name, folder.name, site_of(entry.get("url", ""), name), language, page_type, lines, taken,
                          certain, detected, line_features(lines, hits), label_lines(lines, gold, certain), gold))
    return pages
