"""--engine and --address: what cannot work is refused with a reason, Ray or not installed."""

from __future__ import annotations

import sys

from conftest import SEEDS, invoke


def test_address_needs_the_ray_engine(tmp_path):
    result = invoke("run", SEEDS, "-o", tmp_path / "out", "--address", "auto")
    assert result.exit_code == 1 and "--address only goes with --engine ray" in result.output
    assert not (tmp_path / "out").exists()


def test_resume_is_refused_with_the_ray_engine(tmp_path):
    result = invoke("run", SEEDS, "-o", tmp_path / "out", "--engine", "ray", "--resume")
    assert result.exit_code == 1 and "--resume works with --engine local only" in result.output


def test_without_ray_installed_the_ray_engine_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without the extra sees
    monkeypatch.delitem(sys.modules, "curate.ray_engine", raising=False)
    result = invoke("dedup", SEEDS, "-o", tmp_path / "out", "--engine", "ray")
    assert result.exit_code == 1 and "pip install 'curate[ray]'" in result.output
    assert not (tmp_path / "out").exists()
