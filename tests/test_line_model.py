"""The learned line model: its numpy evaluation, its features, and its rule in real runs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, ROOT, in_process

from curate import writing
from curate.detectors import LineModelRule, _close_menu_runs, _share_list_scores, _share_menu_scores
from curate.document import Line, Origin
from curate.linemodel.features import (
    FEATURES,
    PAGE_FEATURES,
    RULE_GROUPS,
    line_features,
    page_vectors,
    pages_features,
    rule_group,
)
from curate.linemodel.model import ModelError, PageGate, load_model, read_model
from curate.stages.noise import text_lines

# A page whose article the model keeps, with a menu above it and teasers below.
PAGE = "\n".join([
    "How to repot an orchid", "", "Indoor plants", "Garden tools", "Seeds and bulbs", "Outdoor furniture", "",
    "Repotting an orchid every two years keeps its roots healthy, because the bark it grows in breaks down and "
    "holds too much water.", "",
    "Water the plant a day before, so that the roots are supple and come out of the old pot without tearing.", "",
    "Cut away any roots that are brown and mushy, and keep the firm green or silver ones.", "",
    "Ten houseplants that thrive in low light", "Why your basil keeps dying", "The best soil for tomatoes",
    "Garden Corner Ltd, 12 High Street, Leeds", ""])


NOISE_DEV = FIXTURES / "noise-dev"

# Lines where a shortcut in pages_features could part from the reference: how lines end
# (marks, closers, a space after them, more closers than _line_ends steps over), patterns
# matching many times in one line, words that casefolding or lowercasing changes (İ splits
# into two words, ß, the long s, final sigma, ligatures), characters above the BMP (a
# title word of three), a lone surrogate, whitespace str.split knows and RE2 does not,
# underscores and digits that \w counts.
EDGE_LINES = [
    "Straße İstanbul ǰournal ſo ﬁnal ΟΔΟΣ ΣΟΦΟΣ \U00020000\U00020001\U00020002: der Weg über die Brücke",
    "Ende.", "Ende.)", "Ende.\u201d\u00bb", "Ende. ", "...", ")", "x\u3002", "Was?!\"", "Fertig\u2026", "»Ja«",
    "Ende.))))", "(Ende.))))))))", "Ende))))))", ")))))))))", "))))", "a.)x))))))",
    "Kontakt:", "Kontakt: ", ":", "a:b", "12.05.2020, 13.06.2021 und 1999 2000 2024; 10:30 11:45 12:00",
    "- one", "1) two", "b. three", "•four", "Home | News | Sport › Fußball » Bundesliga / Tabelle",
    "Visit www.example.com or https://x.org/a.html, mail me@host.de, (c) 2024 \u00a9 Copyright",
    "Price: $ 5, 10\u20ac, 12 EUR, 3 usd, 4 z\u0142, \u00a3 7",
    "Er sagte. Dann ging er. \u201eSo\u201c (nicht) 3 Mal. Fertig! Ja? Nein\u3002\u3002\u6211",
    "\U0001d400\U0001d401 \U00020000\U00020001\U00020002 emoji \U0001f600 word_with_underscore x\u00b2 \u00bd",
    "lone \ud800 surrogate and the der die das",
    "wide\u2028space\u00a0nbsp\x1cfs\u3000ideographic the a an",
    "The the THE tHe. And and, or OR; of of of",
    "\u6211\u4eec\u7684\u7f51\u7ad9\u4f7f\u7528cookies\u3002\u8fd9\u662f\u4e00\u4e2a\u957f\u53e5\u5b50",
    "STRASSE İstanbul the story of Weg Brücke SO FINAL \U00020000\U00020001\U00020002",
    # other scripts (curate/writing.py): vowel signs, a danda, the Arabic question mark, a
    # space between Thai clauses, full-width marks and brackets, a Cyrillic capital
    "वे बचपन में तैरना सीखे थे। क्या हमारे बच्चे भी तैरेंगे?", "هل ستفتح المكتبة؟ أكد المدير ذلك",
    "เทศบาลเมืองเริ่มโครงการ โดยมีอาสาสมัคร", "運賃はどうなるのでしょうか？市によると「二百円」",
    "Жители просили. Как добираться",
]


def lines_of(texts: list[str]) -> list[Line]:
    return [Line(k, text, text, Origin(k + 1, 0, 0), False) for k, text in enumerate(texts)]


@pytest.mark.unit
def test_numpy_evaluation_equals_scikit_learn():
    """The shipped trees, evaluated with numpy, against scikit-learn's own predictions of
    the same rows, saved when the model was trained (tools/train_line_model.py)."""
    reference = np.load(FIXTURES / "linemodel-reference.npz")
    model = load_model()
    assert model.gate is not None
    for ours, theirs in ((model.scores(reference["rows"]), reference["scores"]),
                         (model.gate.other.scores(reference["rows"]), reference["other_scores"]),
                         (model.gate.classifier.scores(reference["page_rows"]), reference["page_scores"])):
        assert ours.shape == theirs.shape
        assert np.max(np.abs(ours - theirs)) < 1e-9
        # Not a constant model: it tells rows apart.
        assert theirs.min() < 0.2 and theirs.max() > 0.8


@pytest.mark.unit
def test_model_file_is_checked_at_load(tmp_path):
    with pytest.raises(ModelError, match="not a line model file"):
        read_model(b"not a model", "x.npz")
    model = load_model()
    other = tmp_path / "other.npz"
    model.save(other)
    data = dict(np.load(other))
    data["features"] = np.array(FEATURES[:-1])
    np.savez(other, **data)
    with pytest.raises(ModelError, match="other features"):
        read_model(other.read_bytes(), str(other))
    data = dict(np.load(ROOT / "curate" / "linemodel" / "line.npz"))
    data["pages__features"] = np.array(PAGE_FEATURES[1:])  # the page gate's features too
    np.savez(other, **data)
    with pytest.raises(ModelError, match="other features"):
        read_model(other.read_bytes(), str(other))
    with pytest.raises(ModelError, match="cannot read line model"):
        load_model(str(tmp_path / "missing.npz"))


@pytest.mark.unit
def test_saved_model_reads_back_the_same(tmp_path):
    model = load_model()
    path = tmp_path / "copy.npz"
    model.save(path)
    again = read_model(path.read_bytes(), str(path))
    rows = np.random.default_rng(1).random((50, len(FEATURES))) * 5
    assert np.array_equal(model.scores(rows), again.scores(rows))
    assert (again.rule_threshold, again.free_threshold) == (model.rule_threshold, model.free_threshold)
    assert model.gate is not None and again.gate is not None
    assert np.array_equal(model.gate.other.scores(rows), again.gate.other.scores(rows))
    pages = np.random.default_rng(2).random((20, len(PAGE_FEATURES)))
    assert np.array_equal(model.gate.classifier.scores(pages), again.gate.classifier.scores(pages))
    assert again.gate.threshold == model.gate.threshold
    assert (again.gate.other.rule_threshold, again.gate.other.free_threshold) == (
        model.gate.other.rule_threshold, model.gate.other.free_threshold)


@pytest.mark.unit
def test_page_vectors_are_each_pages_own_whatever_the_batch():
    pages = [text_lines(path.read_text(encoding="utf-8")) for path in sorted((NOISE_DEV / "input").glob("*.txt"))[:9]]
    pages.insert(3, [])
    features = [line_features(page, {}) for page in pages]
    batch = page_vectors(np.concatenate(features), [len(page) for page in pages])
    assert batch.shape == (len(pages), len(PAGE_FEATURES))
    for row, rows in zip(batch, features, strict=True):
        assert np.array_equal(row, page_vectors(rows, [len(rows)])[0])
        if len(rows):
            assert np.allclose(row[:len(FEATURES)], rows.mean(axis=0))
            assert np.allclose(row[len(FEATURES):], rows[:, :len(PAGE_FEATURES) - len(FEATURES)].std(axis=0), atol=1e-6)
    assert not batch[3].any()  # a page without lines


def _gated_at(tmp_path: Path, threshold: float) -> str:
    """The built-in model file with its gate sending pages to the other model from ``threshold`` on."""
    model = load_model()
    assert model.gate is not None
    path = tmp_path / f"gate-{threshold}.npz"
    dataclasses.replace(model, gate=PageGate(model.gate.classifier, threshold, model.gate.other)).save(path)
    return str(path)


@pytest.mark.unit
def test_the_page_gate_picks_the_model_and_thresholds_of_each_page(tmp_path):
    """Gate at 0: every page is judged by the model for pages that are not articles, with
    its thresholds; above 1: none is. A page's verdicts do not depend on its batch."""
    pages = [(text_lines(PAGE), {}, set()), (lines_of(DEEP_CUT), {0: {"region"}}, {0})]
    features = pages_features([(lines, groups) for lines, groups, _ in pages])
    rows = np.ones(len(features), dtype=bool)
    model = load_model()
    assert model.gate is not None
    every, never = LineModelRule(model=_gated_at(tmp_path, 0.0)), LineModelRule(model=_gated_at(tmp_path, 1.01))
    sizes = [len(lines) for lines, _, _ in pages]
    scores, (rule_t, free_t) = every.scores_and_thresholds(features, sizes, rows)
    assert np.array_equal(scores, model.gate.other.scores(features))
    assert (rule_t == model.gate.other.rule_threshold).all() and (free_t == model.gate.other.free_threshold).all()
    scores, (rule_t, free_t) = never.scores_and_thresholds(features, sizes, rows)
    assert np.array_equal(scores, model.scores(features))
    assert (rule_t == model.rule_threshold).all() and (free_t == model.free_threshold).all()
    # The shipped gate: each page as it would be judged alone.
    shipped = LineModelRule()
    kinds = shipped.page_kinds(features, sizes)
    alone = np.concatenate([shipped.page_kinds(pages_features([(lines, groups)]), [len(lines)])
                            for lines, groups, _ in pages])
    assert np.array_equal(kinds, alone)
    assert [shipped.judge_pages([page])[0] for page in pages] == shipped.judge_pages(pages)


