"""Block rules ask the whole page once before their windows (noise.block_rule_hits'
page_check): the same hits as every window searched one by one, on real pages, for every
built-in block rule and for patterns that see past their match (lookarounds, \\A, \\Z), which
skip the page search."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

from curate.rules import load_rules
from curate.stages.noise import block_rule_hits, joined_page, text_lines

pytestmark = pytest.mark.unit


def _pages() -> list:
    files = [*sorted((ROOT / "seeds").glob("*.txt")), *sorted((FIXTURES / "probes").rglob("*.txt")),
             *sorted((FIXTURES / "noise-dev" / "input").glob("*.txt"))[:60],
             *sorted((FIXTURES / "noise-train" / "input").rglob("*.txt"))[:60]]
    return [lines for lines in (text_lines(path.read_text(encoding="utf-8")) for path in files) if lines]


@pytest.fixture(scope="module")
def pages() -> list:
    return _pages()


def _block_rules(ruleset) -> list:
    return [rule for rule in ruleset.rules if rule.scope == "block"]


def test_every_built_in_block_rule_hits_the_same_lines_with_the_page_search(pages):
    rules = _block_rules(load_rules([], builtin=True, check_examples=False))
    assert len(rules) >= 3
    found = 0
    for rule in rules:
        for lines in pages:
            fast = block_rule_hits(rule, lines)
            assert fast == block_rule_hits(rule, lines, page_check=False), (rule.name, lines[0].text)
            found += len(fast)
    assert found > 20  # the pages hold teasers: a comparison of empty sets proves nothing


RULES = '''
[[rule]]
name = "before-a-break"
reason = "a lookbehind: at a window's start it sees nothing, in the page a line break"
scope = "block"
lines = 2
pattern = '(?<!\\n)^Related\\n[^\\n]+$'
examples.match = ["Related\\nA headline"]
examples.keep = ["A sentence."]

[[rule]]
name = "text-start"
reason = "\\\\A is a window's start, not the page's"
scope = "block"
lines = 2
pattern = '\\ARelated\\n[^\\n]+'
examples.match = ["Related\\nA headline"]
examples.keep = ["A sentence."]

[[rule]]
name = "three-lines"
reason = "a match the page has and no two-line window does"
scope = "block"
lines = 2
pattern = '^Related\\n[^\\n]+\\n[^\\n]+$'
examples.match = ["Related\\nA headline\\nAnother"]
examples.keep = ["A sentence."]
'''


def test_patterns_that_see_past_their_match_find_in_windows_what_the_page_search_would_miss(tmp_path: Path):
    path = tmp_path / "blocks.toml"
    path.write_text(RULES, encoding="utf-8")
    rules = {rule.name: rule for rule in _block_rules(load_rules([tmp_path], builtin=False, check_examples=False))}
    lines = text_lines("Intro line of the page.\nRelated\nA headline of another story\nClosing sentence here.")
    page, _ = joined_page(lines)
    assert page == "Intro line of the page.\nRelated\nA headline of another story\nClosing sentence here."
    for name in ("before-a-break", "text-start"):
        # the window that starts at "Related" matches; the whole page, where a line break
        # comes before it, does not: the page search must not be trusted for these
        assert rules[name].regex is not None and not rules[name].regex.search(page)
        assert block_rule_hits(rules[name], lines) == {1, 2} == block_rule_hits(rules[name], lines, page_check=False)
    # The page matches across three lines, no window of two does: nothing, both ways.
    assert rules["three-lines"].regex is not None and rules["three-lines"].regex.search(page)
    assert block_rule_hits(rules["three-lines"], lines) == set() == \
        block_rule_hits(rules["three-lines"], lines, page_check=False)
