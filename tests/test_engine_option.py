"""--engine and --address: what cannot work is refused with a reason, Ray or not installed."""

from __future__ import annotations

import socket
import sys

import pytest
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
    monkeypatch.delitem(sys.modules, "curate.engines.ray", raising=False)
    result = invoke("dedup", SEEDS, "-o", tmp_path / "out", "--engine", "ray")
    assert result.exit_code == 1 and "pip install 'curate-corpus[ray]'" in result.output
    assert not (tmp_path / "out").exists()


def test_an_address_where_no_ray_listens_fails_at_once_and_writes_nothing(tmp_path):
    pytest.importorskip("ray")
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = invoke("run", SEEDS, "-o", tmp_path / "out", "--engine", "ray", "--address", f"127.0.0.1:{port}")
    assert result.exit_code == 1 and "cannot reach a Ray head there" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("address", ["not a host", "host:notaport", ":6379", "localhost:99999", "10.0.0.5"])
def test_an_address_that_is_no_host_and_port_is_refused_with_its_form(tmp_path, address):
    pytest.importorskip("ray")
    result = invoke("dedup", SEEDS, "-o", tmp_path / "out", "--engine", "ray", "--address", address)
    assert result.exit_code == 1, result.output
    assert f"--address {address}: not a Ray address; give the HOST:PORT of a head" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


@pytest.mark.slow  # starts a Ray cluster
def test_a_broken_rule_file_with_the_ray_engine_stops_the_cluster_started_for_the_run(tmp_path):
    """The engine connects before the rules load (its actors warm up meanwhile): a rule
    error still ends the run with its message, nothing written, and no cluster left up."""
    ray = pytest.importorskip("ray")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.toml").write_text("[[rule]\nname = 'x'\n", encoding="utf-8")
    result = invoke("run", SEEDS, "-o", tmp_path / "out", "--engine", "ray", "--rules", rules)
    assert result.exit_code == 1 and "broken.toml" in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "out").exists()
    assert not ray.is_initialized()