@pytest.mark.unit
def test_features_read_shape_neighbours_and_rules():
    texts = ["Orchid care at home", "Home", "- first step: water the plant", "Orchid care at home, explained",
             "This sentence ends the way prose does, with enough words to count as a sentence here.",
             "© 2024 Garden Corner | Imprint"]
    rows = line_features(lines_of(texts), {1: {"menus"}, 5: {"legal", "other"}})
    assert rows.shape == (len(texts), len(FEATURES))
    col = {name: k for k, name in enumerate(FEATURES)}
    assert rows[4, col["terminal"]] == 1 and rows[4, col["prose"]] == 1 and rows[1, col["prose"]] == 0
    assert rows[2, col["bullet"]] == 1 and rows[5, col["copyright"]] == 1 and rows[5, col["separator"]] == 1
    assert rows[3, col["title_overlap"]] == 1.0 and rows[4, col["title_overlap"]] == 0.0
    assert rows[1, col["rule_menus"]] == 1 and rows[5, col["rule_legal"]] == 1 and rows[5, col["rule_other"]] == 1
    assert rows[0, col["rule_near_2"]] == 0.5  # of the two lines within two after it, one was hit
    assert rows[0, col["first_line"]] == 1 and rows[1:, col["first_line"]].sum() == 0
    # The same page gives the same rows; an empty page gives none.
    assert np.array_equal(rows, line_features(lines_of(texts), {1: {"menus"}, 5: {"legal", "other"}}))
    assert line_features([], {}).shape == (0, len(FEATURES))


