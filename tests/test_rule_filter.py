"""The line rules asked all at once per line (rule_filter, RE2's FilteredRE2) hit exactly
the lines they hit when asked one by one (noise.line_rule_hits), on real pages, on lines
made to reach the edges (case folding, lone surrogates, lines longer than the filter
takes), and with a user's rules beside the built-in ones."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

from curate import patterns
from curate.common_alphabet import in_common
from curate.document import Line, Origin
from curate.ignorecase import fold
from curate.patterns import _re2_program, _remembered_search, unanchored
from curate.rule_filter import (
    MAX_BOUNDED_PATTERN_CHARS,
    MAX_LINE_BYTES,
    PART_RULES,
    LineRuleFilter,
    filtered_rules,
    line_filter,
)
from curate.rules import load_rules
from curate.stages.noise import (
    LineFacts,
    StripNoise,
    _admitted,
    all_rule_hits,
    line_rule_positions,
    literal_program,
)

pytestmark = pytest.mark.unit


def _lines(texts: list[str]) -> list[Line]:
    return [Line(k, text, text, Origin(k + 1, 0, 0), False) for k, text in enumerate(texts)]


def _pages() -> list[list[str]]:
    files = [*sorted((ROOT / "seeds").glob("*.txt")), *sorted((FIXTURES / "probes").rglob("*.txt")),
             *sorted((FIXTURES / "noise-dev" / "input").glob("*.txt"))[:25],
             *sorted((FIXTURES / "noise-train" / "input").rglob("*.txt"))[:25]]
    pages = [[line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
             for path in files]
    return [page for page in pages if page]


EDGES = [
    "Cookie-Einstellungen", "COOKIE-EINSTELLUNGEN", "İmpressum", "Straße und Datenschutz", "ΑΠΟΔΟΧΗ ΌΛΩΝ",
    "Share this: \ud800 Facebook", "© 2024 Gazette", "Foto: dpa", "Teilen auf Facebook", "Weiterlesen »",
    "Newsletter abonnieren " + "x " * (MAX_LINE_BYTES // 2), "Advertisement", "ANZEIGE", "Seite 2 von 5",
]


def _same(lines: list[Line], ruleset) -> None:
    fast_taken, fast_every = all_rule_hits(lines, ruleset)
    slow_taken, slow_every = all_rule_hits(lines, ruleset, use_filter=False)
    assert {k: r.name for k, r in fast_taken.items()} == {k: r.name for k, r in slow_taken.items()}
    assert {k: [r.name for r in rs] for k, rs in fast_every.items()} == \
        {k: [r.name for r in rs] for k, rs in slow_every.items()}


def test_the_filter_hits_what_the_rules_hit_one_by_one_on_real_pages_and_edge_lines():
    ruleset = load_rules()
    pages = [*_pages(), EDGES]
    assert len(pages) > 50
    hits = 0
    for page in pages:
        lines = _lines(page)
        _same(lines, ruleset)
        hits += len(all_rule_hits(lines, ruleset)[0])
    assert hits > 500  # the pages hold boilerplate: a check that finds nothing proves nothing


def test_the_filter_takes_the_small_and_unbounded_rules_and_leaves_the_large_bounded_ones(tmp_path: Path):
    ruleset = load_rules()
    flt = line_filter(ruleset)
    assert flt is not None and len(flt.rules) >= 20
    left = [r for r in ruleset.in_order if r.scope == "line" and r.regex is not None and r.regex.re2 is not None
            and r not in flt.rules]
    assert left and all(r.max_words is not None and len(r.regex.re2) > MAX_BOUNDED_PATTERN_CHARS for r in left)
    # What a process built for itself does not travel with the rules (Ray, spawn).
    copy = pickle.loads(pickle.dumps(ruleset))
    assert "_line_filter" not in copy.__dict__
    assert [r.name for r in filtered_rules(copy)] == [r.name for r in flt.rules]


def test_the_built_in_rules_filter_agrees_with_their_examples_every_pack_on(recorded_engines):
    # A run does not check this for rules of proven built-in files (rule_filter.line_filter):
    # it is proved here, with every rule they hold turned on.
    every_pack = load_rules(enabled=tuple(load_rules().packs()))
    flt = line_filter(every_pack)
    assert flt is not None and {r.name for r in flt.rules} <= every_pack.proven
    assert flt.agrees_on_examples()
    assert {r.name for r in flt.rules} >= {r.name for r in filtered_rules(load_rules())}


def test_rules_loaded_again_share_the_compiled_filter_and_other_rules_get_their_own():
    first, again = line_filter(load_rules()), line_filter(load_rules())
    assert first is not None and again is not None and first is not again
    for common in (True, False):  # the filters for lines of the common alphabet, and for any line
        # compiled once per process for the same patterns
        assert first._parts_for(common) == again._parts_for(common)
        assert all(a is b for (_, a), (_, b) in zip(first._parts_for(common), again._parts_for(common), strict=True))
    assert first._parts_for(True)[0][1] is not first._parts_for(False)[0][1]
    one_off = load_rules(disabled=(first.rules[0].name,))
    fewer = line_filter(one_off)
    assert fewer is not None and fewer._parts_for(True)[0][1] is not first._parts_for(True)[0][1]
    assert [r.name for r in fewer.rules] == [r.name for r in first.rules[1:]]
    _same(_lines(EDGES + _pages()[0]), one_off)


def test_a_rule_in_the_filter_runs_alone_on_the_filters_own_program_not_a_second_compile():
    _re2_program.cache_clear()  # as in a new process: nothing compiled before the filter
    ruleset = load_rules()
    rules = line_filter(ruleset)
    assert rules is not None and len(rules.rules) > 30
    for rule in rules.rules:
        assert rule.regex is not None and rule.regex.re2 is not None
        assert rule.regex.re2_program() is patterns._ADOPTED[rule.regex.re2], rule.name


def test_the_adopted_programs_are_bounded_oldest_first(monkeypatch):
    monkeypatch.setattr(patterns, "_ADOPTED", {})
    monkeypatch.setattr(patterns, "MAX_ADOPTED", 3)
    for k in range(5):
        patterns.adopt_re2_program(f"source{k}", k)
    patterns.adopt_re2_program("source4", 99)  # already there: kept as it was
    assert patterns._ADOPTED == {"source2": 2, "source3": 3, "source4": 4}


def test_after_the_noise_stages_setup_its_rules_compile_nothing_more_on_pages_of_the_common_alphabet():
    # Set up before the fork, the programs are the workers' from their parent: a program
    # compiled on a page instead costs every worker its compile (0.3-0.4 s in all). The
    # programs for other characters (common_alphabet.py) are compiled at the first line
    # that has one, and only then.
    stage = StripNoise(load_rules())
    stage.setup()

    def compiled() -> tuple[int, int, int]:
        return (_re2_program.cache_info().currsize, literal_program.cache_info().currsize,
                len(line_filter(stage.ruleset)._parts))

    pages = [*_pages(), EDGES]
    common = [page for page in pages if all(in_common(text) for text in page)]
    other = [page for page in pages if page not in common]
    assert len(common) > 20 and other
    before = compiled()
    hits = sum(len(all_rule_hits(_lines(page), stage.ruleset)[0]) for page in common)
    assert hits > 500
    assert compiled() == before
    sum(len(all_rule_hits(_lines(page), stage.ruleset)[0]) for page in other)
    after_other = compiled()
    assert after_other[2] == 2  # the filter of the full forms, made now
    for page in pages:
        all_rule_hits(_lines(page), stage.ruleset)
    assert compiled() == after_other


def test_the_lines_a_rule_reads_are_those_its_bounds_and_literals_admit_one_by_one():
    ruleset = load_rules()
    rules = [rule for rule in ruleset.in_order if rule.scope == "line"]
    assert sum(bool(rule.literals) for rule in rules) > 5 and sum(rule.max_words is not None for rule in rules) > 5
    odd = ["Wir verwenden Cookies \ud800 auf dieser Seite", "COOKIE", "", "İstanbul cookie", "cook\nie"]
    pages = [*_pages()[:40], EDGES + odd]
    lines = _lines([text for page in pages for text in page])
    facts = LineFacts(lines)
    # A phrase over two lines is in neither: the text RE2 reads joins them by newlines.
    joined_rule = dataclasses.replace(rules[0], literals=("cook\nie", "cookie"))
    checked = 0
    for rule in [*rules, joined_rule]:
        for start in (0, 7, len(lines) - 3):
            expected = [k for k in range(start, len(lines))
                        if (rule.max_words is None or facts.words[k] <= rule.max_words)
                        and (rule.min_words is None or facts.words[k] >= rule.min_words)
                        and (not rule.literals or any(lit in fold(lines[k].text) for lit in rule.literals))]
            assert list(_admitted(rule, facts, start)) == expected, rule.name
            checked += len(expected)
    assert checked > 1000


def test_a_backtracking_rules_memo_keeps_only_the_lines_its_prefilter_lets_through(tmp_path: Path):
    # The memo is for the searches that cost (~0.5 ms on the backtracking engine): lines
    # the RE2 prefilter rules out in a microsecond pushed them out of it, to run again.
    # (A \b beside a part that can match nothing, inside an alternative, keeps a rule there.)
    folder = _user_rules(tmp_path, r"""
