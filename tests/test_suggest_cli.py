"""`curate rules suggest -o FILE` on a real run: a FILE it cannot write is one line that
says what to do, found before the work where it can be; rules suggested twice into one
folder take names of their own, so that the next step it prints passes; and that step is
a command a shell runs as printed."""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

import pytest
from conftest import invoke
from test_site import _gazette


@pytest.fixture(scope="module")
def site_out(tmp_path_factory) -> Path:
    """A run whose site pass removed a gazette's template: lines to suggest rules for."""
    folder = tmp_path_factory.mktemp("suggest")
    _gazette(folder / "crawl")
    result = invoke("run", folder / "crawl", "-o", folder / "out", "-q", "--no-builtin-rules")
    assert result.exit_code == 0, result.output
    return folder / "out"


def _names(path: Path) -> list[str]:
    return [rule["name"] for rule in tomllib.loads(path.read_text(encoding="utf-8"))["rule"]]


def test_a_target_that_cannot_be_written_is_one_line(site_out):
    result = invoke("rules", "suggest", site_out, "-o", "/proc/curate-suggested.toml")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "Error: /proc/curate-suggested.toml: cannot write it (No such file or directory); choose another file with "
        "-o FILE, or fix the permissions of its folder (/proc)")


@pytest.mark.parametrize("under", ["s.toml", "sub/s.toml"])
def test_a_file_where_its_folder_should_be_is_refused_before_the_work(site_out, tmp_path, under):
    (tmp_path / "afile").write_text("mine\n")
    result = invoke("rules", "suggest", site_out, "-o", tmp_path / "afile" / under)
    assert result.exit_code == 1
    assert result.output == (f"Error: {tmp_path / 'afile' / under}: {tmp_path / 'afile'} is a file, not a folder; "
                             "choose another file with -o FILE\n")
    assert (tmp_path / "afile").read_text() == "mine\n"


def test_suggestions_written_twice_into_one_folder_take_names_of_their_own(site_out, tmp_path):
    """The second file's rules were named as the first's, and the printed next step
    (`curate rules test FOLDER --no-builtin-rules`) stopped at "duplicate rule name"."""
    folder = tmp_path / "mine"
    for name in ("site.toml", "again.toml"):
        result = invoke("rules", "suggest", site_out, "-o", folder / name)
        assert result.exit_code == 0, result.output
    first, second = _names(folder / "site.toml"), _names(folder / "again.toml")
    assert len(second) == len(first) and not set(first) & set(second)
    tested = invoke("rules", "test", folder, "--no-builtin-rules")
    assert tested.exit_code == 0, tested.output
    assert f"{2 * len(first)} of {2 * len(first)} rules pass their examples" in tested.output


def test_the_next_step_it_prints_is_quoted_for_the_shell(site_out, tmp_path):
    folder = tmp_path / "my rules"
    result = invoke("rules", "suggest", site_out, "-o", folder / "site.toml")
    assert result.exit_code == 0, result.output
    step = result.output.splitlines()[-1].split("review them, then: ", 1)[1]
    assert step == f"curate rules test {shlex.quote(str(folder))} --no-builtin-rules --no-project-rules"
    tested = invoke(*shlex.split(step)[1:])
    assert tested.exit_code == 0, tested.output


def test_the_next_step_tests_the_suggestions_alone_beside_project_rules(site_out, tmp_path):
    """The step printed `curate rules test FOLDER --no-builtin-rules`, which beside a
    ./rules/ tested that folder too (and said to use --no-project-rules, which `rules test`
    did not have): now it tests the suggested rules and nothing else."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "mine.toml").write_text(
        '[[rule]]\nname = "house-rule"\nreason = "t"\npattern = "^house$"\nexamples.match = ["house"]\n')
    result = invoke("rules", "suggest", site_out, "-o", "suggested/site.toml", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    step = result.output.splitlines()[-1].split("review them, then: ", 1)[1]
    tested = invoke(*shlex.split(step)[1:], cwd=tmp_path)
    assert tested.exit_code == 0, tested.output
    suggested = _names(tmp_path / "suggested" / "site.toml")
    assert [line.split()[1] for line in tested.output.splitlines() if line.startswith("ok ")] == suggested
    assert "house-rule" not in tested.output and "note:" not in tested.output


@pytest.mark.parametrize("spelling", ["rules/site.toml", "./rules/../rules/site.toml", "link/site.toml",
                                      "rules/sub/site.toml", "to-rules.toml"])
def test_a_target_in_the_project_rules_folder_is_refused(site_out, tmp_path, spelling):
    """./rules/ loads into every plain `curate run` unasked, so suggestions written there ran
    unreviewed (the -o help says "Outside rules/ on purpose"; only an existing file was
    refused). Every spelling of a file in it is refused, before the work, and nothing is written."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "link").symlink_to("rules")
    (tmp_path / "to-rules.toml").symlink_to("rules/dangling.toml")
    result = invoke("rules", "suggest", site_out, "-o", spelling, cwd=tmp_path)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {Path(spelling)}: inside ./rules/, which every `curate run` in this folder loads by itself, so rules "
        "no one has reviewed would change its output; write them outside it (e.g. -o my-rules/site.toml), review "
        "and test them, then run with --rules my-rules/ (or move them into rules/ once they are right)\n")
    assert list((tmp_path / "rules").iterdir()) == []
    # What the message advises works from the same folder.
    advised = invoke("rules", "suggest", site_out, "-o", "my-rules/site.toml", cwd=tmp_path)
    assert advised.exit_code == 0, advised.output
    assert _names(tmp_path / "my-rules" / "site.toml")
