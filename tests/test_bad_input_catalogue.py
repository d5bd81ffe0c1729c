"""The catalogue of bad inputs (docs/bad-input.md), each through the real CLI with real files:
the message names file and line, the summary counts it, and every other document comes
out intact. The last test mixes them all with the seeds."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import zstandard
from conftest import SEEDS, corpus_bytes, invoke, read_corpus, read_jsonl

GOOD = "A sentence of real content that must survive whatever sits next to it in the folder."


def _run(src: Path, out: Path, *extra: str):
    result = invoke("run", src, "-o", out, *extra)
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else None
    return result, summary


def _problems(out: Path) -> dict:
    return {(q["source"], q["line"]): q for q in read_jsonl(out / "quarantine.jsonl")}


def _one(tmp_path: Path, name: str, data: bytes):
    src = tmp_path / "in"
    src.mkdir(exist_ok=True)
    (src / "a_good.txt").write_text(GOOD + "\n")
    (src / name).write_bytes(data)
    return src


def _good_survives(out: Path) -> None:
    texts = {r["source"]: r["text"] for r in read_corpus(out)}
    assert texts["a_good.txt"] == GOOD


def _accounted(summary: dict) -> None:
    lines = summary["lines"]
    assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"]


def test_whitespace_only_file(tmp_path):
    out = tmp_path / "out"
    result, summary = _run(_one(tmp_path, "blank.txt", b"  \n\t\n\xc2\xa0\n\n"), out, "--no-builtin-rules")
    assert result.exit_code == 0
    problem = _problems(out)[("blank.txt", None)]
    assert problem["problem"] == "no text: the file holds only whitespace" and problem["lines"] == 0
    assert "warning: blank.txt: no text" in result.output
    _good_survives(out)
    _accounted(summary)


def test_json_lines_parted_by_bare_carriage_returns_say_so_and_how_to_convert(tmp_path):
    """Classic Mac line ends: every record reads as one line, and json's own "Extra data"
    told nobody why. The file is one problem of one line, and the message names the line
    ends and the way out; a record with a carriage return between its tokens is JSON."""
    records = b"".join(json.dumps({"text": f"Record {i} has words enough."}).encode() + b"\r" for i in range(3))
    src = _one(tmp_path, "mac.jsonl", records)
    (src / "spaced.jsonl").write_bytes(b'{"text":\r "A record with a carriage return between its tokens."}\n')
    out = tmp_path / "out"
    result, summary = _run(src, out, "--no-builtin-rules")
    assert result.exit_code == 0
    problem = _problems(out)[("mac.jsonl", 1)]
    assert problem["problem"].startswith("invalid JSON: records end in bare carriage returns") and problem["lines"] == 1
    assert "tr '\\r' '\\n'" in problem["action"]
    assert [r["text"] for r in read_corpus(out) if r["source"] == "spaced.jsonl"] == \
        ["A record with a carriage return between its tokens."]
    _good_survives(out)
    _accounted(summary)


def test_an_empty_input_folder_is_refused_as_a_pattern_that_matches_nothing(tmp_path):
    """A run over nothing finished with status 0 and an empty corpus, and a pipeline went
    on with it. An input folder without a file anywhere under it is refused, and nothing
    is written; a folder whose files are all skipped is read (each skip is said)."""
    empty = tmp_path / "crawl"
    (empty / "day-1" / "wet").mkdir(parents=True)
    out = tmp_path / "out"
    result = invoke("run", empty, "-o", out)
    assert result.exit_code == 1
    assert f"{empty}: the folder holds no files (nor any folder with files in it); check the path" in result.output
    assert not out.exists()
    (empty / "day-1" / "notes.md").write_text("not an input\n")
    assert invoke("run", empty, "-o", out).exit_code == 0
    assert [p["problem"] for p in read_jsonl(out / "quarantine.jsonl")] == ["unsupported file type"]


def test_utf16_with_bom_is_read_and_spans_cut_the_utf16_bytes(tmp_path):
    text = "Erste Zeile mit Umlauten: äöü.\r\nZweite Zeile 😀 mit Emoji.\r\n"
    data = b"\xff\xfe" + text.encode("utf-16-le")
    out = tmp_path / "out"
    result, summary = _run(_one(tmp_path, "wide.txt", data), out, "--no-builtin-rules")
    assert result.exit_code == 0
    rec = next(r for r in read_corpus(out) if r["source"] == "wide.txt")
    assert rec["encoding"] == "utf-16-le"
    assert rec["text"] == "Erste Zeile mit Umlauten: äöü.\nZweite Zeile 😀 mit Emoji."
    assert [data[s:e].decode("utf-16-le") for s, e in (x["bytes"] for x in rec["lines"])] == \
        ["Erste Zeile mit Umlauten: äöü.", "Zweite Zeile 😀 mit Emoji."]
    _accounted(summary)


def test_invalid_utf16_counts_its_lines_once(tmp_path):
    """Ten lines, then a lone low surrogate: the file is quarantined with its ten lines
    (each break of ASCII text in UTF-16 was counted twice, as b"\\n\\0" and b"\\0\\n")."""
    text = "".join(f"Line number {i} of a UTF-16 file with words\n" for i in range(10))
    out = tmp_path / "out"
    result, summary = _run(_one(tmp_path, "u16.txt", b"\xff\xfe" + text.encode("utf-16-le") + b"\x00\xdc"), out,
                           "--no-builtin-rules")
    assert result.exit_code == 0
    problem = _problems(out)[("u16.txt", None)]
    assert problem["problem"].startswith("invalid UTF-16-LE") and problem["lines"] == 11  # ten, and the bad unit's
    _good_survives(out)
    _accounted(summary)


def test_a_truncated_txt_gz_counts_its_lines_before_the_break_and_one_for_it(tmp_path):
    page = b"".join(b"Line %d of a page that is not repetitive %d words\n" % (i, i * i) for i in range(2000))
    packed = gzip.compress(page)
    out = tmp_path / "out"
    result, summary = _run(_one(tmp_path, "cut.txt.gz", packed[: len(packed) // 2]), out, "--no-builtin-rules")
    assert result.exit_code == 0
    problem = _problems(out)[("cut.txt.gz", None)]
    assert problem["problem"].startswith("corrupt or truncated compressed data")
    # The lines before the break, and one for it: about half of the page's.
    assert 500 < problem["lines"] < 2000 and summary["lines"]["quarantined"] == problem["lines"]
    _good_survives(out)
    _accounted(summary)


def test_a_line_of_several_megabytes(tmp_path):
    words = " ".join(f"wort{i % 5000} und" for i in range(400_000))  # about 4.4 MB, one line
    data = (GOOD + "\n" + words + ".\n").encode()
    out = tmp_path / "out"
    result, summary = _run(_one(tmp_path, "long.txt", data), out, "-q")
    assert result.exit_code == 0
    assert len(data) > 4_000_000
    rec = next(r for r in read_corpus(out) if r["source"] == "long.txt")
    spans = [tuple(x["bytes"]) for x in rec["lines"]]
    assert any(e - s > 4_000_000 for s, e in spans)
    _accounted(summary)


def test_truncated_gzip_keeps_the_records_before_the_fault(tmp_path):
    records = "".join(json.dumps({"text": f"Record number {i} is complete and fine."}) + "\n" for i in range(2000))
    packed = gzip.compress(records.encode())
    out = tmp_path / "out"
    result, summary = _run(_one(tmp_path, "cut.jsonl.gz", packed[: len(packed) * 2 // 3]), out, "--no-builtin-rules")
    assert result.exit_code == 0
    kept = [r for r in read_corpus(out) if r["source"] == "cut.jsonl.gz"]
    assert 0 < len(kept) < 2000
    (key, problem), = [(k, v) for k, v in _problems(out).items() if k[0] == "cut.jsonl.gz"]
    assert key[1] == len(kept) + 1
    assert problem["problem"].startswith("corrupt or truncated compressed data")
    assert f"records after line {len(kept)} are lost" in problem["action"]
    _good_survives(out)
    _accounted(summary)


def test_corrupt_zstd(tmp_path):
    records = "".join(json.dumps({"text": f"Record {i} is fine."}) + "\n" for i in range(50)).encode()
    packed = bytearray(zstandard.ZstdCompressor().compress(records))
    packed[len(packed) // 2:] = b"\x00" * (len(packed) - len(packed) // 2)
    out = tmp_path / "out"
    result, summary = _run(_one(tmp_path, "bad.jsonl.zst", bytes(packed)), out, "--no-builtin-rules")
    assert result.exit_code == 0
    problems = [v for k, v in _problems(out).items() if k[0] == "bad.jsonl.zst"]
    assert len(problems) == 1 and "re-download" in problems[0]["action"]
    _good_survives(out)
    _accounted(summary)


def test_unreadable_files_are_named_and_skipped(tmp_path):
    src = _one(tmp_path, "placeholder.txt", GOOD.encode())
    (src / "gone.txt").symlink_to(tmp_path / "does-not-exist.txt")
    (src / "folder.txt").mkdir()  # a folder with a text extension is walked, not read
    locked = src / "locked.txt"
    locked.write_text(GOOD)
    locked.chmod(0)
    out = tmp_path / "out"
    result, summary = _run(src, out, "--no-builtin-rules")
    assert result.exit_code == 0
    problems = _problems(out)
    assert problems[("gone.txt", None)]["problem"].startswith("cannot read file")
    if os.geteuid() != 0:  # root reads a file whatever its mode
        assert problems[("locked.txt", None)]["problem"].startswith("cannot read file")
    _good_survives(out)
    _accounted(summary)


def test_symlink_loop(tmp_path):
    src = _one(tmp_path, "b.txt", GOOD.encode())
    (src / "sub").mkdir()
    (src / "sub" / "loop").symlink_to(src)
    out = tmp_path / "out"
    result, _ = _run(src, out, "--no-builtin-rules")
    assert result.exit_code == 0
    assert _problems(out)[("sub/loop", None)]["problem"] == "symlink loop"
    _good_survives(out)


def test_a_loop_of_file_links_is_a_symlink_loop_whatever_its_name(tmp_path):
    """It was 'cannot read file: symlink loop ... check its permissions', and a loop on a
    name without a suffix 'unsupported file type'."""
    src = _one(tmp_path, "b.txt", GOOD.encode())
    for name, target in (("x.txt", "y.txt"), ("y.txt", "x.txt"), ("loop1", "loop2"), ("loop2", "loop1")):
        (src / name).symlink_to(target)
    out = tmp_path / "out"
    result, summary = _run(src, out, "--no-builtin-rules")
    assert result.exit_code == 0
    for name in ("x.txt", "y.txt", "loop1", "loop2"):
        problem = _problems(out)[(name, None)]
        assert (problem["problem"], problem["action"]) == ("symlink loop", "skipped; remove the link")
    _good_survives(out)
    _accounted(summary)


def test_output_folder_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = invoke("run", SEEDS, "-o", blocker / "out")
    assert result.exit_code == 1
    assert f"{blocker / 'out'}: cannot write the output folder" in result.output
    assert "-o DIR" in result.output


def test_input_path_that_does_not_exist(tmp_path):
    result = invoke("run", SEEDS, tmp_path / "missing", "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert f"{tmp_path / 'missing'}: no such file or folder" in result.output


def _everything_bad(folder: Path) -> dict[str, str]:
    """Write one of each bad input; return name -> the start of its expected problem."""
    records = "".join(json.dumps({"text": f"Record {i} is fine."}) + "\n" for i in range(300))
    gz = gzip.compress(records.encode())
    zst = bytearray(zstandard.ZstdCompressor().compress(records.encode()))
    zst[len(zst) // 2:] = b"\x00" * (len(zst) - len(zst) // 2)
    files = {
        "bad-latin1.txt": ("Café.\n".encode() + "Caf\xe9 au lait.\n".encode("latin-1"), "not valid UTF-8"),
        "bad-binary.txt": (b"\x7fELF\x00\x01\x02\x03", "binary file"),
        "bad-empty.txt": (b"", "empty file"),
        "bad-blank.txt": (b" \n\n\t\n", "no text"),
        "bad-json.jsonl": (b"{oops\n", "invalid JSON"),
        "bad-list.jsonl": (b"[1, 2]\n", "record is an array"),
        "bad-notext.jsonl": (b'{"body": "x"}\n', "record has no 'text' field"),
        "bad-number.jsonl": (b'{"text": 5}\n', "field 'text' is a number"),
        "bad-cut.jsonl.gz": (gz[: len(gz) // 2], ""),
        "bad-zst.jsonl.zst": (bytes(zst), ""),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    (folder / "bad-gone.txt").symlink_to(folder / "nowhere")
    return {name: want for name, (_, want) in files.items()} | {"bad-gone.txt": "cannot read file"}


def test_all_bad_inputs_beside_the_seeds_leave_seed_output_byte_identical(tmp_path):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for seed in SEEDS.iterdir():
        (mixed / seed.name).write_bytes(seed.read_bytes())
    expected = _everything_bad(mixed)
    clean, dirty = tmp_path / "clean", tmp_path / "dirty"
    assert invoke("run", SEEDS, "-o", clean, "-q").exit_code == 0
    result = invoke("run", mixed, "-o", dirty, "-q")
    assert result.exit_code == 0
    seed_names = {p.name for p in SEEDS.iterdir()}
    dirty_seed_lines = [line for line in corpus_bytes(dirty).splitlines(keepends=True)
                        if json.loads(line)["source"] in seed_names]
    assert b"".join(dirty_seed_lines) == corpus_bytes(clean)
    summary = json.loads((dirty / "summary.json").read_text())
    listed = {p["source"]: p["problem"] for p in summary["problems"]}
    for name, want in expected.items():
        assert name in listed, f"{name} is not in the summary"
        assert listed[name].startswith(want) or not want
    _accounted(summary)