[[rule]]
name = "consent"
reason = "a cookie banner"
pattern = '^(we|diese website)(?:\s?\b(use|verwendet) cookies|!)'
examples.match = ["We use cookies"]
examples.keep = ["an ordinary sentence"]
""")
    rule = next(r for r in load_rules([folder]).in_order if r.name == "consent")
    assert rule.regex is not None and rule.regex.re2 is None and rule.regex.prefilter is not None
    texts = [f"Our cookie jar number {n} is on the shelf." for n in range(300)]
    texts += ["We use cookies to personalise content and ads.", "Diese Website verwendet Cookies."]
    lines = _lines(texts)
    _remembered_search.cache_clear()
    found = line_rule_positions(rule, lines, LineFacts(lines))
    assert found == [300, 301]
    assert _remembered_search.cache_info().currsize <= 2


def _user_rules(tmp_path: Path, toml: str) -> Path:
    """A folder of a user's rules holding one file, mine.toml."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "mine.toml").write_text(toml, encoding="utf-8")
    return rules


def test_a_users_rules_with_bounds_and_phrases_beside_the_built_in_ones(tmp_path: Path):
    rules = _user_rules(tmp_path, '''
[[rule]]
name = "short-shout"
reason = "a short line in capitals"
pattern = '^[A-ZÄÖÜ ]+$'
case_sensitive = true
max_words = 3
examples = { match = ["NUR HEUTE"], keep = ["NUR HEUTE GIBT ES DAS BUCH ZUM HALBEN PREIS"] }

[[rule]]
name = "gift-phrases"
reason = "gift promos"
phrases = ["Gutschein", "gift card"]
max_words = 12
examples.match = ["Jetzt Gutschein sichern"]
examples.keep = ["Der Gutschein, den sie ihrem Bruder geschenkt hatte, lag noch Jahre in der Schublade"]
''')
    ruleset = load_rules([rules])
    assert {"short-shout", "gift-phrases"} <= {r.name for r in filtered_rules(ruleset)}
    page = ["NUR HEUTE", "GUTSCHEIN", "Jetzt Gutschein sichern", "GIFT CARD deals", "Die Gutscheine sind da.",
            "Ein ganz normaler Satz über einen Gutschein, der nichts verkauft und lang genug ist."]
    _same(_lines(page + EDGES), ruleset)
    taken, _ = all_rule_hits(_lines(page), ruleset)
    assert taken[0].name == "short-shout" and taken[2].name == "gift-phrases"


