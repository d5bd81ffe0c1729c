"""Same input and rules give byte-identical output, for any number of workers."""

from __future__ import annotations

import pytest
from conftest import NOISE_DEV, SEEDS, output_files, run_process


def _run(tmp_path, name, *args):
    out = tmp_path / name
    result = run_process("run", *args, "-o", out, "-q")
    assert result.returncode == 0, result.stderr
    return output_files(out)


@pytest.mark.slow
def test_one_and_two_workers_give_identical_bytes_on_noise_dev(tmp_path, noise_dev_output):
    # Two separate runs: anything that differs from run to run (hash seeds, timing, the
    # order workers finish in) shows here as well as what depends on the worker count.
    one = _run(tmp_path, "w1", NOISE_DEV, "--workers", "1")
    two = output_files(noise_dev_output)
    assert sum(data.count(b"\n") for name, data in one.items() if name.startswith("corpus/")) == 226
    assert one.keys() == two.keys()
    for name in one:
        assert one[name] == two[name], f"{name} differs between --workers 1 and 2"


def test_seed_runs_are_identical_under_different_hash_seeds(tmp_path):
    # Python salts str hashes per process; nothing in the output may depend on them.
    import os

    outs = []
    for i, seed in enumerate(("1", "2")):
        out = tmp_path / f"o{i}"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        assert run_process("run", SEEDS, "-o", out, "-q", "--workers", "2", env=env).returncode == 0
        outs.append(output_files(out))
    assert outs[0] == outs[1]
