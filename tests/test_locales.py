"""Non-ASCII names of inputs and URLs give the same output bytes under any locale: the
real CLI run with a UTF-8, an ASCII (LC_ALL=C outside UTF-8 mode) and a Latin-1 file-system
encoding, each output folder compared byte for byte with the UTF-8 run's.

Python decodes names (and argv) in the locale's encoding: ``ünï`` typed in a UTF-8 terminal
is ``\\udcc3\\udcbcn\\udcc3\\udcaf`` under ASCII and ``Ã¼nÃ¯`` under Latin-1. A name decoded
twice was the byte 0xFC under Latin-1 (``\\xfcn\\xef`` in the output), a crash under ASCII;
a URL handed to the store as the system spelled it asked for another name."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from conftest import SEEDS, UTF8_LOCALE, locale_env, output_files, run_process, web_server


def _run(cwd: Path, out: str, settings: dict[str, str], *args: str) -> dict[str, bytes]:
    done = run_process("run", *args, "-o", out, "-q", "--no-builtin-rules", cwd=cwd, env=locale_env(settings),
                       timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    return output_files(cwd / out)


def _same_as_utf8(cwd: Path, settings: dict[str, str], *args: str) -> dict[str, bytes]:
    """The output under ``settings``, asserted identical to the UTF-8 run's. Both run from
    one folder into outputs beside each other, so even summary.json's absolute roots agree."""
    expected = _run(cwd, "out-utf8", UTF8_LOCALE, *args)
    got = _run(cwd, "out-other", settings, *args)
    assert got.keys() == expected.keys()
    for name in expected:
        assert got[name] == expected[name], f"{name} differs from the UTF-8 run's"
    return expected


def _seeded(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True)
    for name in names:
        shutil.copy(SEEDS / name, folder / name)


SEED_NAMES = sorted(p.name for p in SEEDS.glob("*.txt"))


def _sources(files: dict[str, bytes]) -> list[str]:
    return [orjson.loads(line)["source"] for line in files["corpus/part-00000.jsonl"].splitlines()]


def test_non_ascii_folders_among_several_inputs_are_named_alike_in_every_locale(tmp_path, other_locale):
    _seeded(tmp_path / "ünï", SEED_NAMES[0])
    _seeded(tmp_path / "b", SEED_NAMES[1])
    _seeded(tmp_path / "mix" / "İstanbul seeds", SEED_NAMES[2])
    (tmp_path / "mix" / "İstanbul seeds" / "café.txt").write_bytes((SEEDS / SEED_NAMES[3]).read_bytes())
    files = _same_as_utf8(tmp_path, other_locale, "ünï", "b", "mix/İstanbul seeds")
    assert sorted(_sources(files)) == sorted([f"ünï/{SEED_NAMES[0]}", f"b/{SEED_NAMES[1]}",
                                              f"İstanbul seeds/{SEED_NAMES[2]}", "İstanbul seeds/café.txt"])


def test_inputs_listed_in_a_file_and_patterns_are_named_alike_in_every_locale(tmp_path, other_locale):
    _seeded(tmp_path / "ünï", SEED_NAMES[0])
    _seeded(tmp_path / "mix" / "İstanbul", SEED_NAMES[1], SEED_NAMES[2])
    (tmp_path / "list.txt").write_text("ünï\nmix/İstanbul/*.txt\n", encoding="utf-8")
    files = _same_as_utf8(tmp_path, other_locale, "--inputs-from", "list.txt")
    assert _sources(files) == [f"ünï/{SEED_NAMES[0]}", f"İstanbul/{SEED_NAMES[1]}", f"İstanbul/{SEED_NAMES[2]}"]


def test_an_output_folder_inside_a_non_ascii_input_is_named_alike_in_every_locale(tmp_path, other_locale):
    outs = []
    for name, settings in (("utf8", UTF8_LOCALE), ("other", other_locale)):
        work = tmp_path / name  # the same names below each: the output's name is in a source
        _seeded(work / "ünï", SEED_NAMES[0])
        _seeded(work / "b", SEED_NAMES[1])
        outs.append(_run(work, "ünï/out", settings, "ünï", "b"))
    assert outs[0] == {k: v.replace(b"/other/", b"/utf8/") for k, v in outs[1].items()}
    assert b'"source":"\xc3\xbcn\xc3\xaf/out"' in outs[0]["quarantine.jsonl"]


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """Python's own web server on a free localhost port, serving a folder."""
    folder = tmp_path_factory.mktemp("www")
    with web_server(folder) as base:
        yield base, folder


def test_a_url_with_non_ascii_characters_is_read_in_every_locale(web, tmp_path, other_locale):
    base, folder = web
    (folder / "d").mkdir(exist_ok=True)
    (folder / "d" / "café.txt").write_bytes((SEEDS / SEED_NAMES[0]).read_bytes())
    (folder / "d" / "naïve.txt").write_bytes((SEEDS / SEED_NAMES[1]).read_bytes())
    files = _same_as_utf8(tmp_path, other_locale, f"{base}/d/café.txt", f"{base}/d/naïve.txt")
    assert sorted(_sources(files)) == ["café.txt", "naïve.txt"]
