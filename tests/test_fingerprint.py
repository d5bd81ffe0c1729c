"""--resume continues only a run made with the same settings, every one of them: the
fingerprint is derived from the objects, so a field added later is covered without a
list to keep up to date."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, file_size_limit, in_process, output_files
from hypothesis import given
from hypothesis import strategies as st

from curate.driver import RunConfig
from curate.fingerprint import NOT_FINGERPRINTED, _sort_key, canonical, fingerprint, sorted_items
from curate.rules import load_rules
from curate.stages.dedup.signature import DedupConfig

RULE = """
[[rule]]
name = "promo"
reason = "a promotional line"
pattern = "^buy now\\\\b"
requires = ["buy"]
examples.match = ["buy now and save"]
examples.keep = ["We buy bread"]
"""
EDITS = {
    "reason": ('reason = "a promotional line"', 'reason = "an advert"'),
    "case_sensitive": ('requires = ["buy"]', 'requires = ["buy"]\ncase_sensitive = true'),
    "requires": ('requires = ["buy"]', 'requires = ["buy", "now"]'),
}
FILES = ("README.md", "corpus", "removed.jsonl", "quarantine.jsonl", "summary.json")


def _curate(*args) -> list[str]:
    return [str(Path(sys.executable).parent / "curate"), *map(str, args)]


def _run(rules: Path, out: Path, *extra: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(_curate("run", SEEDS, "-o", out, "-q", "--chunk-docs", "1", "--rules", rules, *extra),
                          cwd=ROOT / "tests", capture_output=True, text=True, timeout=120, check=False, **kwargs)


def _here(rules: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    """_run in-process: for the resumes and the reference, which prove what --resume makes
    of the folder the limited run (a process, under RLIMIT_FSIZE) left."""
    return in_process("run", SEEDS, "-o", out, "-q", "--chunk-docs", "1", "--rules", rules, *extra, cwd=ROOT / "tests")


def _stopped_run(tmp_path: Path) -> tuple[Path, Path]:
    """(rules folder, output folder) of a run over the seeds with RULE, stopped by the
    file-size limit in its commit, with every chunk finished."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "promo.toml").write_text(RULE)
    out = tmp_path / "out"
    stopped = _run(rules, out, preexec_fn=file_size_limit(16_000))
    assert stopped.returncode == 1 and "--resume" in stopped.stderr, stopped.stderr
    return rules, out


def test_resume_after_a_rule_edit_is_refused(tmp_path):
    rules, out = _stopped_run(tmp_path)
    for edit, (old, new) in EDITS.items():
        assert old in RULE
        (rules / "promo.toml").write_text(RULE.replace(old, new))
        refused = _here(rules, out, "--resume")
        assert refused.returncode == 1, edit
        assert (f"{out}: the unfinished run there used other inputs, rules or options (other settings: the rules "
                "(--rules, --enable, --disable, their files), the noise stage's settings or rules), so it cannot be "
                "resumed; use --overwrite to discard it and start again") in refused.stderr
        assert "Traceback" not in refused.stderr
    (rules / "promo.toml").write_text(RULE)
    resumed = _here(rules, out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    reference = tmp_path / "reference"
    assert _here(rules, reference).returncode == 0
    assert output_files(out) == output_files(reference)


def _config(**changes) -> RunConfig:
    cfg = RunConfig(inputs=(SEEDS,), output=Path("out"), ruleset=load_rules())
    return dataclasses.replace(cfg, **changes)


@pytest.mark.unit
def test_settings_that_cannot_change_the_output_are_left_out():
    base = fingerprint(_config(), [])
    assert fingerprint(_config(workers=4, output=Path("elsewhere"), measure_index=True), []) == base
    assert fingerprint(_config(inputs=(Path("./seeds/"),)), []) == base  # the files found stand for them
    assert fingerprint(_config(chunk_items=5), []) != base
    assert fingerprint(_config(dedup=DedupConfig(threshold=0.9)), []) != base
    assert fingerprint(_config(text_field="body"), []) != base
    assert fingerprint(_config(input_format="jsonl"), []) != base  # --format: the same files, read otherwise


@pytest.mark.unit
def test_every_field_of_every_rule_counts():
    cfg = _config()
    base = fingerprint(cfg, [])
    rule = cfg.ruleset.rules[0]
    for change in ({"reason": rule.reason + "!"}, {"examples_keep": (*rule.examples_keep, "x")},
                   {"enabled": not rule.enabled}, {"literals": ("zzz",)}):
        edited = dataclasses.replace(rule, **change)
        ruleset = dataclasses.replace(cfg.ruleset, rules=[edited, *cfg.ruleset.rules[1:]])
        assert fingerprint(dataclasses.replace(cfg, ruleset=ruleset), []) != base, change


@pytest.mark.unit
def test_a_field_added_later_is_covered_without_change():
    @dataclasses.dataclass(frozen=True)
    class Later(RunConfig):
        new_setting: int = 1
        progress_bar: bool = dataclasses.field(default=False, metadata=NOT_FINGERPRINTED)

    cfg = _config()
    later = Later(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)})
    assert fingerprint(later, []) != fingerprint(dataclasses.replace(later, new_setting=2), [])
    assert fingerprint(later, []) == fingerprint(dataclasses.replace(later, progress_bar=True), [])