@pytest.mark.unit
def test_batched_features_equal_the_one_page_reference():
    """A batch's rows equal each page's own, computed one page at a time by the reference,
    whatever the batch holds: verdicts never depend on how documents are batched."""
    from reference.line_features import line_features_reference

    pages = [text_lines(path.read_text(encoding="utf-8"))
             for path in sorted((NOISE_DEV / "input").glob("*.txt"))[:40]]
    pages += [text_lines("One line only"), text_lines(PAGE), lines_of(EDGE_LINES), lines_of(EDGE_LINES[::-1])]
    hits = [{k: {"menus", "region"} if k % 4 == 0 else {"other"} for k in range(0, len(p), 3)} for p in pages]
    reference = np.concatenate([line_features_reference(p, h) for p, h in zip(pages, hits, strict=True)])
    batched = pages_features(list(zip(pages, hits, strict=True)))
    assert reference.shape == batched.shape and np.array_equal(reference, batched)
    split = np.concatenate([pages_features(list(zip(pages[i:i + 7], hits[i:i + 7], strict=True)))
                            for i in range(0, len(pages), 7)])
    assert np.array_equal(split, batched)


@pytest.mark.unit
def test_features_are_the_same_bits_whatever_lines_are_worked_out_at_once(monkeypatch):
    """A long page's per-character arrays and words are made LINES_AT_ONCE lines at a time
    (a page of a million lines at once held ~1.5 kB a line of them); a row never depends
    on where the parts are cut, across pages and in the middle of one."""
    from curate.linemodel import features

    pages = [text_lines(path.read_text(encoding="utf-8"))
             for path in sorted((NOISE_DEV / "input").glob("*.txt"))[:12]]
    pages += [lines_of(EDGE_LINES), text_lines(PAGE), text_lines("One line only")]
    hits = [{k: {"menus"} for k in range(0, len(p), 4)} for p in pages]
    batched = pages_features(list(zip(pages, hits, strict=True)))
    for at_once in (1, 5, 64):
        monkeypatch.setattr(features, "LINES_AT_ONCE", at_once)
        assert np.array_equal(pages_features(list(zip(pages, hits, strict=True))), batched), at_once


