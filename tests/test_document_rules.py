"""Document rules in the unit tier: each statistic equals the published definition
(tests/reference/doc_heuristics.py) on generated documents, each built-in rule passes its
own examples and has the published threshold, and rule files are checked at load."""

from __future__ import annotations

import math
import re
import tomllib
from functools import cache
from importlib import resources

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import doc_heuristics as ref

from curate.docstats import STATISTICS, Range, view_of
from curate.document import Document, Line, Origin
from curate.errors import RuleError
from curate.rules import example_failures, keep_lang_rule, load_rules, parse_rule_file
from curate.stages.documents import judge

pytestmark = pytest.mark.unit

PACKS = ("gopher-quality", "gopher-repetition", "c4", "fineweb", "datatrove-readings")
WORDS = ["the", "be", "to", "of", "and", "that", "have", "with", "The", "And", "river", "bridge", "a", "I",
         "internationalization", "x", "2024", "3.5", "1,000", "lorem", "ipsum", "Lorem"]
MARKS = [",", ".", "!", "?", "...", "…", ";", "#", "-", "•", "{"]

token = st.one_of(st.sampled_from(WORDS), st.sampled_from(MARKS))


@st.composite
def line_tokens(draw) -> list[str]:
    tokens = draw(st.lists(token, min_size=1, max_size=12))
    # Two glued marks in a row ("." then "...") read as one longer mark: not a case to generate.
    out = [tokens[0]]
    for t in tokens[1:]:
        if not (t in ref.GLUED and out[-1] in ref.GLUED):
            out.append(t)
    return out


# Few distinct lines and paragraphs, so that repeats (what the repetition rules count) are common.
docs = st.lists(st.lists(st.one_of(line_tokens(), st.sampled_from([["the", "river", "."], ["-", "x"]])),
                         min_size=1, max_size=4), min_size=1, max_size=5)


def _view(doc: ref.Doc):
    texts, breaks = [], []
    for para in doc:
        for k, line in enumerate(para):
            texts.append(ref.line_text(line))
            breaks.append(k == len(para) - 1)
    return view_of(texts, breaks)


REFERENCE = {
    "words": ref.word_count,
    "mean_word_length": ref.mean_word_length,
    "hash_ratio": lambda d: ref.symbol_to_word_ratio(d, "#"),
    "ellipsis_ratio": lambda d: ref.symbol_to_word_ratio(d, "..."),
    "bullet_lines": ref.bullet_lines,
    "ellipsis_lines": ref.ellipsis_lines,
    "alpha_words": ref.alphabetic_words,
    "alpha_tokens": ref.alphabetic_tokens,
    "stopwords": ref.stop_words,
    "dup_line_fraction": lambda d: ref.duplicate_fraction(ref.lines(d)),
    "dup_line_char_fraction": lambda d: ref.duplicate_char_fraction(ref.lines(d), d),
    "dup_paragraph_fraction": lambda d: ref.duplicate_fraction(ref.paragraphs(d)),
    "dup_paragraph_char_fraction": lambda d: ref.duplicate_char_fraction(ref.paragraphs(d), d),
    "punct_lines": ref.punctuated_lines,
    "short_lines": ref.short_lines,
    "char_duplicate_ratio": ref.duplicate_line_chars_of_lines,
    "newline_ratio": ref.newlines_per_token,
    "curly_brackets": ref.curly_brackets,
    "lorem_ipsum": ref.lorem_ipsum,
}


@settings(deadline=None)  # examples: the profile's (conftest: 40 in CI, 500 with HYPOTHESIS_PROFILE=local)
@given(docs)
def test_every_statistic_equals_the_published_definition(doc):
    view = _view(doc)
    assert view.text == ref.text(doc)
    for stat, reference in REFERENCE.items():
        assert math.isclose(STATISTICS[stat].measure(view, {}), reference(doc), abs_tol=1e-12), stat
    for n in (2, 3, 4):
        assert math.isclose(STATISTICS["top_ngram_char_fraction"].measure(view, {"n": n}),
                            ref.top_ngram_char_fraction(doc, n), abs_tol=1e-12), n
    for n in range(5, 11):
        assert math.isclose(STATISTICS["dup_ngram_char_fraction"].measure(view, {"n": n}),
                            ref.duplicate_ngram_char_fraction(doc, n), abs_tol=1e-12), n