def test_a_run_with_a_users_rule_checks_the_filter_on_that_rules_examples_only(tmp_path: Path, monkeypatch,
                                                                              recorded_engines):
    # The built-in rules' own examples are proved by
    # test_the_built_in_rules_filter_agrees_with_their_examples_every_pack_on; what a user's
    # pattern adds to the filter can only let others through their prefilter more often
    # (each is then matched by its own program), so only the user's rule is checked.
    from curate.rule_filter import LineRuleFilter

    rules = _user_rules(tmp_path, '''
[[rule]]
name = "app-promo"
reason = "app promotion"
pattern = '^download our app\\b'
examples = { match = ["Download our app now"], keep = ["We download our apps from the store."] }
''')
    asked: list[set[str] | None] = []
    check = LineRuleFilter.agrees_on_examples

    def recording(self, names=None):
        asked.append(None if names is None else set(names))
        return check(self, names)

    monkeypatch.setattr(LineRuleFilter, "agrees_on_examples", recording)
    ruleset = load_rules([rules])
    flt = line_filter(ruleset)
    assert flt is not None and "app-promo" in {r.name for r in flt.rules}  # the check passed: the filter is used
    assert asked == [{"app-promo"}]
    assert line_filter(load_rules()) is not None and asked == [{"app-promo"}]  # the built-in rules: no check


