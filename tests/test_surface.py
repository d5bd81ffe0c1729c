"""What the commands around a run say: the document counts of the summary table, summary.json
and the report; the report's by-source table; -o - ; option names; --inputs-from errors;
explain's output; the top-level help; exit statuses of mistakes. Each through the real CLI,
on files written here."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from conftest import in_process

OTHER = "A storm closed the northern ferry route for three days, and the island's shops ran short of bread.\n"
SENTENCE = "The harbour authority said on Monday that the new terminal would open in the spring, two years late.\n"


def _text(page: str) -> str:
    """The page's text, a table row a line."""
    page = re.sub(r"<svg.*?</svg>", "", page, flags=re.S)
    page = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"</tr>|</p>", "\n", page)))
    return re.sub(r"[ \t]+", " ", page)


@pytest.fixture
def mixed(tmp_path) -> Path:
    """A good page, a binary .txt, a whitespace-only .txt, and a JSONL file with one good
    record, two invalid ones and a record whose text is no string."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.txt").write_text(SENTENCE)
    (inputs / "b.txt").write_bytes(b"\x00\x01\x02binary\xff\xfe")
    (inputs / "blank.txt").write_text("   \n\n")
    (inputs / "r.jsonl").write_text(json.dumps({"text": OTHER}) + '\n{"text": broken\nnot json\n{"text": 5}\n')
    return inputs


# -- 1. document counts ----------------------------------------------------------------------


def test_documents_add_up_in_the_table_and_summary_json(mixed, tmp_path):
    done = in_process("run", mixed, "-o", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    documents = json.loads((tmp_path / "out" / "summary.json").read_text())["documents"]
    # a.txt and the good record written; b.txt and blank.txt quarantined; the three bad
    # records could not be read as documents: they are problems, not documents
    assert documents == {"read": 4, "written": 2, "emptied": 0, "quarantined": 2}
    assert documents["read"] == documents["written"] + documents["emptied"] + documents["quarantined"]
    table = dict(re.findall(r"^(\S.*?)\s{2,}([\d,]+)$", done.stderr, re.M))
    assert table["documents read"] == "4"
    assert table["documents emptied (every line removed)"] == "0"
    assert table["documents quarantined (nothing kept or removed)"] == "2"


def test_a_document_with_a_line_removed_and_none_kept_is_emptied(tmp_path):
    (tmp_path / "a.txt").write_text(SENTENCE)
    (tmp_path / "copy.txt").write_text(SENTENCE)
    done = in_process("run", tmp_path / "a.txt", tmp_path / "copy.txt", "-o", tmp_path / "out", "-q")
    assert done.returncode == 0, done.stderr
    documents = json.loads((tmp_path / "out" / "summary.json").read_text())["documents"]
    assert documents == {"read": 2, "written": 1, "emptied": 1, "quarantined": 0}


def test_a_note_of_no_lines_about_a_kept_record_is_no_quarantined_document(tmp_path):
    """A repeated name (kept, with a note of 0 lines at its line) and a trailing comma are
    notes about records that are written or about none; the invalid record is a problem."""
    kept = json.dumps(SENTENCE.strip())
    (tmp_path / "a.jsonl").write_text(f'{{"text": {kept}, "n": 1, "n": 2}}\n{{oops\n')
    other = json.dumps("Rain is expected across the north of the country until late on Friday.")
    (tmp_path / "b.json").write_text(f'[{{"text": {other}}},]\n')
    done = in_process("run", tmp_path / "a.jsonl", tmp_path / "b.json", "-o", tmp_path / "out", "-q")
    assert done.returncode == 0, done.stderr
    documents = json.loads((tmp_path / "out" / "summary.json").read_text())["documents"]
    assert documents == {"read": 2, "written": 2, "emptied": 0, "quarantined": 0}


def test_the_report_counts_documents_as_summary_json_does(mixed, tmp_path):
    pytest.importorskip("matplotlib")
    assert in_process("run", mixed, "-o", tmp_path / "out", "-q").returncode == 0
    done = in_process("report", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    text = _text((tmp_path / "out" / "report.html").read_text())
    assert re.search(r"\b4 documents read\b", text.replace("\n", " ")), text
    assert re.search(r"\b2 documents quarantined\b", text.replace("\n", " "))
    assert ("Characters of the non-blank lines of each document with a line kept or removed: 2 documents before, "
            "2 after (0 emptied, not drawn after). Every such document is counted, in 48 bins per axis. The 2 "
            "documents quarantined (no line kept or removed; quarantine.jsonl) are not drawn.") in text


# -- 2. the report's by-source table ---------------------------------------------------------


def test_the_report_lists_quarantined_lines_by_source(mixed, tmp_path):
    pytest.importorskip("matplotlib")
    assert in_process("run", mixed, "-o", tmp_path / "out", "-q").returncode == 0
    assert in_process("report", tmp_path / "out").returncode == 0
    text = _text((tmp_path / "out" / "report.html").read_text())
    table = text[text.index("The figures, by source"):text.index("Languages")]
    rows = {row.split()[0]: [int(v) for v in row.split()[1:]] for row in table.strip().splitlines()[1:]
            if row.strip()}
    assert table.split("\n")[0].split() == ["The", "figures,", "by", "source", "source", "lines", "kept", "lines",
                                            "removed", "lines", "quarantined"]
    assert rows == {"a.txt": [1, 0, 0], "r.jsonl": [1, 0, 3], "b.txt": [0, 0, 1], "blank.txt": [0, 0, 0]}
    lines = json.loads((tmp_path / "out" / "summary.json").read_text())["lines"]
    assert sum(sum(row) for row in rows.values()) == lines["read"]
    problems = text[text.index("Problems, by kind"):]
    assert " kind problems \n" in problems and "invalid JSON 2" in problems


# -- 3. -o - ---------------------------------------------------------------------------------


@pytest.fixture
def with_copies(tmp_path) -> Path:
    (tmp_path / "a.txt").write_text(SENTENCE)
    (tmp_path / "b.txt").write_text(SENTENCE)
    out = tmp_path / "out"
    assert in_process("run", tmp_path / "a.txt", tmp_path / "b.txt", "-o", out, "-q").returncode == 0
    return out


def test_clusters_dash_writes_standard_output(with_copies, tmp_path):
    for _ in range(2):  # no file named "-" is left to refuse the second time
        done = in_process("clusters", with_copies, "-o", "-", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stderr == "1 cluster (1 copy) written to standard output (0.00 MB)\n"
        records = [json.loads(line) for line in done.stdout.splitlines()]
        assert [r["kept"]["source"] for r in records] == ["a.txt"]
        assert not (tmp_path / "-").exists()


def test_report_dash_writes_the_page_to_standard_output(with_copies, tmp_path):
    pytest.importorskip("matplotlib")
    done = in_process("report", with_copies, "-o", "-", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("<!DOCTYPE html>") and done.stdout.endswith("</html>\n")
    assert done.stderr.startswith("report written to standard output (")
    assert not (tmp_path / "-").exists() and not (with_copies / "report.html").exists()


# -- 4. option names -------------------------------------------------------------------------


def test_rules_suggest_names_its_file_with_output_and_keeps_to(tmp_path):
    (tmp_path / "a.txt").write_text(SENTENCE)
    out = tmp_path / "out"
    assert in_process("run", tmp_path / "a.txt", "-o", out, "-q").returncode == 0
    helped = in_process("rules", "suggest", "--help")
    assert re.search(r"^\s+-o, --output FILE\s", helped.stdout, re.M) and not re.search(r"--to\b", helped.stdout)
    for option in ("--output", "-o", "--to"):
        done = in_process("rules", "suggest", out, option, tmp_path / f"s{option}.toml", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stderr == f"nothing to suggest: no line was removed 3+ times without a rule in {out}\n"
    both = in_process("rules", "suggest", out, "-o", tmp_path / "a.toml", "--to", tmp_path / "b.toml")
    assert both.returncode == 2
    assert f"Error: -o {tmp_path / 'a.toml'} and --to {tmp_path / 'b.toml'} both name the file to write" in both.stderr


def test_rules_list_checks_keep_lang_as_run_does(tmp_path):
    listed = in_process("rules", "list", "--keep-lang", "xx-bogus", cwd=tmp_path)
    assert listed.returncode == 2 and listed.stdout == ""
    usage, said = listed.stderr.split("\n\n", 1)  # in-process, click names the program "cli"
    assert usage.endswith("rules list --help' for help.")
    assert said.startswith("Error: --keep-lang: rule 'keep-lang': langdetect never labels a document "
                                    "'xx-bogus', so the rule keeps no document for it (the codes langdetect writes: ")
    (tmp_path / "a.txt").write_text(SENTENCE)
    ran = in_process("run", tmp_path / "a.txt", "-o", tmp_path / "out", "--keep-lang", "xx-bogus", cwd=tmp_path)
    assert ran.returncode == listed.returncode
    assert ran.stderr.split("\n\n", 1)[1] == listed.stderr.split("\n\n", 1)[1]


def test_rules_list_takes_language_model(tmp_path):
    pytest.importorskip("py3langid")
    listed = in_process("rules", "list", "--keep-lang", "eu", "--language-model", "py3langid", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"^keep-lang +document +on +--keep-lang +language not in --keep-lang eu$", listed.stdout, re.M)
    refused = in_process("rules", "list", "--keep-lang", "eu", cwd=tmp_path)
    assert refused.returncode == 2 and "; --language-model py3langid writes it" in refused.stderr


# -- 7. the top-level help -------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 200])
@pytest.mark.parametrize("group", [(), ("rules",)])
def test_every_command_s_description_reads_whole(group, width):
    from click.testing import CliRunner

    from curate.cli import cli

    done = CliRunner().invoke(cli, [*group, "--help"], terminal_width=width)
    assert done.exit_code == 0
    commands = done.output[done.output.index("Commands:"):]
    assert "..." not in commands
    # each description is one sentence, ended
    entries = re.split(r"\n  (?=\S)", commands.strip())[1:]
    assert len(entries) == (7 if not group else 3)
    assert all(" ".join(entry.split()).endswith(".") for entry in entries), entries


def test_plain_curate_prints_the_help_with_status_0():
    done = in_process()
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == in_process("--help").stdout


# -- 6. explain ------------------------------------------------------------------------------


@pytest.fixture
def many(tmp_path) -> Path:
    file = tmp_path / "many.jsonl"
    file.write_text("".join(f"{{bad{i}\n" for i in range(3)) + json.dumps({"text": OTHER}) + "\n")
    return file


def test_explain_only_shows_the_records_with_such_a_line(many, tmp_path):
    kept = in_process("explain", "many.jsonl", "--only", "keep", "--width", "30", cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout == ("== many.jsonl:4: 1 kept, 0 dropped, 0 quarantined\n"
                           "    4  keep                A storm closed the northern f…\n")
    dropped = in_process("explain", "many.jsonl", "--only", "drop", cwd=tmp_path)
    assert dropped.returncode == 0 and dropped.stdout == ""
    assert dropped.stderr == "no line of many.jsonl is dropped\n"


def test_explain_names_a_quarantined_record_s_line_and_what_to_do(many, tmp_path):
    done = in_process("explain", "many.jsonl", "--width", "30", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "== many.jsonl:1: 0 kept, 0 dropped, 1 quarantined"
    assert lines[1] == ("    1  quarantine  invalid JSON: Expecting property name enclosed in double quotes at "
                        "column 2 (record skipped; fix or delete this line)  {bad0")
    ran = in_process("run", "many.jsonl", "-o", tmp_path / "out", cwd=tmp_path)
    assert ("warning: many.jsonl:1: invalid JSON: Expecting property name enclosed in double quotes at column 2 "
            "(record skipped; fix or delete this line)") in ran.stderr


def test_explain_of_a_missing_file_names_every_format(tmp_path):
    done = in_process("explain", tmp_path / "crawl.parquet", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: {tmp_path / 'crawl.parquet'}: no such file; give one input file (curate "
                                  "reads .txt (each also .gz")
    assert ".parquet" in done.stderr and ".csv" in done.stderr and ".arrow" in done.stderr


# -- 5. --inputs-from errors name the list's line --------------------------------------------


def test_a_missing_entry_of_a_list_names_the_list_and_line(tmp_path):
    (tmp_path / "a.txt").write_text(SENTENCE)
    (tmp_path / "list.txt").write_text("a.txt\n" + "".join(f"# comment {i}\n" for i in range(2000))
                                       + "sub/missing.txt\n")
    done = in_process("run", "--inputs-from", "list.txt", "-o", "out", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == ("Error: sub/missing.txt: no such file or folder; check the path (sub/missing.txt is line "
                           "2002 of --inputs-from list.txt)\n")
    assert not (tmp_path / "out").exists()


def test_an_entry_repeating_an_input_names_both_origins(tmp_path):
    (tmp_path / "a.txt").write_text(SENTENCE)
    (tmp_path / "list.txt").write_text("a.txt\n")
    done = in_process("run", "a.txt", "--inputs-from", "list.txt", "-o", "out", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == ("Error: a.txt and a.txt are the same file; give it once (a.txt is given on the command "
                           "line and on line 1 of --inputs-from list.txt)\n")
    (tmp_path / "list.txt").write_text("a.txt\n\n./a.txt\n")
    done = in_process("run", "--inputs-from", "list.txt", "-o", "out", cwd=tmp_path)
    assert done.stderr == ("Error: a.txt and a.txt are the same file; give it once (a.txt is lines 1 and 3 of "
                           "--inputs-from list.txt)\n")


def test_an_error_of_a_command_line_input_says_nothing_of_the_list(tmp_path):
    (tmp_path / "a.txt").write_text(SENTENCE)
    (tmp_path / "list.txt").write_text("a.txt\n")
    done = in_process("run", "gone.txt", "--inputs-from", "list.txt", "-o", "out", cwd=tmp_path)
    assert done.stderr == "Error: gone.txt: no such file or folder; check the path\n"


# -- 8. mistakes on the command line exit 2 --------------------------------------------------


@pytest.mark.parametrize("options,says", [
    (["--resume", "--overwrite"], "Error: --resume continues the run in the output folder and --overwrite discards "
                                  "it; give one of them"),
    (["--disable", "nosuch"], "Error: --disable: no rule named nosuch; `curate rules list` shows the names"),
    (["--enable", "nosuch"], "Error: --enable: no pack or rule named nosuch; packs: "),
    (["--rules", "nonexist"], "Error: nonexist: no such file or folder; check the path: rules come from a folder"),
    (["--against", "nonexist"], "Error: Invalid value for '--against': Directory 'nonexist' does not exist."),
    (["--rules", ""], "Error: Invalid value for '--rules': an empty path;"),
    (["--keep-lang", "eng"], "Error: --keep-lang: rule 'keep-lang': langdetect never labels a document 'eng'"),
])
def test_a_mistake_on_the_command_line_exits_2(tmp_path, options, says):
    (tmp_path / "a.txt").write_text(SENTENCE)
    done = in_process("run", "a.txt", "-o", "out", *options, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert re.match(r"Usage: \S+ run \[OPTIONS\] \[INPUTS\]\.\.\.\nTry '\S+ run --help' for help\.\n\n", done.stderr)
    assert says in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_rule_file_s_own_mistake_stays_status_1(tmp_path):
    (tmp_path / "a.txt").write_text(SENTENCE)
    (tmp_path / "bad.toml").write_text("[[rule]]\nname = 'x'\n")
    done = in_process("run", "a.txt", "-o", "out", "--rules", "bad.toml", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.startswith("Error: bad.toml"), done.stderr
