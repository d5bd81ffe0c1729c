"""The worked examples of docs/architecture.md, each one file plus one registration line,
run through the real driver."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from conftest import SEEDS, portable_summary, read_corpus, read_jsonl
from test_accounting import check_txt_accounting

from curate import stages
from curate.driver import RunConfig, plan, run
from curate.rules import load_rules

TOY_PIPELINE = ("read", "normalise", "short-lines", "signature", "dedup")


@pytest.fixture
def short_lines(monkeypatch):
    # The registration line of docs/architecture.md, made at run time.
    monkeypatch.setitem(stages.STAGES, "short-lines", "toys.short_lines:DropShortLines")


def _config(out: Path, **changes) -> RunConfig:
    cfg = RunConfig(inputs=(SEEDS,), output=out, ruleset=load_rules(), stages=TOY_PIPELINE)
    return dataclasses.replace(cfg, **changes)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_toy_stage_drops_short_lines_with_its_reason(short_lines, tmp_path, workers):
    out = tmp_path / "out"
    summary = run(_config(out, workers=workers))
    short = [r for r in read_jsonl(out / "removed.jsonl") if r["stage"] == "short-lines"]
    assert short and all(r["reason"] == "too-short" and len(r["removed"].strip()) < 20 for r in short)
    kept_lines = [line for rec in read_corpus(out) for line in rec["text"].splitlines() if line]
    assert kept_lines and all(len(line) >= 20 for line in kept_lines)
    assert summary.removed["too-short"] == len(short)
    assert check_txt_accounting(SEEDS, out) == summary.lines_read


def test_the_toy_stage_runs_where_the_pipeline_puts_it(short_lines, tmp_path):
    # Without the noise stage the rule files remove nothing: every removal is the toy's or dedup's.
    run(_config(tmp_path / "out"))
    stages_seen = {r["stage"] for r in read_jsonl(tmp_path / "out" / "removed.jsonl")}
    assert stages_seen <= {"normalise", "short-lines", "dedup"} and "short-lines" in stages_seen


def test_a_setting_of_the_toy_stage_changes_the_fingerprint(short_lines, tmp_path):
    from toys.short_lines import DropShortLines

    cfg = _config(tmp_path / "out")
    base = plan(cfg)
    other = plan(cfg)
    other.stages[2] = DropShortLines(min_chars=40)
    assert base.fingerprint() == plan(cfg).fingerprint()
    assert other.fingerprint() != base.fingerprint()


def test_an_unknown_stage_is_refused_with_the_valid_names(tmp_path):
    from curate.errors import UsageError

    with pytest.raises(UsageError, match=r"unknown stage 'short-lines'; choose from: read, normalise"):
        plan(_config(tmp_path / "out"))


def test_the_toy_sink_writes_a_whole_run_as_text_shards_of_the_golden_corpus(monkeypatch, tmp_path):
    from toys.sink import TextSink

    from curate import formats

    monkeypatch.setattr(formats, "_SINKS", dict(formats._SINKS))  # the registration stays in this test
    formats.register_sink(TextSink())  # the registration line of docs/architecture.md
    out = tmp_path / "out"
    run(_config(out, stages=stages.RUN_PIPELINE, sink="text", chunk_items=2))
    golden = Path(__file__).parent / "golden" / "seeds-run"
    shards = sorted((out / "corpus").iterdir())
    assert [p.name for p in shards] == ["part-00000.txt", "part-00001.txt", "part-00002.txt"]  # 5 pages, 2 a chunk
    texts = [json.loads(line)["text"] for line in (golden / "corpus.jsonl").read_text().splitlines()]
    assert b"".join(p.read_bytes() for p in shards) == "".join(t + "\n\n" for t in texts).encode()
    for name in ("removed.jsonl", "quarantine.jsonl"):  # the audit files are JSON Lines whatever the sink
        assert (out / name).read_bytes() == (golden / name).read_bytes()
    summary = json.loads(portable_summary((out / "summary.json").read_bytes()))
    assert summary.pop("output") == {"corpus": "corpus/", "format": "text", "schema_version": 2}
    assert summary == {k: v for k, v in json.loads((golden / "summary.json").read_text()).items() if k != "output"}