def test_the_reference_covers_every_statistic_without_a_language():
    covered = set(REFERENCE) | {"top_ngram_char_fraction", "dup_ngram_char_fraction"}
    # sentences is C4's count of sentence ends, tested below; language_score is the language stage's.
    assert set(STATISTICS) - covered == {"sentences", "language_score"}


def test_sentences_counts_sentence_ends_before_a_space_or_the_end():
    view = view_of(['He said "Stop." Then: 3.5 km. Really?! (Yes.) e.g.x', "Last one!"], [False, True])
    assert STATISTICS["sentences"].measure(view, {}) == 5


# Thresholds as published: Gopher (Rae et al. 2021, A1.1 and table A1), C4 (Raffel et al.
# 2020, 2.2), FineWeb (Penedo et al. 2024, 3.3; the list ratio is datatrove's).
PUBLISHED = {
    "gopher-word-count": ("words", 50, 100_000),
    "gopher-mean-word-length": ("mean_word_length", 3, 10),
    "gopher-hash-ratio": ("hash_ratio", None, 0.1),
    "gopher-ellipsis-ratio": ("ellipsis_ratio", None, 0.1),
    "gopher-bullet-lines": ("bullet_lines", None, 0.9),
    "gopher-ellipsis-lines": ("ellipsis_lines", None, 0.3),
    "gopher-alpha-words": ("alpha_words", 0.8, None),
    "gopher-alpha-tokens": ("alpha_tokens", 0.8, None),
    "gopher-stopwords": ("stopwords", 2, None),
    "gopher-dup-lines": ("dup_line_fraction", None, 0.3),
    "gopher-dup-paragraphs": ("dup_paragraph_fraction", None, 0.3),
    "gopher-dup-line-chars": ("dup_line_char_fraction", None, 0.2),
    "gopher-dup-paragraph-chars": ("dup_paragraph_char_fraction", None, 0.2),
    "gopher-top-2gram": ("top_ngram_char_fraction", None, 0.20),
    "gopher-top-3gram": ("top_ngram_char_fraction", None, 0.18),
    "gopher-top-4gram": ("top_ngram_char_fraction", None, 0.16),
    **{f"gopher-dup-{n}gram": ("dup_ngram_char_fraction", None, round(0.15 - (n - 5) * 0.01, 2))
       for n in range(5, 11)},
    "c4-sentences": ("sentences", 5, None),
    "c4-lorem-ipsum": ("lorem_ipsum", None, 0),
    "c4-curly-bracket": ("curly_brackets", None, 0),
    "fineweb-punct-lines": ("punct_lines", 0.12, None),
    "fineweb-short-lines": ("short_lines", None, 0.67),
    "fineweb-dup-line-chars": ("char_duplicate_ratio", None, 0.1),
    "fineweb-list-ratio": ("newline_ratio", None, 0.3),
}


@cache
def _builtin_rules() -> dict:
    # Loaded once for the module; each rule's examples are checked by its own test below.
    return {r.name: r for r in load_rules(check_examples=False).rules}


def test_every_built_in_document_rule_has_the_published_threshold_and_is_off():
    rules = {name: r for name, r in _builtin_rules().items() if r.scope == "document"}
    assert set(rules) == set(PUBLISHED)
    for name, (stat, low, high) in PUBLISHED.items():
        rule = rules[name]
        assert (rule.stat, rule.low, rule.high) == (stat, low, high), name
        assert not rule.enabled and rule.pack in PACKS, name
    assert dict(rules["gopher-top-3gram"].params) == {"n": 3}
    assert dict(rules["gopher-dup-7gram"].params) == {"n": 7}
    assert dict(rules["fineweb-short-lines"].params) == {"chars": 30}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_each_built_in_document_rule_passes_its_examples(name):
    rule = _builtin_rules()[name]
    assert rule.examples_match and rule.examples_keep
    assert example_failures(rule) == []


def test_packs_are_turned_on_by_name_and_a_rule_can_still_be_turned_off():
    ruleset = load_rules(enabled=("gopher-quality", "c4-sentences"), disabled=("gopher-stopwords",),
                         check_examples=False)
    on = {r.name for r in ruleset.document_rules}
    assert {"gopher-word-count", "gopher-alpha-words", "c4-sentences"} <= on
    assert "gopher-stopwords" not in on and "gopher-dup-lines" not in on and "c4-lorem-ipsum" not in on
    assert [r.name for r in ruleset.document_rules] == [r.name for r in ruleset.rules
                                                        if r.scope == "document" and r.enabled]
    # Line rules never see document rules, and the default set has none on.
    assert all(r.scope != "document" for r in ruleset.in_order)
    assert load_rules(check_examples=False).document_rules == []


