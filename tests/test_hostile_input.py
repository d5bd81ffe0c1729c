"""Hostile input (issue 12), each case through the real CLI with inputs the test makes:
no traceback, no hang (every run has a time limit), the promised problem record or
refusal, every other document as in a clean run, and the accounting closes."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import zstandard
from conftest import (
    SEEDS,
    corpus_bytes,
    in_process,
    invoke,
    output_files,
    peak_rss_mb,
    read_corpus,
    read_jsonl,
    run_process,
)

GOOD = "A sentence of real content that must survive whatever sits next to it in the folder."
LIMIT = 90  # seconds: a hang is a failure, not a stuck suite
BREAK = re.compile(r"\r\n|\n|\r")


def _curate(*args, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = run_process(*args, timeout=LIMIT, env=env, cwd=cwd)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result


def _curate_here(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """_curate in-process, for a run that cannot hang (a refusal, or a small input of
    plain files): no timeout is needed, and the ~1 s of a process start is spared."""
    result = in_process(*args, cwd=cwd)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result


def _folder(tmp_path: Path, name: str = "in") -> Path:
    src = tmp_path / name
    src.mkdir()
    (src / "a_good.txt").write_text(GOOD + "\n")
    return src


def _problems(out: Path) -> dict:
    return {(q["source"], q["line"]): q for q in read_jsonl(out / "quarantine.jsonl")}


def _texts(out: Path) -> dict[str, str]:
    return {r["id"]: r["text"] for r in read_corpus(out)}


def _accounted(out: Path) -> dict:
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    lines = summary["lines"]
    assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"]
    assert sum(q["lines"] for q in read_jsonl(out / "quarantine.jsonl")) == lines["quarantined"]
    return summary


def _good_survives(out: Path) -> None:
    assert _texts(out)["a_good.txt"] == GOOD


# -- 1. .jsonl.zst ----------------------------------------------------------------------------


def _records(n: int, start: int = 0) -> bytes:
    return "".join(json.dumps({"id": f"r{i}", "text": f"Record number {i} is complete and fine."}) + "\n"
                   for i in range(start, start + n)).encode()


def test_zstd_files_from_the_zstd_tool_and_from_python_are_read(tmp_path):
    src = _folder(tmp_path)
    plain = tmp_path / "two.jsonl"
    plain.write_bytes(_records(2))
    subprocess.run(["zstd", "-q", str(plain), "-o", str(src / "tool.jsonl.zst")], check=True, timeout=LIMIT)
    (src / "python.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(_records(2, 2)))
    # Several frames in one file (zstd -d reads them all), written without a content size.
    frames = b"".join(zstandard.ZstdCompressor(write_content_size=False).compress(_records(1, i)) for i in (4, 5, 6))
    (src / "frames.jsonl.zst").write_bytes(frames)
    out = tmp_path / "out"
    result = _curate("run", src, "-o", out, "--no-builtin-rules")
    assert result.returncode == 0, result.stderr
    assert not read_jsonl(out / "quarantine.jsonl")
    texts = _texts(out)
    assert [texts[f"r{i}"] for i in range(7)] == [f"Record number {i} is complete and fine." for i in range(7)]
    assert {r["source"] for r in read_corpus(out)} == \
        {"a_good.txt", "tool.jsonl.zst", "python.jsonl.zst", "frames.jsonl.zst"}
    _accounted(out)


def test_truncated_zstd_says_so_and_keeps_what_came_before(tmp_path):
    src = _folder(tmp_path)
    whole = zstandard.ZstdCompressor().compress(_records(3))
    (src / "cut.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(_records(3, 10)) + whole[:-8])
    out = tmp_path / "out"
    assert _curate("run", src, "-o", out, "--no-builtin-rules").returncode == 0
    kept = [r["id"] for r in read_corpus(out) if r["source"] == "cut.jsonl.zst"]
    assert kept == ["r10", "r11", "r12"]
    problem = _problems(out)[("cut.jsonl.zst", 4)]
    assert "truncated" in problem["problem"] and "records after line 3 are lost" in problem["action"]
    _good_survives(out)
    _accounted(out)


def test_a_compressed_txt_file_is_read_and_a_bad_or_huge_one_costs_that_file_only(tmp_path):
    src = _folder(tmp_path)
    page = "A page that was compressed before it came here.\n\nIts second paragraph, after a blank line.\n"
    (src / "page.txt.gz").write_bytes(gzip.compress(page.encode()))
    (src / "cut.txt.gz").write_bytes(gzip.compress(page.encode())[:30])  # a download cut off
    # 60 MB of text in a few kB: decompressed only up to --max-doc-bytes, then counted as it streams.
    (src / "bomb.txt.zst").write_bytes(zstandard.ZstdCompressor().compress(b"x\n" * (30 << 20)))
    out = tmp_path / "out"
    result = _curate("run", src, "-o", out, "--no-builtin-rules", "--max-doc-bytes", "1MiB")
    assert result.returncode == 0, result.stderr
    [record] = [r for r in read_corpus(out) if r["source"] == "page.txt.gz"]
    assert record["text"] == page.strip() and record["bytes_of"] == "file"
    # Spans index the decompressed bytes, what zcat prints.
    assert [page.encode()[a:b].decode() for a, b in (line["bytes"] for line in record["lines"])] == \
        page.strip().split("\n\n")
    problems = _problems(out)
    assert problems[("cut.txt.gz", None)]["problem"].startswith("corrupt or truncated compressed data")
    assert problems[("cut.txt.gz", None)]["action"] == "skipped; re-download or recompress the file"
    assert problems[("bomb.txt.zst", None)]["problem"] == f"file larger than --max-doc-bytes ({1 << 20:,} bytes)"
    assert problems[("bomb.txt.zst", None)]["lines"] == 30 << 20
    _good_survives(out)
    _accounted(out)


# -- 2. names that are not UTF-8, and an ASCII locale -------------------------------------------


def test_names_that_are_not_utf8_are_spelled_with_escapes(tmp_path):
    src = _folder(tmp_path)
    raw = os.fsencode(src)
    os.mkdir(raw + b"/caf\xe9")
    with open(raw + b"/caf\xe9/page\xe9.txt", "wb") as f:
        f.write(b"Une page dans un dossier au nom en Latin-1, lue quand m\xc3\xaame.\n")
    with open(raw + b"/notes\xe9.md", "wb") as f:
        f.write(b"not an input type\n")
    with open(raw + b"/recs\xff.jsonl", "wb") as f:
        f.write(b'{"text": "A record without an id, so its id is made from the name."}\n')
    out = tmp_path / "out"
    result = _curate("run", src, "-o", out, "--no-builtin-rules")
    assert result.returncode == 0, result.stderr
    records = {r["source"]: r for r in read_corpus(out)}
    assert records["caf\\xe9/page\\xe9.txt"]["text"].startswith("Une page dans un dossier")
    assert records["recs\\xff.jsonl"]["id"] == "recs\\xff.jsonl:1"
    assert _problems(out)[("notes\\xe9.md", None)]["problem"] == "unsupported file type"
    assert "warning: notes\\xe9.md: unsupported file type" in result.stderr
    _good_survives(out)
    _accounted(out)


def test_an_ascii_locale_reads_and_writes_the_same_bytes(tmp_path):
    src = _folder(tmp_path)
    (src / "café").mkdir()
    (src / "café" / "naïve.txt").write_text("Un texte dont le nom de fichier n'est pas en ASCII.\n")
    (src / "zürich.jsonl").write_text(json.dumps({"id": "zü", "text": "Grüezi mitenand."}) + "\n")
    with open(os.fsencode(src) + b"/latin\xe9.txt", "wb") as f:
        f.write(b"Un nom de fichier en Latin-1.\n")
    outs = []
    for locale in ("C", "C.UTF-8"):
        out = tmp_path / f"out-{locale}"
        env = {**os.environ, "LC_ALL": locale, "PYTHONUTF8": "0" if locale == "C" else "1"}
        result = _curate("run", src, "-o", out, "-q", "--no-builtin-rules", env=env)
        assert result.returncode == 0, result.stderr
        outs.append(output_files(out))
    assert outs[0] == outs[1]
    sources = [r["source"] for r in read_corpus(tmp_path / "out-C")]
    assert sources == ["a_good.txt", "café/naïve.txt", "latin\\xe9.txt", "zürich.jsonl"]


def test_explain_a_file_whose_name_is_not_utf8(tmp_path):
    raw = os.fsencode(tmp_path) + b"/page\xe9.txt"
    with open(raw, "wb") as f:
        f.write(b"A page whose name is not UTF-8, explained line by line without a crash.\n")
    result = _curate("explain", os.fsdecode(raw), "--no-builtin-rules")
    assert result.returncode == 0, result.stderr
    assert "== page\\xe9.txt: 1 kept" in result.stdout


# -- 3. and 4. records json reads badly ----------------------------------------------------------


def test_a_lone_surrogate_id_is_kept_escaped_in_run_and_dedup(tmp_path):
    src = _folder(tmp_path)
    (src / "ids.jsonl").write_bytes(b'{"id": "\\ud800", "text": "fine"}\n'
                                    b'{"id": "x\\udfff\\ud83d\\ude00", "text": "also fine"}\n')
    for command in ("run", "dedup"):
        out = tmp_path / command
        result = _curate_here(command, src, "-o", out)
        assert result.returncode == 0, result.stderr
        texts = _texts(out)
        assert texts["\\ud800"] == "fine" and texts["x\\udfff\U0001F600"] == "also fine"
        _good_survives(out)
        _accounted(out)


def test_records_json_rejects_for_depth_or_size_do_not_lose_the_rest(tmp_path):
    src = _folder(tmp_path)
    deep = b'{"text": "deep", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    huge = b'{"text": "huge", "n": ' + b"7" * 5000 + b"}\n"
    (src / "bad.jsonl").write_bytes(_records(1) + deep + huge + _records(1000, 1))
    out = tmp_path / "out"
    assert _curate("run", src, "-o", out, "--no-builtin-rules", "-q").returncode == 0
    problems = _problems(out)
    assert problems[("bad.jsonl", 2)]["problem"].startswith("nested too deeply")
    assert problems[("bad.jsonl", 3)]["problem"].startswith("invalid JSON: a number with more than 4,300 digits")
    assert len([r for r in read_corpus(out) if r["source"] == "bad.jsonl"]) == 1001
    summary = _accounted(out)
    assert summary["lines"]["read"] == 1 + 1003


def _nested(depth: int, extra: str = "") -> bytes:
    """A record ``depth`` levels of arrays and objects deep (the record is level 1)."""
    inner = "[" * (depth - 1) + "]" * (depth - 1)
    read_by = "json" if "NaN" in extra else "orjson"
    return f'{{"text": "A record of {depth} levels that {read_by} reads.", "m": {inner}{extra}}}\n'.encode()


def test_one_depth_limit_for_every_record_whichever_parser_reads_it(tmp_path):
    """Records deeper than 200 levels are quarantined at read time, whether orjson reads
    them (up to its 1,024 levels) or json's lenient parse does (a NaN): deeper ones crashed
    the run in the lone-surrogate scrub, in the writer or in pickling to a worker. The
    deepest record kept is written whole, to JSON lines and Parquet, on one or two workers."""
    src = _folder(tmp_path)
    lines = [_nested(200), _nested(200, ', "x": NaN'), _nested(201), _nested(201, ', "x": NaN'),
             _nested(600, ', "x": NaN'), _nested(975, ', "x": NaN'), _nested(1000), _nested(1024), _nested(1025)]
    (src / "deep.jsonl").write_bytes(b"".join(lines) + _records(1))
    outputs = {}
    for workers, fmt in (("1", "jsonl"), ("2", "jsonl"), ("2", "parquet")):
        out = outputs[workers, fmt] = tmp_path / f"out{workers}{fmt}"
        result = _curate("run", src, "-o", out, "-q", "--no-builtin-rules", "--workers", workers,
                         "--output-format", fmt)
        assert result.returncode == 0, result.stderr
        problems = _problems(out)
        assert sorted(line for source, line in problems if source == "deep.jsonl") == list(range(3, 10))
        for line in range(3, 10):
            assert problems[("deep.jsonl", line)]["problem"] == (
                "nested too deeply (more than 200 levels of arrays and objects)")
            assert problems[("deep.jsonl", line)]["action"] == "record skipped; flatten or delete this line"
        kept = [r for r in read_corpus(out) if r["source"] == "deep.jsonl"]
        assert [r["id"] for r in kept] == ["deep.jsonl:1", "deep.jsonl:2", "r0"]
        assert kept[0]["metadata"]["m"] == json.loads(_nested(200))["m"]
        _good_survives(out)
        assert _accounted(out)["lines"]["read"] == 1 + 10
    assert corpus_bytes(outputs["1", "jsonl"]) == corpus_bytes(outputs["2", "jsonl"])


def _not_json(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


def test_integers_beyond_64_bits_are_kept_exactly(tmp_path):
    """orjson reads an integer beyond 64 bits as a float without a word: the output said
    1.2345678901234568e+29 for 123456789012345678901234567890. Now such a record is read
    by json, which keeps the integer, and written by json's writer, which writes it whole."""
    src = _folder(tmp_path)
    wide = [123456789012345678901234567890, -9223372036854775809, 18446744073709551616, -(10 ** 300)]
    fitting = [18446744073709551615, -9223372036854775808]  # orjson reads and writes these itself
    records = [{"id": 123456789012345678901234567891, "text": "A record whose id is wider than 64 bits."},
               {"id": "b", "text": "A record whose metadata holds wide integers.", "n": wide, "f": 2.5e19,
                "deep": {"x": [{"y": -123456789012345678901234567890}]}},
               {"id": "c", "text": "A record whose integers all fit in 64 bits.", "n": fitting},
               # json's writer, which such a record needs, wrote NaN and Infinity, which are not JSON.
               {"id": "d", "text": "A record with a wide integer and numbers JSON has not.", "big": 10 ** 30,
                "x": float("nan"), "y": [float("-inf")]}]
    (src / "wide.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}"
        assert _curate_here("run", src, "-o", out, "-q", "--no-builtin-rules", "--workers", workers).returncode == 0
        outs.append(out)
        kept = {r["id"]: r for r in read_corpus(out) if r["source"] == "wide.jsonl"}
        assert list(kept) == ["123456789012345678901234567891", "b", "c", "d"]
        assert kept["b"]["metadata"] == {key: records[1][key] for key in ("n", "f", "deep")}
        assert kept["c"]["metadata"] == {"n": fitting}
        assert kept["d"]["metadata"] == {"big": 10 ** 30, "x": None, "y": [None]}  # null, as orjson writes them
        for line in corpus_bytes(out).splitlines():
            json.loads(line, parse_constant=_not_json)
        assert b"123456789012345678901234567890," in corpus_bytes(out)  # written as digits, not 1.23e+29
        _accounted(out)
    assert corpus_bytes(outs[0]) == corpus_bytes(outs[1])
    out = tmp_path / "parquet"
    assert _curate_here("run", src, "-o", out, "-q", "--no-builtin-rules", "--output-format", "parquet").returncode == 0
    assert {r["id"]: r.get("metadata") for r in read_corpus(out)}["b"]["n"] == wide


# -- 5. FIFOs and devices ----------------------------------------------------------------------


def test_fifos_and_device_links_are_skipped_not_read(tmp_path):
    src = _folder(tmp_path)
    for name in ("pipe.txt", "pipe.jsonl", "pipe.jsonl.gz"):
        os.mkfifo(src / name)
    (src / "zero.txt").symlink_to("/dev/zero")
    (src / "random.jsonl").symlink_to("/dev/urandom")
    out = tmp_path / "out"
    result = _curate("run", src, src / "pipe.txt", "-o", out, "--no-builtin-rules")
    assert result.returncode == 1 and "pipe.txt is inside" in result.stderr  # named twice: refused
    result = _curate("run", src, "-o", out, "--no-builtin-rules")
    assert result.returncode == 0, result.stderr
    problems = _problems(out)
    for name in ("pipe.txt", "pipe.jsonl", "pipe.jsonl.gz"):
        assert problems[(name, None)]["problem"] == "not a regular file: a named pipe (FIFO)"
        assert "copy the data into a file" in problems[(name, None)]["action"]
    assert problems[("zero.txt", None)]["problem"] == "not a regular file: a character device"
    assert problems[("random.jsonl", None)]["problem"] == "not a regular file: a character device"
    _good_survives(out)
    _accounted(out)
    for name in ("pipe.txt", "zero.txt"):
        result = _curate("explain", src / name)
        assert result.returncode == 1 and "not a regular file" in result.stderr
    # Given directly, too.
    direct = tmp_path / "direct"
    result = _curate("run", src / "a_good.txt", src / "pipe.jsonl.gz", src / "zero.txt", "-o", direct)
    assert result.returncode == 0, result.stderr
    assert set(_problems(direct)) == {("pipe.jsonl.gz", None), ("zero.txt", None)}
    _good_survives(direct)


def test_a_fifo_swapped_in_after_discovery_is_not_opened(tmp_path):
    """The check is made on the opened file, so a file replaced by a FIFO between the walk
    and the read cannot block the run."""
    from curate.discover import InputFile
    from curate.formats import read_documents

    for name in ("late.txt", "late.jsonl"):
        os.mkfifo(tmp_path / name)
        [problem] = list(read_documents([InputFile(tmp_path / name, name, 0)]))
        assert problem.problem == "not a regular file: a named pipe (FIFO)"


# -- 6. limits -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_gzip_bomb_is_skipped_in_bounded_memory(tmp_path):
    src = _folder(tmp_path)
    zeros = bytes(1 << 20)
    with gzip.open(src / "bomb.jsonl.gz", "wb", compresslevel=1) as f:
        f.write(_records(1))
        for _ in range(400):  # 400 MB of zeros on one line, about 0.4 MB on disk
            f.write(zeros)
        f.write(b"\n" + _records(2, 1))
    with open(src / "bomb.jsonl.zst", "wb") as raw, zstandard.ZstdCompressor(level=1).stream_writer(raw) as f:
        f.write(_records(1, 10))
        for _ in range(400):
            f.write(zeros)
        f.write(b"\n" + _records(1, 11))
    assert (src / "bomb.jsonl.gz").stat().st_size + (src / "bomb.jsonl.zst").stat().st_size < 4 << 20
    out = tmp_path / "out"
    result, peak = peak_rss_mb("run", src, "-o", out, "-q", "--no-builtin-rules", timeout=LIMIT * 2)
    assert result.returncode == 0, result.stderr
    assert peak < 400, f"peak memory {peak:.0f} MB for a 400 MB line"
    for name in ("bomb.jsonl.gz", "bomb.jsonl.zst"):
        problem = _problems(out)[(name, 2)]
        assert problem["problem"] == (f"record of {400 * (1 << 20) + 1:,} bytes is larger than --max-doc-bytes "
                                      f"({64 << 20:,} bytes)")
        assert "--max-doc-bytes" in problem["action"]
    assert [r["id"] for r in read_corpus(out)] == ["a_good.txt", "r0", "r1", "r2", "r10", "r11"]
    _accounted(out)


def test_a_csv_row_of_millions_of_tiny_fields_is_refused_before_it_is_split_in_bounded_memory(tmp_path):
    """The cut counts a row's fields as it finds its end (bytes.find and bytes.count, and
    a regex match for a run of fields), so a row of 10 million fields is
    refused without 10 million Python strings (before: 1.75 GB and 20-35 s for 20 million)."""
    src = _folder(tmp_path)
    first, last = "first row with ordinary words here", "last row with ordinary words here"

    def write(name: str, header: bytes, middle: bytes, times: int) -> None:
        with gzip.open(src / name, "wb", compresslevel=1) as f:
            f.write(header + f"\n{first}\n".encode())
            for _ in range(times):
                f.write(middle)
            f.write(f"\n{last}\n".encode())

    write("commas.csv.gz", b"text", b"," * (1 << 20), 80)  # over --max-doc-bytes: counted, never held
    write("fields.csv.gz", b"text", b"ab," * 1_000_000, 10)
    write("quoted.tsv.gz", b"text", b'""\tx\t' * 1_000_000, 5)
    write("escaped.csv.gz", b"text", b'"a""b","c,d",' * 1_000_000, 5)  # quotes and delimiters inside quotes
    write("wide.csv.gz", b"text," + b"c," * 200_000 + b"x", b"", 0)  # no row under a header this wide
    out = tmp_path / "out"
    result, peak = peak_rss_mb("run", src, "-o", out, "-q", "--no-builtin-rules", timeout=LIMIT * 2)
    assert result.returncode == 0, result.stderr
    assert peak < 500, f"peak memory {peak:.0f} MB"
    problems = _problems(out)
    assert problems.pop(("commas.csv.gz", 2))["problem"] == (f"row of {80 << 20:,} bytes is larger than "
                                                            f"--max-doc-bytes ({64 << 20:,} bytes)")
    for name in ("fields.csv.gz", "quoted.tsv.gz", "escaped.csv.gz"):
        problem = problems.pop((name, 2))
        assert problem["problem"] == "row has 10,000,001 fields where the header has 1"
        assert problem["action"] == "row skipped; check this row's quoting and delimiters" and problem["lines"] == 1
    wide = problems.pop(("wide.csv.gz", None))
    assert wide["problem"] == "a header row of 200,002 columns, more than curate reads (100,000)"
    assert wide["lines"] == 2 and wide["action"].startswith("skipped; is this a CSV file?")
    assert not problems
    texts = _texts(out)
    for name in ("commas.csv.gz", "fields.csv.gz", "quoted.tsv.gz", "escaped.csv.gz"):
        assert (texts[f"{name}:1"], texts[f"{name}:3"]) == (first, last)
    _good_survives(out)
    assert _accounted(out)["lines"]["quarantined"] == 6


def test_a_txt_file_over_the_limit_is_not_read_but_its_lines_are_counted(tmp_path):
    src = _folder(tmp_path)
    (src / "big.txt").write_bytes(("A line of a file that is too big to read.\n\n" * 30_000).encode())
    (src / "sparse.txt").touch()
    os.truncate(src / "sparse.txt", 200 << 20)  # 200 MB of NULs that take no disk space
    out = tmp_path / "out"
    result = _curate("run", src, "-o", out, "-q", "--no-builtin-rules", "--max-doc-bytes", "1MiB")
    assert result.returncode == 0, result.stderr
    problems = _problems(out)
    assert problems[("big.txt", None)]["problem"] == f"file larger than --max-doc-bytes ({1 << 20:,} bytes)"
    assert problems[("big.txt", None)]["lines"] == 30_000
    assert problems[("sparse.txt", None)]["lines"] == 1
    _good_survives(out)
    _accounted(out)


def test_a_document_with_more_lines_than_max_doc_lines_is_quarantined_unread(tmp_path):
    src = _folder(tmp_path)
    # 300 non-blank lines, with blank ones and every kind of line break between them.
    (src / "list.txt").write_bytes(b"".join(b"item %d%s" % (i, (b"\n\n", b"\r\n", b"\r", b"\n \t\n")[i % 4])
                                            for i in range(300)))
    (src / "fits.txt").write_text("".join(f"Entry {i}: {'x' * (i % 7)} {i * i}\n" for i in range(200)))
    records = [{"id": "many", "text": "\n".join(f"row {i}" for i in range(250))}, {"id": "few", "text": "one\ntwo"}]
    (src / "recs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out"
    result = _curate("run", src, "-o", out, "-q", "--no-builtin-rules", "--max-doc-lines", "200")
    assert result.returncode == 0, result.stderr
    problems = _problems(out)
    assert problems[("list.txt", None)]["problem"] == "300 lines, more than --max-doc-lines (200)"
    assert problems[("list.txt", None)]["lines"] == 300
    assert "raise --max-doc-lines" in problems[("list.txt", None)]["action"]
    assert problems[("recs.jsonl", 1)]["problem"] == "250 lines, more than --max-doc-lines (200)"
    assert problems[("recs.jsonl", 1)]["lines"] == 250
    texts = _texts(out)
    assert len(texts["fits.txt"].splitlines()) == 200  # exactly the limit: read
    assert texts["few"] == "one\ntwo" and "many" not in texts and "list.txt" not in texts
    _good_survives(out)
    summary = _accounted(out)
    assert summary["settings"]["read"]["max_doc_lines"] == 200


@pytest.mark.slow
def test_a_document_of_millions_of_lines_is_skipped_in_bounded_memory(tmp_path):
    """Three million two-byte lines: read, they would take ~6 GB in the noise stage."""
    src = _folder(tmp_path)
    (src / "words.txt").write_bytes(b"a\n" * 3_000_000)
    out = tmp_path / "out"
    result, peak = peak_rss_mb("run", src, "-o", out, "-q", timeout=LIMIT * 2)
    assert result.returncode == 0, result.stderr
    assert peak < 400, f"peak memory {peak:.0f} MB for a document of 3 million lines"
    assert _problems(out)[("words.txt", None)]["problem"] == "3,000,000 lines, more than --max-doc-lines (1,000,000)"
    _good_survives(out)
    _accounted(out)


def test_over_long_lines_and_records_are_quarantined_and_the_rest_is_read(tmp_path):
    src = _folder(tmp_path)
    long_line = "word " * 400
    (src / "page.txt").write_text(f"First line.\n{long_line}\nLast line.\n")
    records = [{"id": "ok1", "text": "before"}, {"id": "big", "text": "x" * 5000},
               {"id": "two", "text": f"short line\n{long_line}\nanother"}, {"id": "ok2", "text": "after"}]
    (src / "recs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out"
    result = _curate("dedup", src, "-o", out, "-q", "--max-line-bytes", "1K", "--max-doc-bytes", "4K")
    assert result.returncode == 0, result.stderr
    problems = _problems(out)
    assert problems[("page.txt", 2)]["problem"] == f"line of {len(long_line):,} bytes is longer than " \
        "--max-line-bytes (1,024 bytes)"
    assert problems[("page.txt", 2)]["action"] == "line skipped; raise --max-line-bytes to read it"
    assert problems[("recs.jsonl", 2)]["problem"].startswith("record of 5,") and \
        "--max-doc-bytes (4,096 bytes)" in problems[("recs.jsonl", 2)]["problem"]
    assert problems[("recs.jsonl", 3)]["problem"].startswith("line of 2,000 bytes is longer than --max-line-bytes")
    texts = _texts(out)
    assert texts["page.txt"] == "First line.\nLast line."
    assert texts["ok1"] == "before" and texts["ok2"] == "after" and texts["two"] == "short line\nanother"
    _good_survives(out)
    _accounted(out)


def test_limits_are_options_with_sizes(tmp_path):
    result = invoke("run", tmp_path, "-o", tmp_path / "out", "--max-line-bytes", "lots")
    assert result.exit_code == 2 and "is not a size" in result.output
    assert "--max-doc-bytes" in invoke("run", "--help").output


# -- 7. encodings ----------------------------------------------------------------------------------


def _spans_give_back_lines(src: Path, out: Path) -> int:
    """Every kept and removed span, cut from the raw file and decoded with the recorded
    encoding, is the line as read; returns how many were checked."""
    checked = 0
    encodings = {}
    for rec in read_corpus(out):
        if rec["bytes_of"] != "file":
            continue
        data = (src / rec["source"]).read_bytes()
        encodings[rec["source"]] = rec["encoding"]
        lines = BREAK.split(data.decode(rec["encoding"], "replace").removeprefix("\ufeff"))
        for entry in rec["lines"]:
            start, end = entry["bytes"]
            assert data[start:end].decode(rec["encoding"]) == lines[entry["line"] - 1]
            checked += 1
    for rec in read_jsonl(out / "removed.jsonl"):
        if rec["source"] in encodings:
            start, end = rec["bytes"]
            assert (src / rec["source"]).read_bytes()[start:end].decode(encodings[rec["source"]]) == rec["removed"]
            checked += 1
    return checked


def _french(tag: str) -> str:
    """A page in French, its lines marked with ``tag`` so no two files are duplicates."""
    return (f"Le château {tag} se trouve près de la forêt, où les élèves étudient déjà.\r\n"
            f"Ça coûte 10 € — «très cher», dit-il ({tag}).\r\n\r\nDeuxième paragraphe {tag}, sans accent.\r\n")


def _as_read(text: str) -> str:
    return text.replace("\r\n\r\n", "\n\n").replace("\r\n", "\n").strip()


def test_legacy_and_bomless_utf16_text_is_decoded_with_exact_spans(tmp_path):
    src = _folder(tmp_path)
    (src / "cp1252.txt").write_bytes(_french("un").encode("cp1252"))
    (src / "latin1.txt").write_bytes("Café au lait, à la française.\nA second line.\n".encode("latin-1"))
    (src / "wide-le.txt").write_bytes(_french("deux").encode("utf-16-le"))
    (src / "wide-be.txt").write_bytes(_french("trois").encode("utf-16-be"))
    (src / "russian.txt").write_bytes("Привет, как дела? Это тестовый текст на русском языке.\n".encode("cp1251"))
    mixed = "Une ligne en UTF-8, déjà lue.\n".encode() + "Une ligne en Latin-1, déjà perdue.\n".encode("latin-1")
    (src / "mixed.txt").write_bytes(mixed)
    out = tmp_path / "out"
    result = _curate("dedup", src, "-o", out, "-q")
    assert result.returncode == 0, result.stderr
    records = {r["source"]: r for r in read_corpus(out)}
    assert records["cp1252.txt"]["encoding"] == "cp1252" and records["cp1252.txt"]["text"] == _as_read(_french("un"))
    assert records["latin1.txt"]["encoding"] == "cp1252"
    assert records["latin1.txt"]["text"] == "Café au lait, à la française.\nA second line."
    assert records["wide-le.txt"]["encoding"] == "utf-16-le"
    assert records["wide-le.txt"]["text"] == _as_read(_french("deux"))
    assert records["wide-be.txt"]["encoding"] == "utf-16-be"
    assert records["wide-be.txt"]["text"] == _as_read(_french("trois"))
    assert records["russian.txt"]["encoding"] == "cp1251" and records["russian.txt"]["text"].startswith("Привет")
    # A file that mixes UTF-8 with another encoding keeps its UTF-8 and quarantines the rest, as before.
    assert records["mixed.txt"]["encoding"] == "utf-8"
    assert records["mixed.txt"]["text"] == "Une ligne en UTF-8, déjà lue."
    assert _problems(out)[("mixed.txt", 2)]["problem"].startswith("not valid UTF-8")
    assert _spans_give_back_lines(src, out) == 14
    _good_survives(out)
    _accounted(out)


def test_encoding_option_names_the_encoding_of_txt_files(tmp_path):
    src = _folder(tmp_path)
    (src / "polish.txt").write_bytes("Zażółć gęślą jaźń, mówi pan Źdźbło.\n".encode("iso8859-2"))
    out = tmp_path / "out"
    result = _curate("run", src, "-o", out, "-q", "--encoding", "latin2", "--no-builtin-rules")
    assert result.returncode == 0, result.stderr
    rec = next(r for r in read_corpus(out) if r["source"] == "polish.txt")
    assert rec["encoding"] == "iso8859-2" and rec["text"] == "Zażółć gęślą jaźń, mówi pan Źdźbło."
    assert _spans_give_back_lines(src, out) == 2
    summary = _accounted(out)
    assert summary["settings"]["read"]["encoding"] == "iso8859-2"
    for bad, message in (("klingon", "unknown encoding"), ("utf-32", "does not use")):
        result = invoke("run", src, "-o", tmp_path / "no", "--encoding", bad)
        assert result.exit_code == 2 and message in result.output
        assert not (tmp_path / "no").exists()


def test_encoding_utf8_on_a_cp1252_file_advises_auto_or_cp1252_not_latin1(tmp_path):
    """iconv -f latin1 makes cp1252's quotes and dashes (0x80-0x9F) C1 controls: --encoding
    utf-8 on such a file advises what reads it right, auto or the encoding by name."""
    src = _folder(tmp_path)
    (src / "quotes.txt").write_bytes("\u201cQuoted\u201d text \u2013 with a dash.\n".encode("cp1252"))
    out = tmp_path / "out"
    result = _curate_here("run", src, "-o", out, "-q", "--encoding", "utf8", "--no-builtin-rules")
    assert result.returncode == 0, result.stderr
    problem = _problems(out)[("quotes.txt", 1)]
    assert problem["problem"].startswith("not valid UTF-8")
    assert "--encoding auto" in problem["action"] and "--encoding cp1252" in problem["action"]
    assert "iconv" not in problem["action"] and "latin1" not in problem["action"]
    advised = _curate_here("run", src, "-o", tmp_path / "advised", "-q", "--encoding", "cp1252", "--no-builtin-rules")
    assert advised.returncode == 0, advised.stderr
    rec = next(r for r in read_corpus(tmp_path / "advised") if r["source"] == "quotes.txt")
    assert rec["text"] == "\u201cQuoted\u201d text \u2013 with a dash."


# -- 8. silent skips and no-ops ------------------------------------------------------------------


def test_hidden_entries_empty_jsonl_and_duplicate_ids_are_said(tmp_path):
    src = _folder(tmp_path)
    (src / ".hidden.txt").write_text("Hidden text.\n")
    (src / ".git").mkdir()
    for i in range(3):
        (src / ".git" / f"f{i}.txt").write_text("inside a hidden folder\n")
    (src / "empty.jsonl").write_bytes(b"")
    (src / "blank.jsonl").write_bytes(b"\n  \n")
    (src / "empty.jsonl.gz").write_bytes(gzip.compress(b""))
    (src / "one.jsonl").write_text(json.dumps({"id": "same", "text": "First use of the id."}) + "\n"
                                   + json.dumps({"id": "a_good.txt", "text": "An id that names a file."}) + "\n")
    (src / "two.jsonl").write_text(json.dumps({"text": "no id"}) + "\n"
                                   + json.dumps({"id": "same", "text": "Second use of the id."}) + "\n")
    out = tmp_path / "out"
    result = _curate_here("run", src, "-o", out, "--no-builtin-rules")
    assert result.returncode == 0, result.stderr
    problems = _problems(out)
    assert problems[(".hidden.txt", None)]["problem"] == "hidden file skipped"
    assert problems[(".git", None)]["problem"] == "hidden folder skipped"
    assert not any(source.startswith(".git/") for source, _ in problems)
    assert problems[("empty.jsonl", None)]["problem"] == "empty file"
    assert problems[("empty.jsonl.gz", None)]["problem"] == "empty file"
    assert problems[("blank.jsonl", None)]["problem"] == "no records: the file holds only blank lines"
    assert problems[("two.jsonl", 2)]["problem"] == "duplicate id 'same', first used at one.jsonl:1"
    assert problems[("one.jsonl", 2)]["problem"] == "duplicate id 'a_good.txt', first used at a_good.txt"
    assert all(q["lines"] == 0 for q in problems.values())
    texts = {(r["source"], r["id"]): r["text"] for r in read_corpus(out)}
    assert texts[("two.jsonl", "same")] == "Second use of the id."  # kept: the id is odd, not the text
    assert texts[("a_good.txt", "a_good.txt")] == GOOD
    _accounted(out)


def test_user_mistakes_in_the_inputs_are_refused(tmp_path):
    src = _folder(tmp_path)
    (src / "sub").mkdir()
    (src / "sub" / "b.txt").write_text(GOOD + "\n")
    (src / "notes.md").write_text("x\n")
    out = tmp_path / "out"
    cases = [((src / "notes.md",), "notes.md: unsupported file type"),
             ((src, src / "sub"), "sub is inside"),
             ((src / "sub", src), "sub is inside"),
             ((src / "a_good.txt", src / "a_good.txt"), "are the same file"),
             ((src, src / "sub" / ".." / "sub" / "b.txt"), "is inside")]
    for inputs, message in cases:
        result = _curate_here("run", *inputs, "-o", out)
        assert result.returncode == 1 and message in result.stderr, (inputs, result.stderr)
        assert "Error:" in result.stderr and not out.exists()


# -- 9. output inside an input folder ------------------------------------------------------------


def test_a_run_in_its_input_folder_never_reads_its_own_output(tmp_path):
    src = _folder(tmp_path)
    (src / "b.txt").write_text("Another page with a paragraph that is long enough to be deduplicated here.\n")
    first = _curate("run", ".", "-q", "--no-builtin-rules", cwd=src)
    assert first.returncode == 0, first.stderr
    written = {name: data for name, data in output_files(src / "output").items() if name != "summary.json"}
    corpus = corpus_bytes(src / "output")
    # Said on the first run too, before the folder exists: a resumed run must see the same items.
    assert _problems(src / "output")[("output", None)]["problem"] == "this run's output folder skipped"
    second = _curate("run", ".", "--no-builtin-rules", "--overwrite", cwd=src)
    assert second.returncode == 0, second.stderr
    assert {name: data for name, data in output_files(src / "output").items() if name != "summary.json"} == written
    # Any other curate output folder in the walk is skipped too, finished or not.
    (src / "old").mkdir()
    (src / "old" / "corpus").mkdir()
    (src / "old" / "corpus" / "part-00000.jsonl").write_bytes(corpus)
    (src / "old" / "summary.json").write_text(json.dumps({"settings": {"curate": "0.1.0"}}))
    (src / "partial" / ".partial").mkdir(parents=True)
    (src / "partial" / "corpus.jsonl").write_bytes(corpus)
    out = tmp_path / "elsewhere"
    assert _curate("run", src, "-o", out, "-q", "--no-builtin-rules").returncode == 0
    problems = _problems(out)
    for name in ("old", "partial"):
        assert problems[(name, None)]["problem"] == "output folder of a curate run skipped"
        assert "give its corpus/ folder as an input" in problems[(name, None)]["action"]
    assert corpus_bytes(out).replace(b"\n", b"") and _texts(out).keys() == {"a_good.txt", "b.txt"}
    _accounted(out)


def test_an_earlier_runs_output_folder_named_as_the_input_is_refused_and_its_corpus_is_read(tmp_path):
    """Named, the folder was read whole: summary.json quarantined as a JSON document,
    the audit files' records as records without text, the index as unsupported files,
    and the corpus read back. Named as a pattern's folder, or in --inputs-from, the same."""
    src = _folder(tmp_path)
    clean = tmp_path / "clean"
    assert _curate_here("run", src, "-o", clean, "-q", "--no-builtin-rules", "--save-index").returncode == 0
    (tmp_path / "list.txt").write_text(f"{src}\n{clean}\n")
    (tmp_path / "part" / ".partial").mkdir(parents=True)  # an unfinished run's folder
    (tmp_path / "part" / "corpus").mkdir()
    shutil.copy(clean / "corpus" / "part-00000.jsonl", tmp_path / "part" / "corpus")
    corpus = f"clean{os.sep}corpus{os.sep}"
    cases = [(("clean",), f"clean: a curate run's output folder, whose files curate does not read as input; to "
                          f"read its corpus, give {corpus} as the input"),
             (("clean/",), f"give {corpus} as the input"),
             ((".",), f"give corpus{os.sep} as the input"),
             (("clean/*.jsonl",), "clean/*.jsonl: the pattern is matched in clean, a curate run's output folder"),
             (("clean/**/*.jsonl",), f"give {corpus} as the input"),
             (("--inputs-from", "list.txt"), f"{clean}: a curate run's output folder"),
             (("part",), f"part: a curate run's output folder, whose files curate does not read as input; to read "
                         f"its corpus, give part{os.sep}corpus{os.sep} as the input")]
    for inputs, message in cases:
        out = tmp_path / "again"
        result = _curate_here("run", *inputs, "-o", out, "-q", cwd=clean if inputs == (".",) else tmp_path)
        assert result.returncode == 1 and message in result.stderr, (inputs, result.stderr)
        assert not out.exists()
    # Its corpus, named, is read as any folder of JSON lines is: the same text again.
    for corpus_input in ("clean/corpus", "clean/corpus/*.jsonl"):
        again = _curate_here("run", corpus_input, "-o", tmp_path / "again", "-q", "--no-builtin-rules", "--overwrite",
                        cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert list(_texts(tmp_path / "again").values()) == [GOOD] and not _problems(tmp_path / "again")
        _accounted(tmp_path / "again")


def test_a_symlink_in_the_input_that_leads_into_the_output_is_not_read(tmp_path):
    """--overwrite deletes the output's files while the run reads its inputs: a link to
    one of them (or to its corpus/ folder) is this run's output, not an input."""
    src = _folder(tmp_path)
    out = tmp_path / "out"
    assert _curate_here("run", src, "-o", out, "-q", "--no-builtin-rules").returncode == 0
    (src / "prev.jsonl").symlink_to(out / "removed.jsonl")
    (src / "prevcorpus").symlink_to(out / "corpus")
    again = _curate_here("run", src, "-o", out, "-q", "--no-builtin-rules", "--overwrite")
    assert again.returncode == 0, again.stderr
    problems = _problems(out)
    for name in ("prev.jsonl", "prevcorpus"):
        assert problems[(name, None)]["problem"] == "this run's output folder skipped"
        assert "a symlink leads into this run's output folder" in problems[(name, None)]["action"]
    assert _texts(out).keys() == {"a_good.txt"}
    _accounted(out)


def test_output_over_an_input_is_refused(tmp_path):
    src = _folder(tmp_path)
    (src / "corpus.jsonl").write_text(json.dumps({"text": "An input that happens to be called corpus.jsonl."}) + "\n")
    before = (src / "corpus.jsonl").read_bytes()
    cases = [((src / "corpus.jsonl",), src, "holds the input file"),
             ((src,), src, "is the input folder"),
             ((src / "a_good.txt",), tmp_path, "holds the input file"),
             ((src,), tmp_path, "holds the input folder")]
    for inputs, out, message in cases:
        result = _curate_here("run", *inputs, "-o", out, "-q")
        assert result.returncode == 1 and message in result.stderr and "choose another" in result.stderr, \
            result.stderr
        assert (src / "corpus.jsonl").read_bytes() == before
        assert not (out / "summary.json").exists()


def test_discovery_is_the_same_before_and_after_the_output_folder_exists(tmp_path):
    """--resume re-reads the items of the run it continues and skips the finished ones: the
    output folder appearing inside the input must not add or move an item."""
    from curate.discover import discover

    src = _folder(tmp_path)
    before = discover([src], src / "output")
    (src / "output" / ".partial").mkdir(parents=True)
    (src / "output" / ".partial" / "000000.corpus.jsonl").write_text("{}\n")
    after = discover([src], src / "output")
    assert before == after
    assert [p.problem for p in after.problems] == ["this run's output folder skipped"]


def test_strict_fails_on_a_real_problem_not_on_what_a_walk_skips_on_purpose(tmp_path):
    src = _folder(tmp_path)
    (src / ".hidden.txt").write_text("A hidden page.\n")
    (src / ".git").mkdir()
    first = _curate_here("run", ".", "-q", "--strict", "--no-builtin-rules", cwd=src)
    assert first.returncode == 0, first.stderr  # its own output folder is inside: said, not failed
    kinds = json.loads((src / "output" / "summary.json").read_text())["problem_counts"]["by_kind"]
    assert kinds == {"hidden file skipped": 1, "hidden folder skipped": 1, "this run's output folder skipped": 1}
    (src / "notes.md").write_text("not a page\n")
    second = _curate_here("run", ".", "-q", "--strict", "--overwrite", "--no-builtin-rules", cwd=src)
    assert second.returncode == 3, second.stderr


def test_a_folder_deeper_than_the_system_path_limit_is_skipped_not_a_traceback(tmp_path):
    """Past PATH_MAX (4096 bytes on Linux) a folder cannot be named from the input: it is
    one problem, and the files above it are read (Path.is_dir() raised ENAMETOOLONG)."""
    src = _folder(tmp_path)
    here = os.getcwd()
    try:  # made one level at a time from inside, as only a relative name stays short enough
        os.chdir(src)
        for _ in range(17):  # 17 x 251 bytes: past 4096
            os.mkdir("x" * 250)
            os.chdir("x" * 250)
    finally:
        os.chdir(here)
    result = _curate("run", src, "-o", tmp_path / "out", "-q", "--no-builtin-rules")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    problems = [p for p in read_jsonl(tmp_path / "out" / "quarantine.jsonl")
                if p["problem"] == "cannot read folder: File name too long"]
    assert problems and "its path is longer than this system allows" in problems[0]["action"]
    assert "a_good.txt" in _texts(tmp_path / "out")
    _accounted(tmp_path / "out")


def _deep_folders(top: Path, names: list[str]) -> Path:
    """Folders made one inside the next from inside, as only a relative name stays short
    enough past PATH_MAX; the deepest, as a path from ``top``."""
    here = os.getcwd()
    try:
        os.chdir(top)
        for name in names:
            os.mkdir(name)
            os.chdir(name)
    finally:
        os.chdir(here)
    return top.joinpath(*names)


def test_a_file_past_the_system_path_limit_in_a_folder_under_it_is_quarantined_not_a_traceback(tmp_path):
    """A file whose path passes PATH_MAX while its folder's does not: Path.is_symlink()
    raised ENAMETOOLONG (exit 1, nothing written). Now that file alone is quarantined,
    saying what to do, and read when the input is given from a folder nearer to it."""
    src = _folder(tmp_path)
    names = [f"{'d' * 200}{k}" for k in range(19)]  # ~3,850 bytes of folders
    deep = _deep_folders(src, names)
    name = "f" * 240 + ".txt"
    here = os.getcwd()
    try:
        os.chdir(src)
        os.chdir(os.path.join(*names))
        Path(name).write_text(GOOD + " From the deep file.\n")
    finally:
        os.chdir(here)
    assert len(os.fsencode(deep / name)) > 4096 > len(os.fsencode(deep))
    result = _curate_here("run", str(src), "-o", str(tmp_path / "out"), "-q", "--no-builtin-rules")
    assert result.returncode == 0, result.stderr
    [problem] = [p for p in read_jsonl(tmp_path / "out" / "quarantine.jsonl")]
    assert problem["source"] == "/".join([*names, name])
    assert problem["problem"] == "cannot read file: File name too long"
    assert "path as given" in problem["action"] and "cd to a folder nearer to it" in problem["action"]
    assert list(_texts(tmp_path / "out")) == ["a_good.txt"]
    _accounted(tmp_path / "out")
    # As the action says: from a folder nearer to it, the relative path is short enough.
    near = src.joinpath(*names[:10])
    result = _curate_here("run", os.path.join(*names[10:]), "-o", str(tmp_path / "near"), "-q",
                          "--no-builtin-rules", cwd=near)
    assert result.returncode == 0, result.stderr
    assert list(_texts(tmp_path / "near")) == [name]
    assert not (tmp_path / "near" / "quarantine.jsonl").read_bytes()


def test_a_path_past_the_system_limit_named_on_the_command_line_is_said_not_a_traceback(tmp_path):
    """An input, an explained file, an output folder, a report's folder or a file curate
    writes named by a path longer than PATH_MAX: Path.exists() raised ENAMETOOLONG (it says
    False only for a path that is not there), and every command stopped with a traceback."""
    names = [f"{'d' * 200}{k}" for k in range(21)]  # ~4,250 bytes of folders
    try:
        deep = _deep_folders(tmp_path, names)
        here = os.getcwd()
        try:
            os.chdir(tmp_path.joinpath(*names[:10]))
            os.chdir(os.path.join(*names[10:]))
            Path("page.txt").write_text(GOOD + "\n")
        finally:
            os.chdir(here)
        assert len(os.fsencode(deep)) > 4096
        longer = "its path is longer than this system allows"
        for args in (("run", deep / "page.txt", "-o", tmp_path / "out"), ("run", deep, "-o", tmp_path / "out"),
                     ("explain", deep / "page.txt")):
            result = _curate_here(*args)
            assert result.returncode == 1 and f"Error: {deep}" in result.stderr and longer in result.stderr
            assert "cd to a folder nearer to it and give it as a path relative to there" in result.stderr
        assert not (tmp_path / "out").exists()
        # Where curate writes: the -o folder, and the files of --timings, rules suggest,
        # report and clusters (each checked, then written, and each check raised).
        out = tmp_path / "seeds-out"
        assert _curate_here("dedup", SEEDS, "-o", out, "-q").returncode == 0
        for args in (("run", SEEDS, "-o", deep / "out", "-q"),
                     ("dedup", SEEDS, "-o", tmp_path / "t-out", "-q", "--timings", deep / "t.json"),
                     ("rules", "suggest", out, "-o", deep / "s.toml"), ("report", out, "-o", deep / "r.html"),
                     ("clusters", out, "-o", deep / "c.jsonl")):
            result = _curate_here(*args)
            assert result.returncode == 1 and f"{longer}; give a shorter one" in result.stderr, (args, result.stderr)
        assert not (tmp_path / "t-out").exists()
        for command in ("report", "clusters"):
            result = _curate_here(command, deep)
            assert result.returncode == 1 and longer in result.stderr, result.stderr
        # Folders click looks up itself: it took the error for a folder that is not there.
        for args in (("run", SEEDS, "-o", tmp_path / "a-out", "--against", deep), ("score", deep, SEEDS)):
            result = _curate_here(*args)
            assert result.returncode == 2 and longer in result.stderr and "does not exist" not in result.stderr
        # As the advice says: given from a folder nearer to it, the same input is read.
        near = tmp_path.joinpath(*names[:10])
        result = _curate_here("run", os.path.join(*names[10:], "page.txt"), "-o", tmp_path / "near", "-q", cwd=near)
        assert result.returncode == 0, result.stderr
        assert list(_texts(tmp_path / "near")) == ["page.txt"]
    finally:  # by rm: pytest's clean-up of tmp_path would stop at the long path
        subprocess.run(["rm", "-rf", str(tmp_path / names[0])], check=True)


def test_a_tree_deeper_than_the_recursion_limit_is_walked_not_a_traceback(tmp_path):
    """1,100 nested folders (2,200 bytes of path, far from PATH_MAX): os.walk recursed
    once per level and stopped the run with a RecursionError."""
    src = _folder(tmp_path)
    try:
        _walk_a_deep_tree(src, tmp_path)
    finally:  # by rm: shutil.rmtree recurses too, and pytest's clean-up of tmp_path would stop at it
        subprocess.run(["rm", "-rf", str(src / "a")], check=True)


def _walk_a_deep_tree(src: Path, tmp_path: Path) -> None:
    deep = _deep_folders(src, ["a"] * 1100)
    here = os.getcwd()
    try:
        os.chdir(deep)
        Path("leaf.txt").write_text("A page at the bottom of a very deep tree of folders, about rivers and boats.\n")
        Path(".hidden.txt").write_text("hidden\n")
    finally:
        os.chdir(here)
    (src / "a" / "a" / "mid.txt").write_text("Halfway down the tree, a note on the price of bread in the market.\n")
    result = _curate_here("run", str(src), "-o", str(tmp_path / "out"), "-q", "--no-builtin-rules")
    assert result.returncode == 0, result.stderr
    leaf = "/".join(["a"] * 1100)
    assert list(_texts(tmp_path / "out")) == [f"{leaf}/leaf.txt", "a/a/mid.txt", "a_good.txt"]
    assert [(p["source"], p["problem"]) for p in read_jsonl(tmp_path / "out" / "quarantine.jsonl")] == \
        [(f"{leaf}/.hidden.txt", "hidden file skipped")]
    _accounted(tmp_path / "out")


def test_a_rule_folder_deeper_than_the_recursion_limit_is_read_not_a_traceback(tmp_path):
    """A rule folder was walked with os.walk, which recursed once per level: 1,100 nested
    folders stopped the run with a RecursionError before it read a file."""
    rules = tmp_path / "rules"
    rules.mkdir()
    rule = '[[rule]]\nname = "{0}-rule"\nreason = "a test rule"\npattern = "^{1} noise line"\n' \
           'examples.match = ["{1} noise line here"]\n'
    (rules / "top.toml").write_text(rule.format("top", "Top"))
    try:
        deep = _deep_folders(rules, ["r"] * 1100)
        here = os.getcwd()
        try:
            os.chdir(deep)
            Path("deep.toml").write_text(rule.format("deep", "Deep"))
        finally:
            os.chdir(here)
        src = _folder(tmp_path)
        (src / "page.txt").write_text("Top noise line here\nThe ferry to the island runs twice a day in the "
                                      "summer, the harbour office said.\nDeep noise line there\n")
        result = _curate_here("run", str(src), "-o", str(tmp_path / "out"), "-q", "--no-builtin-rules",
                              "--rules", str(rules))
        assert result.returncode == 0, result.stderr
        removed = read_jsonl(tmp_path / "out" / "removed.jsonl")
        assert sorted(line["reason"] for line in removed) == ["rule:deep-rule", "rule:top-rule"]
    finally:  # by rm: shutil.rmtree recurses too
        subprocess.run(["rm", "-rf", str(rules / "r")], check=True)


def test_a_folder_that_cannot_be_listed_stops_an_upload_instead_of_leaving_it_out(tmp_path):
    """The walk of a finished output for its upload (staged.py) passed over a folder it
    could not list, as os.walk does, and the upload went on without its files."""
    from curate.storage import walk_files

    (tmp_path / "corpus" / "b").mkdir(parents=True)
    for name in ("corpus/b/2.jsonl", "corpus/1.jsonl", "corpus/a.jsonl"):
        (tmp_path / name).write_text("{}\n")
    assert [p.relative_to(tmp_path).as_posix() for p in walk_files(tmp_path / "corpus")] == \
        ["corpus/1.jsonl", "corpus/a.jsonl", "corpus/b/2.jsonl"]
    with pytest.raises(FileNotFoundError):
        list(walk_files(tmp_path / "gone"))


def test_the_walk_without_recursion_is_os_walk_entry_for_entry(tmp_path):
    """walk.walk_folders replaces os.walk (which recursed): the same folders in the
    same order, the same names, the same errors, links followed or not, and pruning."""
    from curate.walk import walk_folders

    top = tmp_path / "t"
    for folder in ("b/x", "a/y/z", "c", "locked/inner"):
        (top / folder).mkdir(parents=True)
    for file in ("b/x/1.txt", "a/2.txt", "a/y/z/3.txt", "4.txt", "locked/inner/5.txt"):
        (top / file).write_text("x\n")
    (top / "link").symlink_to(top / "a")
    (top / "dangling").symlink_to(top / "gone")
    (top / "locked").chmod(0)
    try:
        for followlinks in (False, True):
            ours: list = []
            theirs: list = []
            got = [(d, sorted(ds), sorted(fs)) for d, ds, fs in
                   walk_folders(top, ours.append, followlinks=followlinks)]
            want = [(d, sorted(ds), sorted(fs)) for d, ds, fs in
                    os.walk(top, onerror=theirs.append, followlinks=followlinks)]
            assert got == want and [e.filename for e in ours] == [e.filename for e in theirs]
        pruned = []
        for here, dirs, _ in walk_folders(top, lambda err: None):
            pruned.append(here)
            dirs[:] = [d for d in dirs if d != "a"]
        assert str(top / "a") not in pruned and str(top / "b" / "x") in pruned
    finally:
        (top / "locked").chmod(0o755)
