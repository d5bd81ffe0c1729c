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