@pytest.mark.unit
def test_word_characters_are_never_whitespace():
    """pages_features splits a batch's words with str.split after blanking every non-word
    character, which cuts at _TOKEN's word ends (curate/writing.py) only if no word character
    is whitespace."""
    every = "".join(map(chr, range(0x110000)))
    assert not any(ch.isspace() for ch in re.findall(writing.WORD_CHAR, every))


@pytest.mark.unit
def test_tree_walk_equals_the_reference_exactly():
    from reference.tree_walk import scores_reference

    model = load_model()
    reference = np.load(FIXTURES / "linemodel-reference.npz")["rows"]
    rng = np.random.default_rng(7)
    # Rows exactly on a split's threshold (they go left in both walks), one per split.
    inner = model.left != np.arange(model.feature.shape[1])  # a leaf points to itself
    on_splits = np.tile(reference[:1], (int(inner.sum()), 1))
    on_splits[np.arange(len(on_splits)), model.feature[inner]] = model.threshold[inner]
    for rows in (reference, rng.random((300, len(FEATURES))) * 5, on_splits, reference[:1], reference[:0]):
        assert np.array_equal(model.scores(rows), scores_reference(model, rows))


@pytest.mark.unit
def test_scores_in_slices_equal_one_walk_of_all_rows():
    """A page's rows are scored SCORE_ROWS at a time (memory, cache): each row's score is
    the one the reference gives it, for any count of rows around a slice's end, and
    ``at`` scores just those rows."""
    from reference.tree_walk import scores_reference

    from curate.linemodel.model import SCORE_ROWS

    model = load_model()
    rows = np.random.default_rng(11).random((2 * SCORE_ROWS + 5, len(FEATURES))) * 5
    expected = scores_reference(model, rows)
    for n in (SCORE_ROWS - 1, SCORE_ROWS, SCORE_ROWS + 1, 2 * SCORE_ROWS + 5):
        assert np.array_equal(model.scores(rows[:n]), expected[:n])
    at = np.flatnonzero(np.arange(len(rows)) % 3 != 1)
    assert np.array_equal(model.scores(rows, at), expected[at])
    assert np.array_equal(model.scores(rows, at[:0]), expected[:0])


@pytest.mark.unit
def test_rule_groups_name_built_in_files():
    assert rule_group("built-in: menus.toml") == "menus"
    assert rule_group("--rules #1: menus.toml") == "other"
    assert rule_group("built-in: unknown.toml") == "other"
    assert set(RULE_GROUPS) >= {"region", "cookies", "other"}


@pytest.mark.unit
def test_long_lines_need_the_long_threshold():
    """With every threshold at 0 every line would go; the long-line threshold above 1
    keeps each line of twelve words or more that no rule hit."""
    rule = LineModelRule(threshold=0.0, rule_threshold=0.0, long_threshold=1.01)
    texts = ["Short line", "one two three four five six seven eight nine ten eleven twelve", "Another"]
    removed = rule.judge(lines_of(texts), {}, set())
    assert set(removed) == {0, 2}
    # A line only a detector hit is judged by rule_threshold, long or not.
    assert set(rule.judge(lines_of(texts), {1: {"region"}}, {1})) == {0, 1, 2}


@pytest.mark.unit
def test_a_vouched_line_needs_the_long_threshold_as_prose_does():
    """The page title the article region keeps is judged as prose is: at long_threshold."""
    rule = LineModelRule(threshold=0.0, rule_threshold=0.0, long_threshold=1.01)
    texts = ["Short line", "Thread title among buttons", "Another"]
    pages = [(lines_of(texts), {}, set())]
    assert set(rule.judge_pages(pages)[0]) == {0, 1, 2}
    assert set(rule.judge_pages(pages, [{1}])[0]) == {0, 2}


