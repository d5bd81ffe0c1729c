"""Rule files in-process: the built-in pack loads and runs in its declared order, a bad
file is refused with its name, its rule and the fault, and the noise stage gives each line
to the first rule that hits it. (Through the CLI: test_rule_errors.py, test_rule_hostile.py.)"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import ROOT

from curate.document import Document, Line, Origin
from curate.errors import RuleError
from curate.rules import load_rules, parse_rule_file
from curate.stages.noise import strip_noise

pytestmark = pytest.mark.unit

RULE = '''
[[rule]]
name = "{name}"
reason = "a test rule"
pattern = '{pattern}'
examples.match = ["{match}"]
'''
PROSE = "The council met on Monday and agreed on a new budget for the schools of the city."


@pytest.fixture(scope="module")
def pack():
    return load_rules([], builtin=True)


def test_the_builtin_pack_loads_with_unique_names_and_named_files(pack):
    names = pack.names()
    assert len(names) == len(set(names)) > 30
    assert {source.origin for source in pack.sources} == {"built-in"}
    builtin = Path(__file__).resolve().parent.parent / "curate" / "rules"
    for source in pack.sources:
        assert source.sha256 == hashlib.sha256((builtin / source.path).read_bytes()).hexdigest()
    assert sum(source.rules for source in pack.sources) == len(names)


def test_page_rules_run_after_line_rules_and_the_article_region_last(pack):
    scopes = [rule.scope for rule in pack.in_order]
    assert scopes.index("page") > max(i for i, scope in enumerate(scopes) if scope != "page")
    assert pack.in_order[-1].name == "article-region"


_KEYED = '[[rule]]\nname = "k"\nreason = "r"\n{extra}\n'


@pytest.mark.parametrize(("text", "fault"), [
    (RULE.format(name="broken", pattern="(unclosed", match="x"), "rule 'broken': bad regex"),
    (RULE.format(name="greedy", pattern=".*", match="x"), "matches an empty line"),
    ('[[rule]]\nname = "k"\nreason = "r"\npattern = "a"\ncolour = "red"\nexamples.match = ["a"]\n',
     "rule 'k': unknown key 'colour'"),
    ('[[rule]]\nname = "x\n', "not valid TOML"),
    ("[rule]\nname = 'one'\n", "write [[rule]], not [rule]"),
    # a list whose items are no tables was read table by table: AttributeError, a traceback
    ("rule = [1, 2]\n", "rule '#1': a rule must be a table of keys, not a number: begin each rule with a line"),
    ('rule = [{ name = "a" }, "b"]\n', "rule '#2': a rule must be a table of keys, not a string"),
    ("rule = [[1]]\n", "rule '#1': a rule must be a table of keys, not a list"),
    ('rule = "x"\n', "'rule' must be an array of tables, not a string: begin each rule with a line [[rule]]"),
    ("rule = 3\n", "'rule' must be an array of tables, not a number"),
    (_KEYED.format(extra='pattern = "a"\nexamples = 3'), "rule 'k': 'examples' must be a table, not a number"),
    (_KEYED.format(extra='pattern = "a"\nexamples = ["a"]'), "rule 'k': 'examples' must be a table, not a list"),
    (_KEYED.format(extra='pattern = "a"\nexamples.match = "a"'),
     "rule 'k': examples.match must be a list of strings, not a string: examples.match = [\"...\"]"),
    (_KEYED.format(extra='pattern = "a"\nexamples.match = ["a"]\nexamples.keep = { b = 1 }'),
     "rule 'k': examples.keep must be a list of strings, not a table"),
    (_KEYED.format(extra='pattern = "a"\nexamples.match = [1]'),
     "rule 'k': examples.match must be a list of strings, each in quotes"),
    (_KEYED.format(extra='phrases = "get the app"\nexamples.match = ["a"]'),
     "rule 'k': 'phrases' must be a non-empty list of non-empty strings, e.g. phrases = ["),
    (_KEYED.format(extra='phrases = [["a"]]\nexamples.match = ["a"]'), "rule 'k': 'phrases' must be a non-empty list"),
    (_KEYED.format(extra='pattern = "a"\nrequires = [1]\nexamples.match = ["a"]'),
     "rule 'k': 'requires' must be a non-empty list of strings"),
    # `$` with re.match takes a final newline: "app-promo\n" was a name --disable could not give
    ('[[rule]]\nname = "app-promo\\n"\nreason = "r"\npattern = "a"\nexamples.match = ["a"]\n',
     "rule 'app-promo\\n': 'name' must be lowercase letters, digits and hyphens"),
    (_KEYED.format(extra='pattern = "a"\npack = "mine\\n"\nexamples.match = ["a"]'),
     "rule 'k': 'pack' must be lowercase letters, digits and hyphens"),
    (_KEYED.format(extra='scope = "document"\nstat = "language"\nlanguages = ["en\\n"]\nexamples.match = ["a"]'),
     "rule 'k': 'en\\n' is not a language code"),
])
def test_a_bad_rule_file_names_itself_the_rule_and_the_fault(text, fault):
    with pytest.raises(RuleError) as caught:
        parse_rule_file("my-rules/bad.toml", text)
    assert str(caught.value).startswith("my-rules/bad.toml") and fault in str(caught.value)


def test_a_byte_order_mark_is_read_past_and_utf16_is_named(tmp_path):
    text = RULE.format(name="bom", pattern="^x$", match="x")
    [rule] = parse_rule_file("bom.toml", "\ufeff" + text)
    assert rule.name == "bom"
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbf" + text.encode())  # as Windows Notepad saves UTF-8
    loaded = load_rules([tmp_path], builtin=False)
    assert loaded.names() == ["bom"]
    # the file's own bytes, mark and all, are what summary.json's sha256 names
    assert loaded.sources[0].sha256 == hashlib.sha256((tmp_path / "bom.toml").read_bytes()).hexdigest()
    (tmp_path / "bom.toml").write_bytes(text.encode("utf-16"))
    with pytest.raises(RuleError, match=r"bom\.toml: saved as UTF-16; save it as UTF-8"):
        load_rules([tmp_path], builtin=False)


def test_a_failing_example_stops_the_load(tmp_path):
    (tmp_path / "picky.toml").write_text(RULE.format(name="picky", pattern="^cookie$", match="biscuit"))
    with pytest.raises(RuleError, match=r"rule 'picky': examples\.match #1 does not match"):
        load_rules([tmp_path], builtin=False)


def test_duplicate_names_and_unknown_disables_are_refused(tmp_path):
    (tmp_path / "a.toml").write_text(RULE.format(name="byline", pattern="^by me$", match="by me"))
    with pytest.raises(RuleError, match=r"already defined in <builtin>/bylines\.toml"):
        load_rules([tmp_path])
    with pytest.raises(RuleError, match="no rule named no-such-rule; `curate rules list` shows the names"):
        load_rules([], disabled=("no-such-rule",))


def _document(*texts: str) -> Document:
    lines = [Line(i, t, t, Origin(i + 1, 0, len(t.encode())), i > 0) for i, t in enumerate(texts)]
    return Document("d", "d.txt", None, lines, lines_read=len(lines))


def test_the_noise_stage_removes_noise_with_its_rule_and_keeps_prose(pack):
    doc = strip_noise(_document("Home » News » Council", "We use cookies to improve your experience. Accept all",
                                PROSE, PROSE.replace("Monday", "Tuesday"), "Share on Facebook"), pack)
    assert [line.text for line in doc.lines] == [PROSE, PROSE.replace("Monday", "Tuesday")]
    reasons = {removal.line.index: removal.reason for removal in doc.removed}
    assert reasons[0] == "rule:breadcrumb" and reasons[1] == "rule:cookie-banner"
    assert all(removal.stage == "noise" and removal.detail for removal in doc.removed)


def test_a_disabled_rule_removes_nothing(pack):
    off = load_rules([], disabled=("breadcrumb",))
    doc = strip_noise(_document("Home » News » Council", PROSE, PROSE.replace("Monday", "Friday")), off)
    assert "rule:breadcrumb" not in {removal.reason for removal in doc.removed}


SKIPPING = '''
[[rule]]
name = "published-label"
reason = "publication stamp"
pattern = '\\bpublished\\b'
max_words = 8
skip_sentences = true
examples.match = ["Published 3 hours ago", "PUBLISHED IN NATURE."]
examples.keep = ["The results were published in Nature."]
'''


@pytest.mark.parametrize(("text", "sentence"), [
    ("The results were published in Nature.", True),
    ("Die Teilnehmer teilen sich die Kosten.", True),
    ("Is it worth it?", True),
    ("“It was published,” she said.", True),
    ("Published 3 hours ago", False),  # no stop at the end
    ("Read more...", False),  # an ellipsis is not a stop
    ("It was published.", False),  # three words: too short to tell from a label
    ("ZOBACZ WIDEO Prezes klubu zabrał głos!", False),  # a kicker in capitals leads it
])
def test_what_reads_as_a_sentence(text, sentence):
    from curate.detectors import reads_as_sentence

    assert reads_as_sentence(text) is sentence


def test_a_rule_that_skips_sentences_leaves_a_short_sentence_and_takes_the_label(tmp_path):
    [rule] = parse_rule_file("t.toml", SKIPPING)
    assert rule.skip_sentences
    (tmp_path / "t.toml").write_text(SKIPPING, encoding="utf-8")
    doc = strip_noise(_document("Published 3 hours ago", PROSE, "The results were published in Nature.",
                                "Published 3 hours ago by the desk"), load_rules([tmp_path], builtin=False))
    assert "The results were published in Nature." in [line.text for line in doc.lines]
    assert {removal.line.text for removal in doc.removed} == {"Published 3 hours ago",
                                                              "Published 3 hours ago by the desk"}


def test_skip_sentences_is_for_line_rules():
    block = SKIPPING.replace("max_words = 8", 'scope = "block"\nlines = 2')
    with pytest.raises(RuleError, match="'skip_sentences' is for line rules"):
        parse_rule_file("t.toml", block)
    with pytest.raises(RuleError, match="must be true or false"):
        parse_rule_file("t.toml", SKIPPING.replace("skip_sentences = true", 'skip_sentences = "yes"'))


INLINE_PAGE = """Council approves new footbridge