def test_an_unknown_pack_names_the_known_ones():
    with pytest.raises(RuleError, match=r"no pack or rule named gopher; packs: c4, datatrove-readings, fineweb, "
                                        r"gopher-quality, gopher-repetition"):
        load_rules(enabled=("gopher",))


def _doc(*texts: str, language: str | None = "en") -> Document:
    lines = [Line(i, t, t, Origin(i + 1, 0, len(t)), False) for i, t in enumerate(texts)]
    return Document("d", "s", None, lines, language=language, language_score=0.9, lines_read=len(texts))


def test_the_first_rule_that_fires_drops_every_kept_line_with_its_name():
    ruleset = load_rules(enabled=("gopher-quality",), check_examples=False)
    doc = _doc("- one", "- two")
    judge(doc, ruleset.document_rules)
    assert doc.lines == []
    assert [(r.stage, r.reason) for r in doc.removed] == [("documents", "doc:gopher-word-count")] * 2
    assert doc.removed[0].detail == "fewer than 50 or more than 100,000 words (Gopher) (words = 2 < min 50)"


def test_keep_lang_keeps_listed_languages_and_drops_und_unless_listed():
    rule = keep_lang_rule(("en", "de"))
    kept, other, und = _doc("Hello there."), _doc("Bonjour.", language="fr"), _doc("12 34", language="und")
    for doc in (kept, other, und):
        judge(doc, [rule])
    assert kept.lines and not other.lines and not und.lines
    assert other.removed[0].reason == "doc:keep-lang" and "labelled fr" in other.removed[0].detail
    with_und = _doc("12 34", language="und")
    judge(with_und, [keep_lang_rule(("en", "und"))])
    assert with_und.lines
    with pytest.raises(RuleError, match="'english' is not a language code"):
        keep_lang_rule(("english",))
    with pytest.raises(RuleError, match=r"'en\\n' is not a language code"):  # `$` took the newline
        keep_lang_rule(("en\n",))


RULE = """
[[rule]]
name = "short-doc"
scope = "document"
reason = "too short"
stat = "words"
{extra}
examples.match = ["two words"]
examples.keep = ["one two three four five"]
"""


@pytest.mark.parametrize(("extra", "fault"), [
    ("min = 3", None),
    ("", "give 'min', 'max' or both"),
    ("min = 5\nmax = 1", "'min' = 5 is above 'max' = 1, so every document would be dropped (stat 'words' is a "
                         "count of 0 or more); the rule keeps what lies between them: e.g. min = 1 and max = 5"),
    ("min = 0.5\nmax = 0.25", "'min' = 0.5 is above 'max' = 0.25"),
    # A bound past the statistic's range: never fires, or drops every document, silently
    ("min = -3", "'min' = -3 is outside what stat 'words' measures (words (tokens with a letter or digit)): a "
                 "count of 0 or more, so the rule would never fire; e.g. min = 50"),
    ("max = -1", "'max' = -1 is outside what stat 'words' measures"),
    ("min = -0.5\nmax = 40", "'min' = -0.5 is outside"),
    ('min = "3"', "'min' must be a number"),
    # inf and nan are TOML numbers, and an integer of 400 digits is past any float: each
    # was an OverflowError (int(inf) in the verdict's message), or a rule that never fires
    ("min = inf", "'min' must be a finite number, not inf"),
    ("max = -inf", "'max' must be a finite number, not -inf"),
    ("max = +inf", "'max' must be a finite number, not inf"),
    ("min = nan", "'min' must be a finite number, not nan"),
    ("min = 1" + "0" * 400, "'min' must be a finite number, not an integer that large"),
    ("min = 3\nparams = { n = 2 }", "stat 'words' takes no parameter 'n'"),
    ("min = 3\npattern = 'x'", "'pattern' does not apply to a document rule"),
    ('min = 3\nlanguages = ["en"]', "'languages' goes with stat = \"language\""),
])
def test_document_rule_faults_name_file_rule_and_fault(extra, fault):
    text = RULE.format(extra=extra)
    if fault is None:
        [rule] = parse_rule_file("x.toml", text)
        assert rule.scope == "document" and rule.low == 3 and example_failures(rule) == []
        return
    with pytest.raises(RuleError, match=r"x\.toml") as err:
        parse_rule_file("x.toml", text)
    assert "short-doc" in str(err.value) and fault in str(err.value)


