"""The user's cache folder (where it is, what may be left in it) and langdetect's profiles
as one table kept there between runs: the same bits whether derived or read back, and an
entry that is missing, cut short, of another shape or not writable costs the time to
derive it again, never a wrong table or an error."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SEEDS, output_files

from curate.stages import language
from curate.stages.language import cached_table_files, profile_tables, profile_tables_key
from curate.user_cache import CLAIM_SECONDS, UNUSED_DAYS, cache_root


@pytest.fixture(scope="module")
def derived() -> language.ProfileTables:
    return language._profile_log_probabilities()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CURATE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "language"


def assert_same_tables(got: language.ProfileTables, want: language.ProfileTables) -> None:
    languages, row, log_prob, expected = got
    assert languages == want[0]
    assert list(row.items()) == list(want[1].items())  # the same rows, in the same order
    assert log_prob.dtype == want[2].dtype == np.float64 and log_prob.shape == want[2].shape
    assert log_prob.tobytes() == want[2].tobytes()
    assert expected.tobytes() == want[3].tobytes()


def entry(cache: Path) -> tuple[Path, Path]:
    """The files of this code's entry, named as the code names them, in the folder ``cache``."""
    table, index = cached_table_files(profile_tables_key())
    return cache / table.name, cache / index.name


@pytest.mark.unit
def test_tables_read_back_from_the_cache_are_the_derived_bits(cache, derived):
    first = profile_tables()
    table, index = entry(cache)
    assert table.is_file() and index.is_file()
    assert_same_tables(first, derived)
    again = profile_tables()
    assert_same_tables(again, derived)
    assert isinstance(again[2], np.ndarray) and not isinstance(again[2], np.memmap)
    assert not again[2].flags.writeable, "the mapped table is read-only: no stage may write into it"


@pytest.mark.unit
@pytest.mark.parametrize("damage", ["table cut short", "index not json", "index of another shape",
                                    "table of another dtype", "table missing"])
def test_a_damaged_entry_is_derived_again_and_replaced(cache, derived, damage):
    profile_tables()
    table, index = entry(cache)
    if damage == "table cut short":
        table.write_bytes(table.read_bytes()[:1000])
    elif damage == "index not json":
        index.write_bytes(b"{not json")
    elif damage == "index of another shape":
        index.write_bytes(b'{"languages": ["en"], "grams": ["a"], "expected": [0.0]}')
    elif damage == "table of another dtype":
        np.save(table, np.zeros(derived[2].shape, dtype=np.float32))
    else:
        table.unlink()
    assert_same_tables(profile_tables(), derived)
    assert_same_tables(profile_tables(), derived)  # read back from the entry written again
    assert sorted(p.name for p in cache.iterdir()) == sorted([table.name, index.name])


@pytest.mark.unit
def test_an_unwritable_cache_folder_costs_only_time(tmp_path, monkeypatch, derived):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("CURATE_CACHE", str(blocked))
    assert_same_tables(profile_tables(), derived)
    assert blocked.read_text() == "not a folder"


@pytest.mark.unit
def test_entries_unused_for_a_month_are_removed_when_a_new_one_is_written(cache, derived):
    cache.mkdir(parents=True)
    old_table, old_index = cached_table_files("0" * 32)
    old = [old_table, old_index, cache / f".{old_table.name}.x1y2.tmp"]  # a writer's, killed before it renamed it
    recent = list(cached_table_files("1" * 32))
    month_ago = time.time() - (UNUSED_DAYS + 1) * 86_400
    for path in old + recent:
        path.write_bytes(b"another curate's entry")
    for path in old:
        os.utime(path, (month_ago, month_ago))
    profile_tables()
    # Another version's entry in use (on a shared home folder, another node's) stays.
    assert sorted(p.name for p in cache.iterdir()) == sorted(p.name for p in [*entry(cache), *recent])


@pytest.mark.unit
def test_reading_an_entry_marks_it_used(cache, derived):
    profile_tables()
    month_ago = time.time() - (UNUSED_DAYS + 1) * 86_400
    for path in entry(cache):
        os.utime(path, (month_ago, month_ago))
    profile_tables()
    assert all(path.stat().st_mtime > time.time() - 3600 for path in entry(cache))


@pytest.mark.unit
def test_while_another_process_writes_the_entry_this_one_only_derives(cache, derived):
    claim = cache / f".{entry(cache)[0].name}.claim"
    cache.mkdir(parents=True)
    claim.touch()
    assert_same_tables(profile_tables(), derived)
    assert sorted(p.name for p in cache.iterdir()) == [claim.name], "written by the claim's holder alone"


