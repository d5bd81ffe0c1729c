"""Bad inputs are named with file and line, quarantined, and never stop the run."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import random
import zlib

from conftest import SEEDS, corpus_bytes, invoke, read_corpus, read_jsonl, run_process

GOOD = "A sentence of real content that must survive whatever sits next to it in the folder.\n"


def _folder(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a_good.txt").write_text(GOOD, encoding="utf-8")
    # A Latin-1 line in a file that is otherwise UTF-8: a mix, so only that line is lost.
    (src / "b_latin1.txt").write_bytes("Un café en UTF-8.\n".encode() +
                                       "Caf\xe9 au lait, line two.\nA clean third line.\n".encode("latin-1"))
    (src / "c_binary.txt").write_bytes(b"\x7fELF\x00\x01\x02 binary\nmore\x00stuff\n")
    (src / "d_empty.txt").write_bytes(b"")
    (src / "e_records.jsonl").write_text(
        json.dumps({"text": "First record is fine."}) + "\n"
        + "{not json\n"
        + json.dumps({"body": "no text field"}) + "\n"
        + json.dumps(["a", "list"]) + "\n"
        + json.dumps({"text": 42}) + "\n"
        + json.dumps({"text": "Last record is fine too."}) + "\n",
        encoding="utf-8")
    (src / "notes.md").write_text("not an input type\n")
    return src


def test_bad_files_are_quarantined_and_the_rest_goes_on(tmp_path):
    src = _folder(tmp_path)
    out = tmp_path / "out"
    result = invoke("run", src, "-o", out, "--no-builtin-rules")
    assert result.exit_code == 0, result.output
    problems = {(q["source"], q["line"]): q for q in read_jsonl(out / "quarantine.jsonl")}
    assert problems[("b_latin1.txt", 2)]["problem"].startswith("not valid UTF-8")
    assert "iconv" in problems[("b_latin1.txt", 2)]["action"]
    assert problems[("c_binary.txt", None)]["problem"].startswith("binary file")
    assert problems[("d_empty.txt", None)]["problem"] == "empty file"
    assert problems[("e_records.jsonl", 2)]["problem"].startswith("invalid JSON")
    assert problems[("e_records.jsonl", 3)]["problem"] == "record has no 'text' field"
    assert "--text-field" in problems[("e_records.jsonl", 3)]["action"]
    assert problems[("e_records.jsonl", 4)]["problem"] == "record is an array, not an object"
    assert problems[("e_records.jsonl", 5)]["problem"] == "field 'text' is a number, not a string"
    assert problems[("notes.md", None)]["problem"] == "unsupported file type"
    assert not any("text" in q for q in problems.values())
    texts = {r["source"]: r["text"] for r in read_corpus(out)}
    assert texts["a_good.txt"] == GOOD.strip()
    assert texts["b_latin1.txt"] == "Un café en UTF-8.\nA clean third line."
    assert sorted(r["text"] for r in read_corpus(out) if r["source"] == "e_records.jsonl") == \
        ["First record is fine.", "Last record is fine too."]
    # The message names file and line, and the summary counts what was quarantined.
    assert "warning: e_records.jsonl:2: invalid JSON" in result.output
    summary = json.loads((out / "summary.json").read_text())
    lines = summary["lines"]
    assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"]
    assert lines["quarantined"] == 1 + 2 + 4  # latin-1 line, two binary lines, four bad records
    assert len(summary["problems"]) == 8


def test_bad_input_beside_the_seeds_leaves_seed_output_unchanged(tmp_path):
    mixed = _folder(tmp_path)
    for seed in SEEDS.iterdir():
        (mixed / seed.name).write_bytes(seed.read_bytes())
    clean, dirty = tmp_path / "clean", tmp_path / "dirty"
    assert invoke("run", SEEDS, "-o", clean, "-q").exit_code == 0
    assert invoke("run", mixed, "-o", dirty, "-q").exit_code == 0
    seed_records = [r for r in read_corpus(dirty) if r["source"] in {p.name for p in SEEDS.iterdir()}]
    assert seed_records == read_corpus(clean)


def test_missing_input_is_a_usage_error(tmp_path):
    result = invoke("run", tmp_path / "nope", "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "no such file or folder" in result.output
    assert not (tmp_path / "out").exists()


def test_strict_exits_3_when_anything_was_quarantined(tmp_path):
    src = _folder(tmp_path)
    result = invoke("run", src, "-o", tmp_path / "out", "-q", "--strict")
    assert result.exit_code == 3


def test_json_that_orjson_refuses_is_read_as_json_reads_it(tmp_path):
    """NaN, integers beyond 64 bits and lone-surrogate escapes are valid to Python's json but
    not to orjson: such records are kept or quarantined exactly as json decides."""
    src = tmp_path / "records.jsonl"
    src.write_text(
        '{"id": 123456789012345678901234567890, "score": NaN, "text": "A record with a huge id and a NaN score."}\n'
        '{"text": "A lone surrogate \\ud800 in the text."}\n'
        '{"text": "Line two\\u2028of a record with a Unicode line separator in it."}\n',
        encoding="utf-8")
    out = tmp_path / "out"
    assert invoke("run", src, "-o", out, "-q", "--no-builtin-rules").exit_code == 0
    records = read_corpus(out)
    assert records[0]["id"] == "123456789012345678901234567890"
    assert records[0]["text"] == "A record with a huge id and a NaN score."
    problems = read_jsonl(out / "quarantine.jsonl")
    assert [(p["line"], p["problem"].split(" (")[0]) for p in problems] == [(2, "text contains lone surrogates")]
    # Normalising turns the separator into a space; `dedup` keeps the text as it was read.
    assert records[1]["text"] == "Line two of a record with a Unicode line separator in it."
    assert invoke("dedup", src, "-o", tmp_path / "kept", "-q").exit_code == 0
    raw = corpus_bytes(tmp_path / "kept")
    assert b"\\u2028" in raw and "\u2028".encode() not in raw and raw.count(b"\n") == 2
    assert read_corpus(tmp_path / "kept")[1]["text"].startswith("Line two\u2028of")


def test_a_record_without_the_text_field_names_the_fields_it_has(tmp_path):
    src = tmp_path / "posts.jsonl"
    records = [{"id": 1, "content": "The harbour reopens in spring.", "url": "https://example.org/1", "views": 3},
               {"id": 2, "views": 4}]
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "out"
    assert invoke("run", src, "-o", out, "-q").exit_code == 0
    first, second = read_jsonl(out / "quarantine.jsonl")
    assert first["problem"] == second["problem"] == "record has no 'text' field"  # one kind in summary.json
    assert first["action"] == ("record skipped; add the field or choose another with --text-field: "
                               "its string fields are content, url")
    assert second["action"] == "record skipped; add the field or choose another with --text-field"


def test_the_text_field_hint_writes_a_key_with_a_lone_surrogate(tmp_path):
    # json's lenient parse (a NaN sends the line there) lets "\ud800" into a key; the hint
    # names it as written, escaped, and quarantine.jsonl stays UTF-8.
    src = tmp_path / "odd.jsonl"
    src.write_text('{"\\ud800key": "v", "x": NaN}\n', encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("run", src, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    [problem] = read_jsonl(out / "quarantine.jsonl")
    assert problem["action"].endswith("its string fields are \\ud800key")


def _decompressed_before_the_cut(suffix: str, cut: bytes) -> bytes:
    """What a decompressor gives of a stream cut off, before it finds the cut."""
    import zstandard

    if suffix == ".gz":
        return zlib.decompressobj(wbits=31).decompress(cut)
    if suffix == ".bz2":
        return bz2.BZ2Decompressor().decompress(cut)
    if suffix == ".xz":
        return lzma.LZMADecompressor().decompress(cut)
    return zstandard.ZstdDecompressor().decompressobj().decompress(cut)


def test_a_cut_compressed_csv_or_json_array_keeps_every_whole_row_before_the_cut(tmp_path):
    # docs/bad-input.md: the rows before a stream's fault are kept, for any stream format.
    # The CSV and .json array readers read 1 MiB at a time, and gzip's, bz2's, lzma's and
    # zstd's read(n) drop what they gathered when the data is cut: a file cut at 2/3 kept
    # no row (the .jsonl of the same records kept those before the cut). Each file is cut
    # at 2/3 of its compressed bytes; every row whose end the decompressor gives is kept,
    # and one problem names the next row, as the .jsonl's names its next line.
    import zstandard

    compress = {".gz": lambda data: gzip.compress(data, mtime=0), ".bz2": lambda data: bz2.compress(data, 1),
                ".xz": lzma.compress, ".zst": zstandard.ZstdCompressor().compress}
    vocabulary = ["alpha", "beta", "gamma", "delta", "river", "authority", "water", "clean", "harbour", "winter",
                  "summer", "station", "garden", "museum"]
    src = tmp_path / "in"
    src.mkdir()
    expected = {}
    for k, (suffix, squeeze) in enumerate(compress.items()):
        for form in ("csv", "json", "jsonl"):
            r = random.Random(f"{suffix}{form}")
            texts = [" ".join(r.choice(vocabulary) + str(r.randrange(1000)) for _ in range(40)) for _ in range(1200)]
            name = f"{form}{k}.{form}{suffix}"
            if form == "csv":
                data = "id,text\n" + "".join(f"{name}-{i},{text}\n" for i, text in enumerate(texts))
                whole = lambda prefix: prefix.count(b"\n") - 1  # noqa: E731 - rows ended, the header not counted
            elif form == "json":  # one element a line, as Scrapy writes its feeds
                data = "[\n" + ",\n".join(json.dumps({"id": f"{name}-{i}", "text": text})
                                          for i, text in enumerate(texts)) + "\n]\n"
                whole = lambda prefix: prefix.count(b",\n")  # noqa: E731 - elements ended by their comma
            else:
                data = "".join(json.dumps({"id": f"{name}-{i}", "text": text}) + "\n" for i, text in enumerate(texts))
                whole = lambda prefix: prefix.count(b"\n")  # noqa: E731
            squeezed = squeeze(data.encode())
            cut = squeezed[:len(squeezed) * 2 // 3]
            (src / name).write_bytes(cut)
            expected[name] = whole(_decompressed_before_the_cut(suffix, cut))
            assert 0 < expected[name] < len(texts), (name, expected[name])

    out = tmp_path / "out"
    result = run_process("run", src, "-o", out, "-q", "--no-builtin-rules", "--site", "off", timeout=600)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    found: dict[str, list[str]] = {name: [] for name in expected}
    for record in read_corpus(out):
        found[record["source"]].append(record["id"])
    problems = {q["source"]: q for q in read_jsonl(out / "quarantine.jsonl")}
    assert problems.keys() == expected.keys()
    unit = {"csv": ("row", "rows"), "json": ("element", "elements"), "jsonl": ("line", "records")}
    for name, rows in expected.items():
        assert found[name] == [f"{name}-{i}" for i in range(rows)], name
        problem = problems[name]
        assert problem["problem"].startswith("corrupt or truncated compressed data: "), problem
        one, many = unit[name.split(".")[1]]
        assert (problem["line"], problem["lines"]) == (rows + 1, 1), problem
        assert problem["action"] == f"{many} after {one} {rows} are lost; re-download or recompress the file"
    lines = json.loads((out / "summary.json").read_text())["lines"]
    assert lines == {**lines, "read": sum(expected.values()) + len(expected), "kept": sum(expected.values()),
                     "removed": 0, "quarantined": len(expected)}