@settings(deadline=None)
@given(docs)
def test_every_statistic_declares_a_range_its_values_keep_to(doc):
    """Each statistic says what values it takes (docstats.Range) where it is defined, so
    that rules.py refuses a bound outside them; a new statistic cannot leave it out, and
    what it measures on generated documents lies within what it declares."""
    view = _view(doc)
    for stat, info in STATISTICS.items():
        assert isinstance(info.range, Range), stat
        sizes = ((2, 3, 4) if stat.startswith("top") else range(5, 11)) if "n" in info.required else (None,)
        for n in sizes:  # the n-grams the built-in packs bound
            value = info.measure(view, {"n": n} if n else {})
            assert info.range.holds(value), (stat, n, value, str(info.range))


def test_the_ranges_are_those_of_what_each_statistic_computes():
    shares = {stat for stat, info in STATISTICS.items() if (info.range.low, info.range.high) == (0, 1)}
    assert shares == {"bullet_lines", "ellipsis_lines", "alpha_words", "alpha_tokens", "dup_line_fraction",
                      "dup_line_char_fraction", "dup_paragraph_fraction", "dup_paragraph_char_fraction",
                      "dup_ngram_char_fraction", "punct_lines", "short_lines", "char_duplicate_ratio",
                      "language_score"}
    assert all(info.range.low == 0 for info in STATISTICS.values())
    # Past 1, though named fractions: overlapping n-grams, '#' inside a token, paragraph breaks
    for stat, text, n in (("top_ngram_char_fraction", "a a a a a a a a", 2), ("hash_ratio", "a#b#c", None),
                          ("newline_ratio", "a\n\nb", None)):
        view = view_of(text.replace("\n\n", "\n").split("\n"), [True] * (text.count("\n\n") + 1))
        assert STATISTICS[stat].measure(view, {"n": n}) >= 1, stat


@pytest.mark.parametrize("stat", sorted(STATISTICS))
def test_a_bound_outside_a_statistics_range_is_refused_and_its_edges_load(stat):
    info = STATISTICS[stat]
    params = "params = { n = 2 }" if info.required else ""
    rule = f'[[rule]]\nname = "r"\nreason = "r"\nscope = "document"\nstat = "{stat}"\n{params}\nBOUND\n'
    rule += 'examples.match = ["a"]\n'
    low, high = info.range.low, info.range.high
    edges = [f"min = {low}", *([f"max = {high}"] if high is not None else []), f"max = {info.range.example}"]
    for bound in edges:
        assert parse_rule_file("x.toml", rule.replace("BOUND", bound))[0].stat == stat
    outside = {"min = -3": "never fire", "max = -0.5": "every document would be dropped"}
    if high is not None:
        outside |= {"max = 7": "never fire", "min = 1.5": "every document would be dropped"}
    for bound, effect in outside.items():
        key, value = bound.split(" = ")
        with pytest.raises(RuleError) as err:
            parse_rule_file("x.toml", rule.replace("BOUND", bound))
        assert str(err.value).startswith(f"x.toml: rule 'r': '{key}' = {value} is outside what stat '{stat}' "
                                         f"measures ({info.about}): {info.range}, so ")
        assert effect in str(err.value) and f"e.g. {key} = {info.range.example!r}" in str(err.value)


def test_every_built_in_pack_loads_with_its_bounds_within_range():
    ruleset = load_rules(enabled=PACKS, check_examples=False)
    assert {r.pack for r in ruleset.document_rules} == set(PACKS)
    for rule in ruleset.document_rules:
        allowed = STATISTICS[rule.stat].range
        assert all(allowed.holds(b) for b in (rule.low, rule.high) if b is not None), rule.name


def test_an_unknown_statistic_lists_the_known_ones():
    with pytest.raises(RuleError, match=r"stat = one of: words, mean_word_length, .*, language"):
        parse_rule_file("x.toml", RULE.replace('stat = "words"', 'stat = "wordz"').format(extra="min = 1"))


def test_a_rule_that_fails_its_examples_is_refused_at_load(tmp_path):
    (tmp_path / "r.toml").write_text(RULE.format(extra="min = 10"))
    with pytest.raises(RuleError, match=r"examples.keep #1 matches, but must not"):
        load_rules([tmp_path], builtin=False)


def test_a_language_rule_in_a_file_checks_its_examples_with_the_language_stage():
    text = """
[[rule]]
name = "only-german"
scope = "document"
reason = "not German"
stat = "language"
languages = ["de"]
examples.match = ["The river rises in the hills above the town and runs south through farmland."]
examples.keep = ["Der Fluss entspringt in den Hügeln oberhalb der Stadt und fließt nach Süden."]
"""
    [rule] = parse_rule_file("x.toml", text)
    assert rule.languages == ("de",) and example_failures(rule) == []