def test_a_rules_literals_as_one_program_find_what_a_search_for_each_finds():
    """noise.literal_program, searched in a line as it is, stands for ``any(lit in
    fold(line) for lit in literals)`` (ignorecase.fold), for every phrase rule of the
    built-in pack."""
    from curate.patterns import unanchored
    from curate.stages.noise import literal_program

    anchor = unanchored()
    texts = [line for page in _pages() for line in page] + [e for e in EDGES if "\ud800" not in e]
    texts += [text.upper() for text in texts[::7]] + ["İLGİLİ HABERLER", "ÇEREZLERİ KABUL EDİYORUM", "ΣΥΝΔΡΟΜΗ"]
    phrase_rules = [r for r in load_rules().in_order if r.literals]
    assert len(phrase_rules) >= 5
    found = 0
    for rule in phrase_rules:
        program = literal_program(rule.literals)
        assert program is not None, rule.name
        for text in texts:
            data = text.encode("utf-8")
            expected = any(lit in fold(text) for lit in rule.literals)
            assert (program.Match(anchor, data, 0, len(data))[0][0] >= 0) == expected, (rule.name, text)
            found += expected
    assert found > 100


def test_the_rules_are_split_into_filters_of_at_most_part_rules_and_answer_as_one():
    """Past PART_RULES rules the atoms of one filter outgrow RE2's budget (see
    rule_filter; over all the built-in rules it no longer compiles): the parts, of about
    equal size, find the rules a line matches, at their own positions, as asking each
    rule's own program does."""
    rules = filtered_rules(load_rules())
    assert len(rules) > PART_RULES  # the built-in rules need more than one part
    split = LineRuleFilter(rules)
    for common in (True, False):
        parts = split._parts_for(common)
        sizes = [len(group) for group, _ in parts]
        assert len(parts) >= 2 and max(sizes) <= PART_RULES and max(sizes) - min(sizes) <= 1
        assert [k for group, _ in parts for k in group] == list(range(len(rules)))  # in order, each once
    anchor = unanchored()
    programs = [rule.regex.re2_program() for rule in rules]
    checked = matched = common_lines = 0
    for line in _lines(EDGES + [text for page in _pages()[:8] for text in page]):
        try:
            data = line.text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: such lines go rule by rule
            continue
        if len(data) > MAX_LINE_BYTES:  # such lines go rule by rule
            continue
        checked += 1
        expected = [k for k, program in enumerate(programs) if program.Match(anchor, data, 0, len(data))[0][0] >= 0]
        matched += bool(expected)
        assert sorted(split.matching(data)) == expected, line.text
        if in_common(line.text):  # the filter of the common forms gives the same answer
            common_lines += 1
            assert sorted(split.matching(data, True)) == expected, line.text
    assert checked > 200 and matched > 20 and common_lines > 200


