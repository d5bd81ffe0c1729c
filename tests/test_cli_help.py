"""Every command and option teaches itself (as sqlite-utils checks)."""

from __future__ import annotations

import click
import pytest

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