The city council voted on Tuesday to build a pedestrian footbridge across the river, ending a long debate.

The bridge will link the old town with the new housing district, and building starts next spring.

Sponsored slot

The council will publish the designs in June, and residents can send their views until July.

Imprint
"""

SLOT = '''
[[rule]]
name = "sponsored-slot"
reason = "an ad slot's label"
phrases = ["sponsored slot"]
whole_line = true
inline = true
examples.match = ["Sponsored slot"]
'''


@pytest.mark.parametrize("inline", [True, False])
def test_an_inline_rules_line_between_sentences_does_not_end_the_article(tmp_path, inline):
    """The slot's label goes either way; the paragraph after it stays with the article only
    when the rule says its noise sits inside the text."""
    (tmp_path / "slot.toml").write_text(SLOT if inline else SLOT.replace("inline = true\n", ""), encoding="utf-8")
    (tmp_path / "region.toml").write_text((ROOT / "curate" / "rules" / "region.toml").read_text(encoding="utf-8"),
                                          encoding="utf-8")
    doc = strip_noise(_document(*[line for line in INLINE_PAGE.splitlines() if line]),
                      load_rules([tmp_path], builtin=False))
    kept = [line.text for line in doc.lines]
    assert "Sponsored slot" not in kept and "Imprint" not in kept
    assert ("The council will publish the designs in June, and residents can send their views until July."
            in kept) is inline


def test_inline_is_for_line_and_block_rules():
    with pytest.raises(RuleError, match="'inline' does not apply to a page rule"):
        parse_rule_file("t.toml", '''
[[rule]]
name = "p"
reason = "r"
scope = "page"
detector = "link-run"
inline = true
examples.match = ["a\\nb\\nc"]
''')
    with pytest.raises(RuleError, match="must be true or false"):
        parse_rule_file("t.toml", SLOT.replace("inline = true", 'inline = "yes"'))


@pytest.mark.unit
def test_examples_are_read_as_a_run_reads_a_line_markdown_rendered():
    """A run's rules read "**Subscribe** now" as "Subscribe now"; a rule's examples are
    read the same way, so that a rule that passes them fires in a run (and one written for
    the marks, which never fires in a run, fails them)."""
    from curate.rules import example_failures
    from curate.stages.normalise import normalise

    rules = parse_rule_file("t.toml", """