class Wrapped:
    """Like a compiled-pattern wrapper: says itself what identifies it."""

    def __init__(self, pattern: str, engine_state: object):
        self.pattern = pattern
        self.engine_state = engine_state  # e.g. a handle whose repr has an address

    def fingerprint(self):
        return {"pattern": self.pattern}


class Plain:
    def __init__(self, size: int):
        self.size = size


@pytest.mark.unit
def test_how_each_kind_of_object_is_walked():
    assert canonical(re.compile("a", re.IGNORECASE)) != canonical(re.compile("a"))
    assert canonical(Wrapped("a", object())) == canonical(Wrapped("a", object()))
    assert canonical(Wrapped("a", None)) != canonical(Wrapped("b", None))
    assert canonical(Plain(1)) != canonical(Plain(2))
    assert canonical({"b", "a", "c"}) == canonical({"c", "a", "b"})
    assert canonical({"x": 1.5}) != canonical({"x": 1.25})
    with pytest.raises(TypeError):
        canonical(object())  # its repr holds an address: no silent fingerprint from it


# What canonical() makes of keys and values: integers (some the prefix of others in text),
# strings (with quotes, backslashes, non-ASCII), and tagged lists such as floats and paths.
_canonical_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=6),
              st.floats(allow_nan=False).map(lambda x: ["float", repr(x)]),
              st.text(max_size=4).map(lambda p: ["path", p])),
    lambda inner: st.lists(inner, max_size=3), max_leaves=8)


@pytest.mark.unit
@given(st.lists(st.tuples(_canonical_values, _canonical_values), max_size=12))
def test_map_items_sort_as_the_whole_pairs_sort(pairs):
    # The reference is the order it replaced: each [key, value] pair's whole JSON text.
    items = [[key, value] for key, value in pairs]
    assert sorted_items(items) == sorted(items, key=_sort_key)


def test_the_fingerprint_is_the_same_in_every_process():
    code = ("from pathlib import Path; from curate.driver import RunConfig; from curate.rules import load_rules; "
            "from curate.fingerprint import fingerprint; "
            "print(fingerprint(RunConfig(inputs=(), output=Path('o'), ruleset=load_rules()), []))")
    prints = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
                             capture_output=True, text=True, check=True).stdout for seed in ("1", "2", "3")}
    assert len(prints) == 1
    assert prints == {fingerprint(_config(inputs=()), []) + "\n"}


def test_a_refused_resume_says_what_changed():
    """The fingerprint's parts, kept in run.json, name the files and settings that changed."""
    from curate.document import Problem
    from curate.fingerprint import changes

    class File:  # what the fingerprint reads of a discovered input file
        def __init__(self, source, size, stamp):
            self.source, self.size, self.stamp = source, size, stamp

    notes = Problem("notes.md", None, "unsupported file type", "skipped", lines=0)
    before = fingerprint(_config(), [File("a.txt", 1, 1), File("b.txt", 2, 2)], [notes])
    now = fingerprint(_config(chunk_items=5), [File("a.txt", 1, 3), File("c.txt", 2, 2)])
    assert before != now and str(before) == before  # a str, run.json keeps it as one
    said = changes(before.parts, now.parts)
    assert "the input files: a.txt (changed), b.txt (gone), c.txt (new)" in said
    assert "notes.md (gone)" in said and "other settings: --chunk-docs" in said
    assert changes(before.parts, before.parts) == ""