def test_pack_files_hold_only_document_rules_with_a_pack():
    for name in ("gopher-quality", "gopher-repetition", "c4", "fineweb"):
        data = tomllib.loads((resources.files("curate") / "rules" / f"{name}.toml").read_text("utf-8"))
        packs = {name, "datatrove-readings"} if name == "gopher-quality" else {name}
        assert {(r["scope"], r["enabled"]) for r in data["rule"]} == {("document", False)}
        assert {r["pack"] for r in data["rule"]} == packs


def test_tokens_split_as_spacys_english_tokenizer_does_on_common_cases():
    # spacy.blank("en") (spaCy 3.8, in bench/.venv-peers) gives these tokens for this line
    # but one: it keeps "it's" whole before "--", which curate splits as everywhere else.
    text = ("Don't stop well-known 3.14 1,000 e-mail... (hi) ### foo#bar http://x.com/a?b=1 “quote” "
            "it's--fine CVE-2025 REDIS_HOST")
    assert view_of([text], [True]).tokens == [
        "Do", "n't", "stop", "well", "-", "known", "3.14", "1,000", "e", "-", "mail", "...", "(", "hi", ")",
        "#", "#", "#", "foo#bar", "http://x.com/a?b=1", "“", "quote", "”", "it", "'s", "--", "fine",
        "CVE-2025", "REDIS_HOST"]



def _stopwords(text: str, words: tuple[str, ...] | None = None) -> float:
    return STATISTICS["stopwords"].measure(view_of([text], [True]), {} if words is None else {"words": words})


def test_a_capitalised_turkish_stop_word_counts_as_the_rules_fold_letters():
    # str.lower made "İÇİN" "i̇çi̇n", an i and a combining dot: no Turkish stop word in capitals counted.
    words = ("için", "bir", "ve", "bu")
    assert _stopwords("KÖPRÜ BİR YIL İÇİN KAPANDI.", words) == 2
    assert _stopwords("Köprü Bir yıl İçin kapandı.", words) == 2
    # Stop words given in capitals are folded alike when the rule loads.
    [rule] = parse_rule_file("x.toml", """
[[rule]]
name = "turkish-stopwords"
scope = "document"
reason = "fewer than two Turkish stop words"
stat = "stopwords"
params = { words = ["İÇİN", "BİR"] }
min = 2
examples.match = ["Köprü kapandı."]
examples.keep = ["KÖPRÜ BİR YIL İÇİN KAPANDI."]
""")
    assert dict(rule.params)["words"] == ("için", "bir") and example_failures(rule) == []


GERMAN = ("der", "die", "und", "über", "daß")
GREEK = ("της", "και")


def test_capitalised_english_and_german_stop_words_count_as_before():
    assert _stopwords("THE BRIDGE IS CLOSED TO TRAFFIC WITH THE ARCHES") == 3  # the, to, with
    assert _stopwords("The Bridge And The River") == 2
    assert _stopwords("DER FLUSS UND DIE BRÜCKE ÜBER DAẞ", GERMAN) == 5
    # Any language but Turkish counts what str.lower counted: Greek's final sigma too.
    for text, words, count in (("DER FLUSS UND DIE BRÜCKE ÜBER DAẞ", GERMAN, 5),
                               ("ΤΗΣ ΠΟΛΗΣ ΚΑΙ ΤΟΥ ΠΟΤΑΜΟΥ", GREEK, 2)):
        lowered = {word.lower() for word in view_of([text], [True]).words}
        assert _stopwords(text, words) == len(set(words) & lowered) == count


def test_the_readme_lists_each_statistic_under_its_range():
    """README's "Statistics" list sorts them by range: it must say what docstats declares."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index("Statistics (`curate/docstats.py`, each with its range):"):]
    block = block[:block.index("\n\n")]
    listed = {item.split(",")[0]: set(re.findall(r"`([a-z_]+)`", item))
              for item in block.split("\n- ")[1:]}
    kinds = {"shares": lambda r: (r.low, r.high) == (0, 1), "counts": lambda r: r.what == "a count",
             "ratios": lambda r: r.high is None and r.what != "a count"}
    for kind, fits in kinds.items():
        assert listed[kind] == {s for s, info in STATISTICS.items() if fits(info.range)}, kind
