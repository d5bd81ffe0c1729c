"""Document rules through the real CLI: --enable and --keep-lang, the audit and the
summary's accounting, and the same bytes with --workers 2, after --resume and on Ray."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import (
    MIXED,
    NOISE_DEV,
    ROOT,
    SEEDS,
    in_process,
    invoke,
    output_files,
    read_corpus,
    read_jsonl,
    run_process,
)
from test_accounting import check_txt_accounting

ALL_PACKS = "gopher-quality,gopher-repetition,c4,fineweb"


def _run(inputs, out: Path, *extra: str):
    return invoke("run", *inputs, "-o", out, "-q", "--no-project-rules", *extra)


def test_packs_on_noise_dev_close_the_accounting_and_count_dropped_documents(tmp_path):
    out = tmp_path / "out"
    result = _run([NOISE_DEV], out, "--enable", ALL_PACKS)
    assert result.exit_code == 0, result.output
    assert check_txt_accounting(NOISE_DEV, out) > 0  # every line kept, removed or quarantined, once
    summary = json.loads((out / "summary.json").read_text())
    removed = read_jsonl(out / "removed.jsonl")
    by_doc: dict[str, set[str]] = {}
    for rec in removed:
        if rec["reason"].startswith("doc:"):
            assert rec["stage"] == "documents" and rec["detail"]
            by_doc.setdefault(rec["doc"], set()).add(rec["reason"][4:])
    dropped = Counter(rule for rules in by_doc.values() for rule in rules)
    assert all(len(rules) == 1 for rules in by_doc.values())  # one rule drops a document
    assert dropped and summary["documents"]["dropped_by_rule"] == dict(dropped)
    lines = summary["lines"]
    assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"]
    assert lines["removed"] == len(removed)
    kept_ids = {rec["id"] for rec in read_corpus(out)}
    assert not kept_ids & set(by_doc)  # a dropped document writes no corpus record
    assert summary["settings"]["stages"][-1] == "documents"
    assert "gopher-word-count" in summary["settings"]["enabled_rules"]
    assert {f["file"] for f in summary["rules"]} >= {"c4.toml", "fineweb.toml", "gopher-quality.toml"}


def test_without_document_rules_the_summary_is_as_before(tmp_path):
    out = tmp_path / "out"
    assert _run([MIXED / "page1.txt"], out).exit_code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert "documents" not in summary["settings"]["stages"] and "enabled_rules" not in summary["settings"]
    assert "dropped_by_rule" not in summary["documents"]
    # Pack files whose rules all stay off cannot change a byte: not listed.
    assert not {f["file"] for f in summary["rules"]} & {"c4.toml", "fineweb.toml", "gopher-quality.toml"}


def test_a_document_rule_that_drops_nothing_is_counted_as_such(tmp_path):
    """docs/output.md: with a document rule on, `documents` has `dropped_by_rule`; it was
    left out when the rules dropped nothing (`--enable c4` on the seeds), so a reader could
    not tell "no document dropped" from "no document rule ran". The same with two workers."""
    out = tmp_path / "out"
    result = _run([SEEDS], out, "--enable", "c4")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["documents"] == {"dropped_by_rule": {}, "emptied": 0, "quarantined": 0, "read": 5, "written": 5}
    assert summary["settings"]["stages"][-1] == "documents"
    assert _run([SEEDS], tmp_path / "w2", "--enable", "c4", "--workers", "2").exit_code == 0
    assert (tmp_path / "w2" / "summary.json").read_bytes() == (out / "summary.json").read_bytes()


PARAGRAPH = ("The river rises in the hills above the town and runs south through farmland for about forty "
             "miles, and the old stone bridge has been closed twice in the last ten years.")
LONG_RULE = """
[[rule]]
name = "long-doc"
scope = "document"
reason = "longer than 40 words"
stat = "words"
max = 40
examples.match = ["{long}"]
examples.keep = ["a short note"]
""".format(long=" ".join(["word"] * 41))


def test_a_dropped_document_does_not_enter_the_dedup_index(tmp_path):
    # The first record holds the paragraph and more (too long: dropped); the second holds
    # only the paragraph, which would be its copy had the first been indexed.
    (tmp_path / "in").mkdir()
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "long.toml").write_text(LONG_RULE)
    records = [{"id": "long", "text": PARAGRAPH + "\n\n" + PARAGRAPH.replace("river", "canal").upper()},
               {"id": "short", "text": PARAGRAPH}]
    (tmp_path / "in" / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out"
    assert _run([tmp_path / "in"], out, "--rules", tmp_path / "rules").exit_code == 0
    assert [r["id"] for r in read_corpus(out)] == ["short"]
    reasons = {(r["doc"], r["reason"]) for r in read_jsonl(out / "removed.jsonl")}
    assert reasons == {("long", "doc:long-doc")}
    # And with the rule off, the second record is the first's copy: the test can fail.
    again = tmp_path / "again"
    assert _run([tmp_path / "in"], again).exit_code == 0
    assert ("short", "duplicate") in {(r["doc"], r["reason"]) for r in read_jsonl(again / "removed.jsonl")}


def test_keep_lang_keeps_only_the_listed_languages(tmp_path):
    out = tmp_path / "out"
    assert _run([MIXED], out, "--keep-lang", "de").exit_code == 0
    kept = read_corpus(out)
    assert kept and {r["language"] for r in kept} == {"de"}
    removed = [r for r in read_jsonl(out / "removed.jsonl") if r["reason"] == "doc:keep-lang"]
    assert removed and all("labelled" in r["detail"] for r in removed)
    both = tmp_path / "both"
    assert _run([MIXED], both, "--keep-lang", "de", "--keep-lang", "en").exit_code == 0
    assert {r["language"] for r in read_corpus(both)} == {"de", "en"}


def test_the_summary_names_the_languages_kept_and_a_language_model_other_than_the_default(tmp_path):
    """Both change which text is written, so summary.json's settings must tell runs apart
    (it named only the rule keep-lang, so --keep-lang en and --keep-lang fr looked alike)."""
    settings = {}
    for name, extra in (("en", ("--keep-lang", "en,de")), ("fr", ("--keep-lang", "fr")), ("plain", ())):
        assert _run([MIXED], tmp_path / name, *extra).exit_code == 0
        settings[name] = json.loads((tmp_path / name / "summary.json").read_text())["settings"]
    assert settings["en"]["keep_languages"] == ["de", "en"] and settings["fr"]["keep_languages"] == ["fr"]
    assert "keep_languages" not in settings["plain"] and "language_model" not in settings["plain"]
    pytest.importorskip("py3langid")
    assert _run([MIXED], tmp_path / "py", "--language-model", "py3langid").exit_code == 0
    assert json.loads((tmp_path / "py" / "summary.json").read_text())["settings"]["language_model"] == "py3langid"


@pytest.mark.parametrize("given", ["", ",", " , "])
def test_a_keep_lang_that_names_no_code_is_refused(tmp_path, given):
    result = _run([MIXED], tmp_path / "out", "--keep-lang", given)
    assert result.exit_code == 2 and "names no language code" in result.output
    assert not (tmp_path / "out").exists()


def test_unknown_pack_is_refused_with_the_known_names(tmp_path):
    result = _run([MIXED], tmp_path / "out", "--enable", "gopher")
    assert result.exit_code == 2  # a mistake on the command line, as click's own
    assert ("no pack or rule named gopher; packs: c4, datatrove-readings, fineweb, gopher-quality, "
            "gopher-repetition") in result.output
    assert not (tmp_path / "out").exists()
    bad = _run([MIXED], tmp_path / "out", "--keep-lang", "english")
    assert bad.exit_code == 2 and "'english' is not a language code" in bad.output


def test_rules_list_shows_packs_off_until_enabled():
    listed = invoke("rules", "list", "--no-project-rules")
    row = next(line for line in listed.output.splitlines() if line.startswith("gopher-stopwords "))
    assert row.split()[1:3] == ["document", "off"]
    assert "gopher-quality (0 of 8 on)" in listed.output
    on = invoke("rules", "list", "--no-project-rules", "--enable", "gopher-quality")
    assert "gopher-quality (8 of 8 on)" in on.output


def test_run_help_teaches_enable_and_keep_lang():
    text = invoke("run", "--help").output
    assert "--enable NAME[,NAME...]" in text and "gopher-quality" in text
    assert "--keep-lang CODE[,CODE...]" in text and "--keep-lang en" in text


def test_workers_2_writes_the_same_bytes_with_packs_on(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    args = ("--enable", ALL_PACKS, "--keep-lang", "en,de")
    assert _run([NOISE_DEV, MIXED], one, *args).exit_code == 0
    assert _run([NOISE_DEV, MIXED], two, *args, "--workers", "2").exit_code == 0
    assert b'"reason":"doc:' in (one / "removed.jsonl").read_bytes()
    assert output_files(one) == output_files(two)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import generate

    folder = tmp_path_factory.mktemp("corpus")
    generate(1.0, folder)  # about 330 documents in several languages: 17 chunks of 20
    return folder / "corpus.jsonl"


PACK_ARGS = ("--enable", "gopher-quality,gopher-repetition", "--keep-lang", "en,de,fr")


def _command(corpus: Path, out: Path, *extra: str) -> list[str]:
    exe = Path(sys.executable).parent / "curate"
    return [str(exe), "run", str(corpus), "-o", str(out), "-q", "--chunk-docs", "20", "--no-project-rules",
            *PACK_ARGS, *extra]


STRACE = shutil.which("strace") or "/usr/bin/strace"


@pytest.mark.slow
@pytest.mark.skipif(not Path(STRACE).exists(), reason="needs strace")
def test_resume_after_a_kill_writes_the_same_bytes_with_packs_on(corpus, tmp_path):
    reference = tmp_path / "reference"
    done = in_process(*_command(corpus, reference)[1:], cwd=ROOT / "tests")  # the kill is the process's
    assert done.returncode == 0, done.stderr
    assert b'"reason":"doc:' in (reference / "removed.jsonl").read_bytes()
    out = tmp_path / "out"
    # Killed by strace as it marks the third chunk finished: waiting for the markers to
    # appear and then killing it missed them, as a run of four batches on two workers
    # seals its 17 chunks within 40 ms at the end.
    marker = out / ".partial" / "000002.done"
    proc = subprocess.Popen([STRACE, "-f", "-qq", "-o", "/dev/null", "-P", str(marker), "-e", "trace=openat",
                             "-e", "inject=openat:signal=KILL", *_command(corpus, out, "--workers", "2")],
                            cwd=ROOT / "tests", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.wait(timeout=120)
    time.sleep(1)  # its workers notice their parent is gone and end
    assert not (out / "summary.json").exists()
    assert len(list((out / ".partial").glob("*.done"))) == 2
    resumed = in_process(*_command(corpus, out, "--workers", "2", "--resume")[1:], cwd=ROOT / "tests")
    assert resumed.returncode == 0, resumed.stderr
    assert output_files(out) == output_files(reference)


@pytest.mark.slow
def test_ray_writes_the_local_engines_bytes_with_packs_on(corpus, tmp_path, ray_cluster):
    ray_options, env = ray_cluster
    local, ray = tmp_path / "local", tmp_path / "ray"
    for out, extra in ((local, ("--workers", "2")), (ray, ray_options)):
        result = run_process("run", corpus, "-o", out, "-q", "--no-project-rules", *PACK_ARGS, *extra, env=env)
        assert result.returncode == 0, result.stderr
    assert b'"reason":"doc:' in (local / "removed.jsonl").read_bytes()
    assert output_files(ray) == output_files(local)


STOPWORD_RULE = """
[[rule]]
name = "few-stopwords"
scope = "document"
reason = "fewer than two stop words"
stat = "stopwords"
params = { words = ["için", "bir", "ve", "the", "with", "der", "und"] }
min = 2
examples.match = ["Köprü kapandı."]
examples.keep = ["KÖPRÜ BİR YIL İÇİN KAPANDI.", "THE BRIDGE CLOSED WITH NO WARNING."]
"""


def test_capitalised_stop_words_count_in_turkish_as_in_english_and_german(tmp_path):
    """str.lower made "İÇİN" "i̇çi̇n" (an i and a combining dot): a Turkish document in
    capitals had no stop word, failed the rule's own keep example and was dropped."""
    rules, inputs, out = tmp_path / "my-rules", tmp_path / "in", tmp_path / "out"
    rules.mkdir()
    inputs.mkdir()
    (rules / "stopwords.toml").write_text(STOPWORD_RULE, encoding="utf-8")
    texts = {"tr": "KÖPRÜ BİR YIL İÇİN KAPANDI.", "en": "THE BRIDGE CLOSED WITH NO WARNING.",
             "de": "DER FLUSS UND DIE BRÜCKE.", "none": "Köprü kapandı."}
    for name, text in texts.items():
        (inputs / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
    tested = in_process("rules", "test", "--no-builtin-rules", rules, cwd=tmp_path)
    assert tested.returncode == 0 and "ok   few-stopwords (3 examples)" in tested.stdout, tested.stdout
    result = in_process("run", inputs, "-o", out, "-q", "--no-builtin-rules", "--rules", rules, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(rec["source"] for rec in read_corpus(out)) == ["de.txt", "en.txt", "tr.txt"]
    assert {(r["doc"], r["reason"]) for r in read_jsonl(out / "removed.jsonl")} == {("none.txt", "doc:few-stopwords")}