@pytest.mark.unit
def test_a_claim_left_by_a_stopped_writer_is_taken_over(cache, derived):
    claim = cache / f".{entry(cache)[0].name}.claim"
    cache.mkdir(parents=True)
    claim.touch()
    stale = time.time() - CLAIM_SECONDS - 60
    os.utime(claim, (stale, stale))
    assert_same_tables(profile_tables(), derived)
    assert sorted(p.name for p in cache.iterdir()) == sorted(p.name for p in entry(cache))


def test_runs_started_at_once_on_an_empty_cache_write_one_entry(tmp_path, derived):
    """Six processes deriving the table at the same moment: each has the same bits, and
    the folder ends with one entry and no temporary or claim file."""
    env = {**os.environ, "CURATE_CACHE": str(tmp_path / "cache")}
    code = ("import hashlib\nfrom curate.stages.language import profile_tables\n"
            "languages, row, log_prob, expected = profile_tables()\n"
            "print(hashlib.sha256(log_prob.tobytes() + expected.tobytes() + repr(list(row)).encode()).hexdigest())")
    processes = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
                 for _ in range(6)]
    digests = {process.communicate(timeout=120)[0].strip() for process in processes}
    assert all(process.returncode == 0 for process in processes)
    _, row, log_prob, expected = derived
    assert digests == {hashlib.sha256(log_prob.tobytes() + expected.tobytes() + repr(list(row)).encode()).hexdigest()}
    folder = tmp_path / "cache" / "language"
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in entry(folder))


@pytest.mark.unit
@pytest.mark.parametrize(("variables", "expected"), [
    ({"CURATE_CACHE": "/srv/cache"}, "/srv/cache"),
    ({"CURATE_CACHE": "~/my-cache", "HOME": "/home/u"}, "/home/u/my-cache"),
    ({"XDG_CACHE_HOME": "/xdg"}, "/xdg/curate"),
    ({"XDG_CACHE_HOME": "relative/xdg", "HOME": "/home/u"}, "/home/u/.cache/curate"),
    ({"HOME": "/home/u"}, "/home/u/.cache/curate"),
])
def test_the_cache_folder_is_where_the_variables_say(monkeypatch, variables, expected):
    for name in ("CURATE_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert cache_root() == Path(expected)


@pytest.mark.unit
@pytest.mark.parametrize(("variables", "expected"), [
    ({"CURATE_STAGING": "~/stage", "HOME": "/home/u"}, "/home/u/stage"),
    ({"CURATE_CACHE": "/srv/cache"}, "/srv/cache/staging"),
    ({"HOME": "/home/u"}, "/home/u/.cache/curate/staging"),
])
def test_outputs_for_urls_are_staged_in_the_cache_folder_unless_told(monkeypatch, variables, expected):
    from curate.staged import default_staging_root

    for name in ("CURATE_CACHE", "CURATE_STAGING", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert default_staging_root() == Path(expected)


@pytest.mark.unit
def test_without_a_home_folder_the_cache_is_not_made_in_the_working_folder(monkeypatch):
    for name in ("CURATE_CACHE", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os.path, "expanduser", lambda path: path)  # as with no passwd entry either
    assert cache_root().is_absolute()


@pytest.mark.unit
def test_the_key_changes_with_a_profile_file(tmp_path, monkeypatch):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    for name in language.profile_names()[:3]:
        (profiles / name).write_bytes((Path(language.PROFILES_DIRECTORY) / name).read_bytes())
    monkeypatch.setattr(language, "PROFILES_DIRECTORY", str(profiles))
    before = profile_tables_key()
    assert profile_tables_key() == before
    first = profiles / language.profile_names()[0]
    first.write_bytes(first.read_bytes() + b" ")
    assert profile_tables_key() != before


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_run_writes_the_same_output_with_and_without_the_cache(tmp_path, workers):
    """The real CLI, from an empty cache folder (derived and written) and then from the
    entry it left (mapped): byte for byte the same output."""
    env = {**os.environ, "CURATE_CACHE": str(tmp_path / "cache")}
    outputs = []
    for run in ("derived", "cached"):
        out = tmp_path / run
        done = subprocess.run([sys.executable, "-m", "curate", "run", str(SEEDS), "-o", str(out), "-q",
                               "--workers", workers], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        outputs.append(output_files(out))
        if run == "derived":
            assert len(list((tmp_path / "cache" / "language").glob("*.npy"))) == 1
    derived_files, cached_files = outputs
    assert derived_files.keys() == cached_files.keys()
    for name in derived_files:
        if name != "summary.json":  # it holds the run's timings
            assert derived_files[name] == cached_files[name], name