# Two pages: on the first the article region removes three of four prose lines (a listing
# read as one article), on the second one short prose line of four.
SENTENCE = "The new bridge over the river opened on Monday after three years of work on its piers."
DEEP_CUT = [f"Item {k}: {SENTENCE}" for k in range(4)]
SHALLOW_CUT = ["Title of the story", *(f"{SENTENCE} Part {k}." for k in range(3)), "A short line that ends here."]


def _region_pages() -> list[tuple[list[Line], dict[int, set[str]], set[int]]]:
    deep = (lines_of(DEEP_CUT), {0: {"region"}, 1: {"region"}, 2: {"region", "keywords"}}, {0, 1, 2})
    shallow = (lines_of(SHALLOW_CUT), {4: {"region"}}, {4})
    return [deep, shallow]


@pytest.mark.unit
def test_region_verdicts_are_doubtful_where_the_region_cuts_most_of_the_prose():
    rule = LineModelRule()
    pages = _region_pages()
    features = pages_features([(lines, groups) for lines, groups, _ in pages])
    doubtful = rule.doubtful_region(features, [len(lines) for lines, _, _ in pages])
    # Lines 0 and 1 of the first page: only the region hit them, and it cut 3 of its 4
    # prose lines; line 2 another rule hit too; the second page lost under 40% of its prose.
    assert doubtful.tolist() == [True, True, False, False] + [False] * 5
    # A page's verdict does not depend on the pages batched with it.
    alone = rule.doubtful_region(pages_features([(pages[0][0], pages[0][1])]), [4])
    assert alone.tolist() == doubtful[:4].tolist()
    assert not LineModelRule(region_share=1.0).doubtful_region(features, [4, 5]).any()


@pytest.mark.unit
def test_on_a_page_the_gate_calls_no_article_a_sentence_after_the_article_is_doubtful():
    """The second page lost a short sentence and a cart line after its article to the
    region, and a signature inside it: a small share of its prose. Called something other
    than an article by the page gate, the sentence after the article is doubtful all the
    same; the cart line (not prose) and the signature (inside the article) are not."""
    deep, _ = _region_pages()
    body = [*SHALLOW_CUT[:2], "Running Debian on everything that has a CPU.", *SHALLOW_CUT[2:], "Cart (0)"]
    pages = [deep, (lines_of(body), {2: {"region"}, 5: {"region"}, 6: {"region"}}, {2, 5, 6})]
    features = pages_features([(lines, groups) for lines, groups, _ in pages])
    sizes = [len(lines) for lines, _, _ in pages]
    other = np.repeat([False, True], sizes)
    first = [True, True, False, False]  # as an article: most of its prose cut
    after = [False] * 5 + [True, False]
    assert LineModelRule().doubtful_region(features, sizes, other).tolist() == [*first, *after]
    assert LineModelRule(region_prose_other=False).doubtful_region(features, sizes, other).tolist() == \
        [*first, *[False] * 7]
    # Without the pages' kinds (no gate), the share alone decides; and a page with no
    # lines in the batch shifts nothing.
    assert LineModelRule().doubtful_region(features, sizes).tolist() == [*first, *[False] * 7]
    assert LineModelRule().doubtful_region(features, [4, 0, 7], other).tolist() == [*first, *after]


@pytest.mark.unit
def test_doubtful_region_lines_need_the_region_threshold():
    """With every other threshold at 0 every line would go; a region threshold above 1
    keeps the lines only the region hit on the page it cut most of."""
    pages = _region_pages()
    strict = LineModelRule(threshold=0.0, rule_threshold=0.0, long_threshold=0.0, region_threshold=1.01)
    assert [set(removed) for removed in strict.judge_pages(pages)] == [{2, 3}, {0, 1, 2, 3, 4}]
    off = LineModelRule(threshold=0.0, rule_threshold=0.0, long_threshold=0.0, region_threshold=1.01,
                        region_share=1.0)
    assert [set(removed) for removed in off.judge_pages(pages)] == [{0, 1, 2, 3}, {0, 1, 2, 3, 4}]


