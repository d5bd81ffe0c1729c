"""Whole output files, byte for byte, against the golden copies in tests/golden/.

Each case runs the installed `curate` as a real process and compares every file of its
output folder with tests/golden/<case>/; the variants (two workers, a chunk per document,
the Ray engine) must give the very same bytes, so they are compared with the same copies.
summary.json is compared whole, rule files' sha256 and curate's version included: it is
part of the output, and a change to a rule file or the version is a change to review like
any other; only the absolute paths of its "inputs" are replaced by placeholders in both
copies (conftest.portable_summary), since the checkout lies elsewhere on every machine.
After a change made on purpose, `pytest --update-golden` rewrites the copies
(from the plain variant only); review them with `git diff tests/golden` before committing.
"""

from __future__ import annotations

import json
import re
from itertools import zip_longest
from pathlib import Path

import pytest
from conftest import (
    GOLDEN,
    MIXED,
    SEEDS,
    corpus_bytes,
    corpus_shards,
    output_files,
    portable_summary,
    run_process,
)

# The golden corpus.jsonl is the corpus/ shards joined: the same bytes for any --chunk-docs
# (and the single corpus.jsonl of curate before output schema 1).
FILES = ("README.md", "corpus.jsonl", "quarantine.jsonl", "removed.jsonl", "summary.json")
WRITTEN = ["README.md", "corpus", "quarantine.jsonl", "removed.jsonl", "summary.json"]
# The project's ./rules/ is left out, so the copies do not change when this repository's
# own example rule does; cwd is a temporary folder for the same reason.
CASES = {
    "seeds-run": ("run", SEEDS, "--no-project-rules"),
    "seeds-dedup": ("dedup", SEEDS),
    "mixed-run": ("run", MIXED, "--no-project-rules"),
    "mixed-dedup": ("dedup", MIXED),
}
VARIANTS = {
    "plain": (),  # the one --update-golden writes
    "workers-2": ("--workers", "2"),
    "workers-2-chunk-1": ("--workers", "2", "--chunk-docs", "1"),  # many chunks joined at the end
}
WIDTH = 300  # characters of a differing line shown


def _run(case: str, extra: tuple[str, ...], tmp_path: Path, **kwargs) -> Path:
    out = tmp_path / "out"
    command, *args = CASES[case]
    result = run_process(command, *args, "-o", out, "-q", *extra, cwd=tmp_path, timeout=300, **kwargs)
    assert result.returncode == 0, result.stderr
    return out


def _lines(data: bytes) -> list[bytes]:
    """The file's lines; a last line without its newline is a line too (and differs)."""
    lines = data.split(b"\n")
    return lines[:-1] if lines[-1] == b"" else lines


def _shorten(line: bytes | None) -> str:
    if line is None:
        return "(none: the file has ended)"
    text = line.decode("utf-8", "backslashreplace")
    return text if len(text) <= WIDTH else text[:WIDTH] + f"... ({len(text)} characters)"


def _fields_that_differ(expected: bytes, actual: bytes) -> str:
    """For two JSONL records, the names of the fields whose values differ."""
    try:
        a, b = json.loads(expected), json.loads(actual)
    except ValueError:
        return ""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return ""
    names = sorted(k for k in a.keys() | b.keys() if a.get(k, ...) != b.get(k, ...))
    return f"\n  fields that differ: {', '.join(names)}" if names else ""


def first_difference(name: str, expected: bytes, actual: bytes) -> str:
    """Where two files first differ, as a person reads it: line number, both lines, and
    for JSON records which fields changed."""
    old, new = _lines(expected), _lines(actual)
    for number, (a, b) in enumerate(zip_longest(old, new), 1):  # noqa: B007 - read after the loop
        if a != b:
            break
    else:
        return f"{name}: the same lines, but only one of the two files ends with a newline"
    before = "".join(f"\n    {n:>5}  {_shorten(line)}" for n, line in enumerate(old[max(0, number - 3):number - 1],
                                                                            max(1, number - 2)))
    fields = _fields_that_differ(a, b) if a is not None and b is not None else ""
    return (f"{name}: first difference at line {number} (golden: {len(expected)} bytes, {len(old)} lines; "
            f"this run: {len(actual)} bytes, {len(new)} lines)"
            + (f"\n  before it:{before}" if before else "")
            + f"\n  golden:   {_shorten(a)}\n  this run: {_shorten(b)}" + fields)


def _output(out: Path, name: str) -> bytes:
    if name == "corpus.jsonl":
        return corpus_bytes(out)
    data = (out / name).read_bytes()
    return portable_summary(data, out.parent) if name == "summary.json" else data


def _golden(golden: Path, name: str) -> bytes:
    data = (golden / name).read_bytes()
    return portable_summary(data) if name == "summary.json" else data


def _compare(case: str, out: Path) -> None:
    golden = GOLDEN / case
    if not golden.is_dir():
        pytest.fail(f"{golden} does not exist: run `pytest --update-golden tests/test_golden.py` to write it")
    written = sorted(p.name for p in out.iterdir())
    assert written == WRITTEN, f"the output folder holds {written}, expected {WRITTEN}"
    shards = [p.name for p in corpus_shards(out)]
    # One per chunk that kept a document, named by the chunk's number.
    assert shards and all(re.fullmatch(r"part-\d{5}\.jsonl", name) for name in shards), shards
    problems = [first_difference(name, _golden(golden, name), _output(out, name))
                for name in FILES if _golden(golden, name) != _output(out, name)]
    if problems:
        pytest.fail(f"output of case {case!r} differs from {golden}:\n" + "\n".join(problems)
                    + "\nIf the change is intended: `pytest --update-golden`, then review `git diff tests/golden`.",
                    pytrace=False)


@pytest.mark.parametrize(("case", "variant"), [(c, v) for c in CASES for v in VARIANTS])
def test_output_equals_the_golden_files(case, variant, tmp_path, update_golden):
    out = _run(case, VARIANTS[variant], tmp_path)
    if update_golden and variant == "plain":
        golden = GOLDEN / case
        golden.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            (golden / name).write_bytes(_output(out, name))
        return
    _compare(case, out)


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_the_ray_engine_writes_the_golden_files(case, tmp_path, ray_cluster):
    options, env = ray_cluster
    _compare(case, _run(case, options, tmp_path, env=env))


@pytest.mark.slow
def test_the_ray_engine_writes_compressed_shards_byte_for_byte_as_the_local_engine(tmp_path, ray_cluster):
    options, env = ray_cluster
    sharded = ("--output-format", "jsonl.zst", "--chunk-docs", "2")
    (tmp_path / "local").mkdir()
    (tmp_path / "ray").mkdir()
    local = _run("mixed-run", sharded, tmp_path / "local")
    ray = _run("mixed-run", (*options, *sharded), tmp_path / "ray", env=env)
    assert len(list((local / "corpus").iterdir())) > 1
    assert output_files(ray) == output_files(local)


@pytest.mark.unit
def test_a_difference_is_shown_by_line_and_field():
    golden = b'{"a":1,"b":"x"}\n{"a":2,"b":"y"}\n'
    message = first_difference("removed.jsonl", golden, b'{"a":1,"b":"x"}\n{"a":3,"b":"y"}\n')
    assert "first difference at line 2" in message and "fields that differ: a" in message
    assert '1  {"a":1,"b":"x"}' in message  # the line before it, for bearings
    assert "(none: the file has ended)" in first_difference("corpus.jsonl", golden, golden.split(b"\n")[0] + b"\n")
    assert "ends with a newline" in first_difference("summary.json", golden, golden[:-1])
