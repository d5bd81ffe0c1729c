"""Every float option of every command refuses nan and inf as a usage error: click's
FloatRange lets nan through its bounds (every comparison with nan is false), and a run
with --threshold nan deduplicated nothing and wrote NaN, which is not JSON, into
summary.json."""

from __future__ import annotations

import click
import pytest
from conftest import SEEDS, run_process

from curate.cli import FiniteFloatRange, cli


def _float_options(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _float_options(cmd, (*prefix, name))
            continue
        for param in cmd.params:
            if isinstance(param.type, click.types.FloatParamType):
                yield (*prefix, name), param


FLOAT_OPTIONS = list(_float_options(cli))


def test_the_float_options_are_found():
    # The walk below must see them, or the tests over all of them test nothing.
    names = {(path, param.opts[0]) for path, param in FLOAT_OPTIONS}
    assert {(("run",), "--threshold"), (("run",), "--site-min-share"), (("dedup",), "--threshold")} <= names


@pytest.mark.parametrize("path,param", FLOAT_OPTIONS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else v.opts[0])
def test_every_float_option_refuses_nan_and_inf(runner, path, param):
    assert isinstance(param.type, FiniteFloatRange), f"curate {' '.join(path)} {param.opts[0]}: use FiniteFloatRange"
    for value in ("nan", "NaN", "-nan", "inf", "-inf", "1e400"):
        result = runner.invoke(cli, [*path, param.opts[0], value])
        assert result.exit_code == 2, (value, result.output)
        assert f"Invalid value for '{param.opts[0]}'" in result.output
        assert "not a number" in result.output or "not in the range" in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_nan_threshold_stops_the_real_command_before_it_writes(tmp_path):
    out = tmp_path / "out"
    result = run_process("run", SEEDS, "-o", out, "-q", "--threshold", "nan")
    assert result.returncode == 2
    assert "Invalid value for '--threshold': 'nan' is not a number; give one in the range 0.0<x<=1.0" in result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr
    assert not out.exists()


def test_a_nan_site_share_stops_the_real_command_before_it_writes(tmp_path):
    out = tmp_path / "out"
    result = run_process("run", SEEDS, "-o", out, "-q", "--site", "folder", "--site-min-share", "nan")
    assert result.returncode == 2
    assert "Invalid value for '--site-min-share': 'nan' is not a number" in result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr
    assert not out.exists()
