"""A language rule whose code the language model never writes is refused before the run,
with the code it most likely meant: `--keep-lang eng` once dropped an English corpus whole
and exited 0."""

from __future__ import annotations

import json

import pytest
from conftest import MIXED, invoke

import curate
from curate.language_codes import meant, unknown_code_message, written_codes
from curate.stages.language import profile_names


def _run(tmp_path, *extra: str):
    return invoke("run", MIXED, "-o", tmp_path / "out", "-q", "--no-project-rules", *extra)


@pytest.mark.unit
def test_langdetect_writes_its_profiles_iso_codes_and_und():
    codes = written_codes("langdetect")
    # 55 profiles, two of them Chinese (zh-cn, zh-tw), which the language stage writes as zh.
    assert len(profile_names()) == 55 and len(codes) == 55
    assert {"en", "de", "zh", "und"} <= codes and not {"zh-cn", "zh-tw"} & codes


@pytest.mark.unit
def test_the_labels_of_real_documents_are_among_the_written_codes():
    texts = ["The river rises in the hills above the town and runs south through farmland.",
             "Der Fluss entspringt in den Hügeln oberhalb der Stadt und fließt nach Süden.",
             "河流发源于城镇上方的山丘，向南流经农田，最后汇入大海。",
             "Поезд отправляется с третьего пути через десять минут после прибытия."]
    results = curate.process([{"id": str(k), "text": text} for k, text in enumerate(texts)], ruleset=curate.ruleset())
    labels = [result.record["language"] for result in results if result.record]
    assert labels == ["en", "de", "zh", "ru"]
    assert set(labels) <= written_codes("langdetect")


@pytest.mark.unit
@pytest.mark.parametrize(("code", "langdetect", "py3langid"), [
    ("eng", "en", "en"),            # ISO 639-3, as GlotLID and lid.218 write it
    ("eng_Latn", "en", "en"),       # with its script
    ("__label__de", "de", "de"),    # fastText's label as it prints it
    ("en-US", "en", "en"),
    ("EN", "en", "en"),
    ("english", "en", "en"),
    ("ger", "de", "de"),            # ISO 639-2/B
    ("zh-cn", "zh", "zh"),          # langdetect's profile name: the language stage writes zh
    ("zh-Hant", "zh", "zh"),
    ("zho_Hans", "zh", "zh"),
    ("nb", "no", "no"),
    ("fil", "tl", "tl"),
    ("xx", None, None),
])
def test_a_code_the_model_never_writes_is_matched_to_what_it_meant(code, langdetect, py3langid):
    assert meant(code, "langdetect") == langdetect
    pytest.importorskip("py3langid")
    assert meant(code, "py3langid") == py3langid


@pytest.mark.unit
def test_every_suggestion_is_a_code_the_model_writes():
    from curate import language_codes

    for name in language_codes._TO_CODE:
        assert meant(name, "langdetect") in written_codes("langdetect") | {None}


@pytest.mark.unit
def test_a_language_only_the_other_model_knows_says_so():
    pytest.importorskip("py3langid")
    message = unknown_code_message("eu", "langdetect")
    assert "langdetect never labels a document 'eu'" in message
    assert "--language-model py3langid writes it" in message and ", zh)" in message


def test_keep_lang_with_a_code_langdetect_never_writes_is_refused_before_any_output(tmp_path):
    result = _run(tmp_path, "--keep-lang", "en,eng")
    assert result.exit_code == 2
    assert "langdetect never labels a document 'eng'" in result.output and "did you mean 'en'?" in result.output
    assert not (tmp_path / "out").exists()
    chinese = _run(tmp_path, "--keep-lang", "zh-cn")  # langdetect's profile, not a label it writes
    assert chinese.exit_code == 2 and "did you mean 'zh'?" in chinese.output


def test_keep_lang_in_another_standard_is_refused_with_the_code_to_write(tmp_path):
    for code in ("eng_Latn", "English", "en-US"):
        result = _run(tmp_path, "--keep-lang", code)
        assert result.exit_code == 2 and f"{code!r} is not a language code" in result.output
        assert "did you mean 'en'?" in result.output


def test_keep_lang_with_codes_the_model_writes_runs(tmp_path):
    result = _run(tmp_path, "--keep-lang", "en,zh,und")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["documents"]["written"] > 0


def test_a_rule_file_with_a_code_the_model_never_writes_is_refused_naming_the_file(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "lang.toml").write_text('''
[[rule]]
name = "only-basque"
scope = "document"
reason = "not Basque"
stat = "language"
languages = ["eu"]
examples.match = ["The river rises in the hills above the town and runs south through farmland."]
''', encoding="utf-8")
    result = _run(tmp_path, "--rules", rules)
    assert result.exit_code == 1
    assert "lang.toml: rule 'only-basque': langdetect never labels a document 'eu'" in result.output
    pytest.importorskip("py3langid")
    assert "--language-model py3langid writes it" in result.output
    with_py3langid = _run(tmp_path, "--rules", rules, "--language-model", "py3langid")
    assert with_py3langid.exit_code == 0, with_py3langid.output