@pytest.mark.unit
def test_the_region_vouches_for_the_page_title_it_keeps():
    """The title is the first line no rule removed, wherever it is on the page."""
    from curate.detectors import ArticleRegion

    texts = ["Skip to content", "Why my filter rattles after cleaning", "Reply", *(
        f"Post {k}: the impeller sat the wrong way round after I cleaned it, and turning it fixed the noise."
        for k in range(3))]
    found, vouched = ArticleRegion().hits_and_vouched(lines_of(texts), frozenset({0, 2}))
    assert vouched == {1} and 1 not in found
    assert ArticleRegion(keep_title=False).hits_and_vouched(lines_of(texts), frozenset({0, 2}))[1] == set()


def run_page(tmp_path: Path, *args: str, text: str = PAGE) -> tuple[list[dict], str]:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    (folder / "page.txt").write_text(text, encoding="utf-8")
    out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
    result = in_process("run", str(folder), "-o", str(out), "-q", "--no-project-rules", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    removed = [json.loads(x) for x in (out / "removed.jsonl").read_text(encoding="utf-8").splitlines()]
    kept = "".join(json.loads(x)["text"] for f in sorted((out / "corpus").glob("*.jsonl"))
                   for x in f.read_text(encoding="utf-8").splitlines())
    return removed, kept


# A page of noise-dev whose sidebar lines no rule names (a widget heading, a blog's tagline).
MODEL_PAGE = "1337kultur-de-picard-654f1f"


def test_model_removes_what_no_rule_names_and_audits_its_score(tmp_path):
    page = (NOISE_DEV / "input" / f"{MODEL_PAGE}.txt").read_text(encoding="utf-8")
    removed, kept = run_page(tmp_path, text=page)
    free = load_model().free_threshold
    only_model = [r for r in removed if r["reason"] == "model:line-model"]
    assert only_model, "the model removed no line that no rule hit"
    assert all(free <= r["noise_score"] <= 1.0 for r in only_model)
    # Detector verdicts the model confirmed keep the detector's name, with the score.
    confirmed = [r for r in removed if "noise_score" in r and r["reason"] != "model:line-model"]
    assert confirmed and all(r["reason"].startswith("rule:") for r in confirmed)
    gold = json.loads((NOISE_DEV / "gold" / f"{MODEL_PAGE}.json").read_text(encoding="utf-8"))
    assert all(" ".join(snippet.split()) in " ".join(kept.split()) for snippet in gold["keep"])
    # Without the model, no rule names those lines: they stay, and no score is written.
    removed_without, without = run_page(tmp_path, "--disable", "line-model", text=page)
    assert all(r["removed"] in without for r in only_model)
    assert all("noise_score" not in r for r in removed_without)


def rule_folder(tmp_path: Path, toml: str) -> Path:
    """A folder for --rules holding one rule file with ``toml``."""
    rules = tmp_path / "my-rules"
    rules.mkdir()
    (rules / "mine.toml").write_text(toml, encoding="utf-8")
    return rules


def test_user_rules_are_final_and_models_are_swappable(tmp_path):
    rules = rule_folder(tmp_path, r'''
[[rule]]
name = "water-tips"
reason = "a tip we do not want"
pattern = "^Water the plant"
examples.match = ["Water the plant a day before."]
examples.keep = ["Keep the plant in the shade."]
''')
    removed, kept = run_page(tmp_path, "--rules", str(rules))
    by_text = {r["removed"][:20]: r for r in removed}
    # The model keeps this sentence; a rule of the user's own is final all the same.
    assert by_text["Water the plant a da"]["reason"] == "rule:water-tips"
    assert "noise_score" not in by_text["Water the plant a da"]
    assert "Repotting an orchid every two years" in kept
    # Another model file, in a rule of the user's own in place of the built-in one.
    other = ROOT / "tools" / "linemodel-folds" / "fold0.npz"
    builtin_toml = (ROOT / "curate" / "rules" / "model.toml").read_text(encoding="utf-8")
    swapped = re.sub(r"(?m)^params = \{.*\}$", f'params = {{ model = "{other}" }}',
                     builtin_toml.replace('name = "line-model"', 'name = "my-model"'))
    assert swapped.count("my-model") == 1 and str(other) in swapped
    models = rules / "models"
    models.mkdir()
    (models / "model.toml").write_text(swapped, encoding="utf-8")
    folder = tmp_path / "in"
    out = tmp_path / "swapped"
    result = in_process("run", str(folder), "-o", str(out), "-q", "--no-project-rules", "--rules", str(models),
                         "--disable", "line-model", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["settings"]["models"] == [{"rule": "my-model", "file": str(other),
                                              "sha256": hashlib.sha256(other.read_bytes()).hexdigest()}]
    # A model file that is not there is the rule file's error, named, without a traceback.
    (models / "model.toml").write_text(swapped.replace(str(other), str(tmp_path / "missing.npz")), encoding="utf-8")
    result = in_process("run", str(folder), "-o", str(tmp_path / "bad"), "-q", "--no-project-rules",
                         "--rules", str(models), "--disable", "line-model", cwd=tmp_path)
    assert result.returncode != 0
    assert "missing.npz" in result.stderr and "model.toml" in result.stderr and "Traceback" not in result.stderr


def test_a_rule_that_is_not_final_is_weighed_by_the_model(tmp_path):
    """final = false: the model keeps the rule's hit on a sentence of the article and
    confirms it on a menu line, with its score, under the rule's own reason; without the
    model the rule removes every hit, as any rule does."""
    rules = rule_folder(tmp_path, r'''
[[rule]]
name = "plant-word"
reason = "a word our menus use"
pattern = "\\bplants?\\b"
final = false
examples.match = ["Indoor plants"]
examples.keep = ["A garden of trees."]
''')
    # Two more paragraphs: the hit sentence is then inside the article, not at its end.
    longer = PAGE.replace("Ten houseplants", (
        "Set the orchid in a pot only a little larger than the old one, with fresh bark around the roots, and press "
        "it down gently.\n\nKeep it out of direct sun for a week and water it sparingly until new roots show at the "
        "rim of the pot.\n\nTen houseplants"))
    removed, kept = run_page(tmp_path, "--rules", str(rules), text=longer)
    by_text = {r["removed"]: r for r in removed}
    # The menu line goes under the rule's reason, with the model's score beside it.
    assert by_text["Indoor plants"]["reason"] == "rule:plant-word"
    assert "noise_score" in by_text["Indoor plants"]
    # The article's sentences that hold the word stay.
    assert "Water the plant a day before" in kept
    removed_without, without = run_page(tmp_path, "--rules", str(rules), "--disable", "line-model", text=longer)
    assert "Water the plant a day before" not in without
    assert [r["reason"] for r in removed_without if r["removed"].startswith(("Indoor plants", "Water the plant"))] == [
        "rule:plant-word", "rule:plant-word"]


def test_the_items_of_a_list_share_one_verdict():
    """A run of list items that no rule hit gets the run's median score: one ingredient
    scored apart from its siblings is not cut out of its list; other lines keep theirs."""
    texts = ["Ingredients", "400 g flour", "4 eggs", "1 tsp salt", "Method", "2 eggs", "3 eggs"]
    lines = [Line(k, t, t, Origin(k + 1, 0, len(t)), False) for k, t in enumerate(texts)]
    scores = np.array([0.7, 0.6, 0.1, 0.2, 0.4, 0.9, 0.9])
    free = np.ones(len(lines), dtype=bool)
    _share_list_scores(scores, [lines[:4], lines[4:]], free)
    assert scores.tolist() == [0.7, 0.2, 0.2, 0.2, 0.4, 0.9, 0.9]  # the second page's two items are no list
    scores = np.array([0.7, 0.6, 0.1, 0.2])
    _share_list_scores(scores, [lines[:4]], np.array([True, True, False, True]))  # a rule hit "4 eggs"
    assert scores.tolist() == [0.7, 0.6, 0.1, 0.2]


def test_a_menu_run_inside_the_article_shares_its_verdict():
    """Adjacent lines only a menu detector hit (the article region kept them) get the run's
    median score; a line another rule hit, or one outside the article (the region hit it
    too), ends the run or keeps its own score."""
    texts = ["Key features", "Waterproof", "Bluetooth 5.3", "USB-C", "Made in Portugal"]
    lines = [Line(k, t, t, Origin(k + 1, 0, len(t)), False) for k, t in enumerate(texts)]
    menus = {k: {"menus"} for k in range(5)}
    scores = np.array([0.8, 0.3, 0.2, 0.05, 0.1])
    _share_menu_scores(scores, [(lines, menus, set(range(5)))])
    assert scores.tolist() == [0.2, 0.2, 0.2, 0.2, 0.2]
    scores = np.array([0.8, 0.3, 0.2, 0.05, 0.1])
    _share_menu_scores(scores, [(lines, {**menus, 2: {"menus", "region"}}, set(range(5)))])
    assert scores.tolist() == pytest.approx([0.55, 0.55, 0.2, 0.075, 0.075])  # two runs of two around line 2
    scores = np.array([0.8, 0.3, 0.2, 0.05, 0.1])
    _share_menu_scores(scores, [(lines[:1], menus, {0}), (lines[1:], menus, {1, 2, 3, 4})])
    assert scores.tolist() == pytest.approx([0.8, 0.15, 0.15, 0.15, 0.15])  # a page's run ends with its page


@pytest.mark.unit
def test_a_menu_outside_the_article_loses_the_one_end_the_model_kept():
    """A run of 4+ lines only a menu detector and the region hit, all removed but its first
    or last line: that line goes too (its score raised to its cut). Two kept, a kept line
    inside the run, a shorter run or a run inside the article change nothing."""
    texts = ["Home", "News", "Sport", "Business", "Culture"]
    lines = [Line(k, t, t, Origin(k + 1, 0, len(t)), False) for k, t in enumerate(texts)]
    outside = {k: {"menus", "region"} for k in range(5)}
    cut = np.full(5, 0.15)

    def closed(scores: list[float], groups=outside, page=lines) -> list[float]:
        found = np.array(scores)
        _close_menu_runs(found, cut[:len(page)], [(page, groups, set(groups))])
        return found.tolist()

    assert closed([0.9, 0.8, 0.7, 0.9, 0.1]) == [0.9, 0.8, 0.7, 0.9, 0.15]  # the last item
    assert closed([0.05, 0.8, 0.7, 0.9, 0.6]) == [0.15, 0.8, 0.7, 0.9, 0.6]  # the first
    assert closed([0.9, 0.8, 0.7, 0.1, 0.05]) == [0.9, 0.8, 0.7, 0.1, 0.05]  # two kept
    assert closed([0.9, 0.8, 0.1, 0.9, 0.6]) == [0.9, 0.8, 0.1, 0.9, 0.6]  # kept inside the run
    assert closed([0.9, 0.8, 0.1], {k: {"menus", "region"} for k in range(3)}, lines[:3]) == [0.9, 0.8, 0.1]
    assert closed([0.9, 0.8, 0.7, 0.9, 0.1], {k: {"menus"} for k in range(5)}) == [0.9, 0.8, 0.7, 0.9, 0.1]


def test_the_line_that_announces_a_list_shares_its_verdict():
    """"You will need:" goes or stays with the list under it; a heading that does not end
    in a colon, or a line a rule hit, keeps its own score."""
    texts = ["You will need:", "- tyre levers", "- a new inner tube", "- a pump"]
    lines = [Line(k, t, t, Origin(k + 1, 0, len(t)), False) for k, t in enumerate(texts)]
    scores = np.array([0.8, 0.1, 0.2, 0.3])
    _share_list_scores(scores, [lines], np.ones(4, dtype=bool))
    assert scores.tolist() == [0.2, 0.2, 0.2, 0.2]
    scores = np.array([0.8, 0.1, 0.2, 0.3])
    _share_list_scores(scores, [lines], np.array([False, True, True, True]))  # a rule hit the intro
    assert scores.tolist() == [0.8, 0.2, 0.2, 0.2]
    heading = [Line(0, "Equipment", "Equipment", Origin(1, 0, 9), False), *lines[1:]]
    scores = np.array([0.8, 0.1, 0.2, 0.3])
    _share_list_scores(scores, [heading], np.ones(4, dtype=bool))
    assert scores.tolist() == [0.8, 0.2, 0.2, 0.2]


def test_the_lines_of_a_wrapped_paragraph_share_one_verdict():
    """A paragraph broken into lines at a width is one paragraph: its short last line is no
    more noise than the rest (the model scored the line before a footer as noise)."""
    texts = ["He kept to himself for a month. Then one Sunday he stood up in the",
             "middle of the sermon and walked out of the church, and that was the", "beginning of the trouble.",
             "Next chapter"]
    lines = [Line(k, t, t, Origin(k + 1, 0, len(t)), False) for k, t in enumerate(texts)]
    scores = np.array([0.1, 0.2, 0.95, 0.9])
    _share_list_scores(scores, [lines], np.ones(4, dtype=bool))
    assert scores.tolist() == [0.2, 0.2, 0.2, 0.9]