def test_a_rule_too_large_to_share_a_filter_gets_its_own_and_hits_as_it_does_alone(tmp_path: Path):
    """A user's list of thousands of names crowds the atoms of any part it joins (see
    PART_ALONE_CHARS): it goes in a filter of its own, and every rule still hits the
    lines it hits asked one by one."""
    import random

    from curate.rule_filter import PART_ALONE_CHARS

    rng = random.Random(5)
    names = sorted({"".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(rng.randint(6, 11)))
                    for _ in range(3000)})
    quote = "'" * 3
    (tmp_path / "brands.toml").write_text(
        '[[rule]]\nname = "brand-list"\nreason = "brand names"\n'
        f"pattern = {quote}(?i)\\b({'|'.join(names)})\\b{quote}\n"
        f'examples.match = ["Buy {names[0]} now"]\nexamples.keep = ["an ordinary sentence"]\n', encoding="utf-8")
    ruleset = load_rules([tmp_path])
    flt = line_filter(ruleset)
    assert flt is not None
    big = flt.position["brand-list"]
    assert len(flt.rules[big].regex.re2) > PART_ALONE_CHARS
    for common in (True, False):
        parts = flt._parts_for(common)
        assert [group for group, _ in parts if big in group] == [[big]]
        assert sorted(k for group, _ in parts for k in group) == list(range(len(flt.rules)))
    page = [f"Buy {names[7].upper()} today", f"{names[100]} and {names[2000]}", "Teilen auf Facebook",
            "an ordinary sentence", *EDGES]
    _same(_lines(page), ruleset)
    every = all_rule_hits(_lines(page), ruleset)[1]
    assert sorted(k for k, rules in every.items() if "brand-list" in [r.name for r in rules]) == [0, 1]


def test_a_batch_of_pages_gets_the_hits_and_timeouts_each_page_gets_alone(tmp_path: Path):
    """The noise stage asks each line rule once over a batch's pages (batch_line_hits):
    every page must get the hits, in the same order, and the timeouts, in the same order,
    that it gets alone; a rule over its budget on one page still runs on the next."""
    from curate.stages.noise import batch_line_hits

    (tmp_path / "slow.toml").write_text(
        '[[rule]]\nname = "slow-rule"\nreason = "backtracks"\npattern = \'^(?:a|aa)+(?<=b)|^spam!$\'\n'
        'examples.match = ["spam!"]\nexamples.keep = ["an ordinary sentence"]\n', encoding="utf-8")
    ruleset = load_rules([tmp_path])
    hostile = "a" * 40 + "!"
    texts = [*_pages()[:30], ["spam!", hostile, "spam!", "Share this:"], [], ["spam!", "Foto: dpa"], EDGES]
    pages = [_lines(page) for page in texts]

    def run(lines: list[Line], line_hits=None):
        problems: list[tuple[str, int]] = []
        taken, every = all_rule_hits(lines, ruleset, lambda rule, line: problems.append((rule.name, line.index)),
                                     line_hits=line_hits)
        return ([(k, r.name) for k, r in taken.items()], [(k, [r.name for r in rs]) for k, rs in every.items()],
                problems)

    alone = [run(lines) for lines in pages]
    together = [run(lines, found) for lines, found in zip(pages, batch_line_hits(pages, ruleset), strict=True)]
    assert together == alone
    assert alone[30][2] == [("slow-rule", 1)]  # the hostile line timed out, on its own page only

    def slow_hits(page: int) -> list[int]:
        return [k for k, names in alone[page][1] if "slow-rule" in names]

    assert slow_hits(30) == [0] and slow_hits(32) == [0]  # not line 2 after the timeout; the next page again