def test_resume_after_a_library_upgrade_is_refused_naming_it(tmp_path, monkeypatch):
    """`pip install -U ftfy` between a kill and --resume: the shards written before would
    be normalised by one release and the rest by another, one corpus of two makes. The
    resume is refused, naming the library and both versions; summary.json names what made
    the corpus. A library the run does not use (pyarrow beside a .txt run) changes nothing."""
    from curate import libraries

    rules, out = _stopped_run(tmp_path)
    installed = libraries._version

    def upgraded(name: str) -> str:
        return {"ftfy": "99.0", "pyarrow": "99.0"}.get(name) or installed(name)

    monkeypatch.setattr(libraries, "_version", upgraded)
    refused = _here(rules, out, "--resume")
    assert refused.returncode == 1
    assert f"(libraries: ftfy 99.0 (was {installed('ftfy')})), so it cannot be resumed" in refused.stderr
    monkeypatch.setattr(libraries, "_version", lambda name: "99.0" if name == "pyarrow" else installed(name))
    resumed = _here(rules, out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    made_with = json.loads((out / "summary.json").read_text())["settings"]["libraries"]
    assert made_with == {"charset-normalizer": installed("charset-normalizer"), "ftfy": installed("ftfy"),
                         "google-re2": installed("google-re2"), "langdetect": installed("langdetect"),
                         "python": ".".join(platform.python_version_tuple()[:2]),
                         "regex": installed("regex"), "unicode": unicodedata.unidata_version}


def test_the_libraries_named_are_those_the_run_uses():
    from curate.libraries import libraries_for, library_changes

    jsonl = libraries_for(["normalise", "noise"], {"jsonl"}, "jsonl", "auto")
    assert set(jsonl) == {"python", "unicode", "ftfy", "google-re2", "regex"}
    assert set(libraries_for([], {"parquet", "txt", "wet"}, "jsonl.zst", "utf-8")) == \
        {"python", "unicode", "pyarrow", "fastwarc", "zstandard"}
    assert "charset-normalizer" in libraries_for([], {"txt"}, "jsonl", "auto")
    assert library_changes({"ftfy": "1", "pyarrow": "2"}, {"ftfy": "3", "zlib": "4"}) == \
        "libraries: ftfy 3 (was 1), zlib 4 (not used before), pyarrow (no longer used)"
    assert library_changes({"ftfy": "1"}, {"ftfy": "1"}) == ""


def test_entries_never_read_are_not_fingerprinted_other_skipped_entries_are(tmp_path):
    """Another run's output folder, a --timings file or a hidden name in the input folder
    is said last and left out of the fingerprint (a resume is not refused for one that
    came or went); an unsupported file, one of the run's first items, is in it."""
    from curate.driver import plan

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("A page about the river and the mountain.\n")

    def planned():
        return plan(RunConfig(inputs=(src,), output=tmp_path / "out", ruleset=load_rules()))

    bare = planned()
    assert in_process("run", src, "-o", src / "b", "-q").returncode == 0
    (src / "t.json").write_text(json.dumps({"seconds": {"wall": 1.0}, "input_bytes": 3}))
    with_own = planned()
    assert [p.source for p in with_own.discovery.trailing] == ["b", "t.json"]
    assert with_own.fingerprint() == bare.fingerprint()
    (src / ".a.txt.swp").write_text("swap")
    with_swap = planned()
    assert [p.source for p in with_swap.discovery.trailing] == ["b", ".a.txt.swp", "t.json"]  # walk order
    assert with_swap.fingerprint() == bare.fingerprint()
    (src / "notes.md").write_text("# notes")
    assert planned().fingerprint() != bare.fingerprint()