[[rule]]
name = "as-read"
reason = "promo"
pattern = '^Subscribe now for \\d+ days$'
examples.match = ["**Subscribe** now for 30 days", "[Subscribe](/join) now  for&nbsp;30 days"]

[[rule]]
name = "as-written"
reason = "promo"
pattern = '^\\*\\*Subscribe\\*\\* now$'
examples.match = ["**Subscribe** now"]
""")
    assert example_failures(rules[0]) == []
    assert example_failures(rules[1]) == ["examples.match #1 does not match: '**Subscribe** now'"]
    raw = "**Subscribe** now for 30 days"
    doc = normalise(Document("d", "d", None, [Line(0, raw, raw, Origin(1, 0, len(raw)), False)]))
    assert doc.lines[0].text == "Subscribe now for 30 days"


def test_the_collection_after_loading_runs_only_when_the_regex_module_compiled(tmp_path, monkeypatch):
    """load_rules collects the regex module's parse trees (cycles with finalisers, where a
    Ctrl-C would be swallowed) before any input; the built-in rules come translated and
    compile none, so their load skips the collection (50 ms or more in a large process)."""
    from curate import rules

    collections = []
    monkeypatch.setattr(rules.gc, "collect", lambda *args: collections.append(args) or 0)
    load_rules()
    assert collections == []
    folder = tmp_path / "rules"
    folder.mkdir()
    # A lookbehind has no RE2 form: the regex module compiles it (a pattern new to this process).
    (folder / "mine.toml").write_text(f'''[[rule]]
name = "after-a-colon"
reason = "a test rule"
pattern = '(?<=: )subscribe now {tmp_path.name}'
examples.match = ["Offer: subscribe now {tmp_path.name}"]
examples.keep = ["subscribe now"]
''', encoding="utf-8")
    load_rules([folder])
    assert collections == [()]
