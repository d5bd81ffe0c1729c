"""Every command and option teaches itself (as sqlite-utils checks)."""

from __future__ import annotations

import re

import click
import pytest
from conftest import ROOT

from curate.cli import cli


def _commands(group: click.Group, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))


@pytest.mark.unit
@pytest.mark.parametrize("path,cmd", list(_commands(cli)), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_and_option_has_help(path, cmd):
    assert cmd.help, f"curate {' '.join(path)} has no help"
    for param in cmd.params:
        if isinstance(param, click.Option):
            assert param.help, f"curate {' '.join(path)} {param.opts[0]} has no help"


def test_run_help_shows_examples(runner):
    result = runner.invoke(cli, ["run", "--help"])
    assert result.exit_code == 0
    assert "curate run seeds/" in result.output and "--workers" in result.output


def test_run_help_names_every_environment_variable_curate_reads(runner):
    """Every CURATE_ variable the package reads (but the test suite's fault hooks) is in
    `curate run --help`, so a user can find what changes a run from outside its options."""
    names = {name for path in (ROOT / "curate").rglob("*.py")
             for name in re.findall(r'"(CURATE_[A-Z0-9_]+)"', path.read_text(encoding="utf-8"))
             if not name.startswith("CURATE_TEST_")}
    assert {"CURATE_CACHE", "CURATE_STAGING"} <= names
    result = runner.invoke(cli, ["run", "--help"])
    assert result.exit_code == 0
    assert [name for name in sorted(names) if name not in result.output] == []


@pytest.mark.parametrize("command", [("run",), ("explain",), ("rules", "list")])
def test_enable_help_names_every_built_in_pack(runner, command):
    """The packs were listed by hand in --enable's help, and the fifth (datatrove-readings)
    was missing: the help now reads them from the rule files. Checked against the packs
    the rules themselves load with, through each command's --help (wide, unwrapped)."""
    from curate.rules import load_rules

    packs = load_rules(check_examples=False).packs()
    assert "datatrove-readings" in packs and len(packs) >= 5
    result = runner.invoke(cli, [*command, "--help"], terminal_width=1000, max_content_width=1000)
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.lstrip().startswith("--enable"))
    assert f"Built-in packs of document rules: {', '.join(packs)} (README" in line


def _params(path: tuple[str, ...]) -> dict[str, click.Parameter]:
    cmd: click.Command = cli
    for name in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[name]
    return {param.name: param for param in cmd.params if param.name is not None}


EXPLAIN_ONLY = {"file", "only", "width"}  # explain's own: its one FILE and how it prints


@pytest.mark.unit
def test_explain_takes_every_option_of_run_that_changes_a_verdict(runner):
    """explain promised run's rules on one file but had no --keep-lang, --encoding, --site,
    dedup or --max-* options, and its verdicts were not run's. Every option of run is now
    in explain, the same definition, or named in cli.RUN_ONLY with the reason it cannot
    change a verdict: an option added to run must be placed, or this fails."""
    from curate.cli import RUN_ONLY

    run, explain = _params(("run",)), _params(("explain",))
    assert set(RUN_ONLY) <= set(run), f"RUN_ONLY names what run lacks: {set(RUN_ONLY) - set(run)}"
    shared = set(run) - set(RUN_ONLY)
    assert shared == set(explain) - EXPLAIN_ONLY
    for name in shared:
        ours, theirs = explain[name], run[name]
        assert (ours.opts, type(ours.type), ours.default, ours.multiple, ours.callback) == (
            theirs.opts, type(theirs.type), theirs.default, theirs.multiple, theirs.callback), name
        if name != "input_format":  # its help says FILE, not the inputs and folder walks
            assert ours.help == theirs.help, name  # type: ignore[attr-defined]
    result = runner.invoke(cli, ["explain", "--help"], terminal_width=1000, max_content_width=1000)
    assert result.exit_code == 0, result.output
    named = {line.split()[0].rstrip(",") for line in result.output.splitlines() if line.startswith("  -")}
    assert {run[name].opts[0] for name in shared} <= named
    for key in ("--keep-lang", "--encoding", "--site", "--threshold", "--language-model", "--max-doc-bytes"):
        assert key in named


@pytest.mark.unit
def test_rules_list_takes_keep_lang():
    """It lists the document rule --keep-lang makes; its help says it takes run's options."""
    ours, theirs = _params(("rules", "list"))["keep_languages"], _params(("run",))["keep_languages"]
    assert (ours.opts, ours.callback, ours.help) == (theirs.opts, theirs.callback, theirs.help)  # type: ignore[attr-defined]
