"""One definition of a blank line (curate.formats.lines), whichever way a document's lines
are counted: read and split (split_lines' ``read``), counted unsplit for --max-doc-lines,
counted as a stream for a file over --max-doc-bytes, for a binary file or for a stream
that breaks off, and with --max-line-bytes cutting lines out. A line of no-break spaces
or ideographic spaces is blank on every path, and UTF-16 is counted in code units."""

from __future__ import annotations

import codecs
import io
import json
import random
import sys
from pathlib import Path
from unittest import mock

import pytest
from conftest import in_process, read_jsonl
from hypothesis import example, given
from hypothesis import strategies as st

from curate.document import RawDocument
from curate.formats import _lines_over_limit, split_lines
from curate.formats import txt as txt_module
from curate.formats.base import ReadOptions
from curate.formats.lines import LineCounter, count_nonblank
from curate.formats.txt import _lines_before_a_break, count_nonblank_lines

SPACES = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace() and chr(c) not in "\r\n"]
FIRST, SECOND, THIRD = ("First real line of the page, long enough to keep here.",
                        "Second real line of the page, also long enough to keep.",
                        "Third real line of the page, with some more words in it.")

blank = st.lists(st.sampled_from(SPACES), max_size=4).map("".join)
word = st.one_of(st.sampled_from(["word", "é", "中", "😀", "a\x85b", "\ufeff", "\ufffd"]),
                 st.characters(codec="utf-8", exclude_characters="\r\n"))
filled = st.builds(lambda a, w, b: a + w + b, blank, st.lists(word, min_size=1, max_size=6).map(" ".join), blank)
ending = st.sampled_from(["\n", "\r\n", "\r"])
text = st.builds(lambda parts, last: "".join(line + end for line, end in parts) + last,
                st.lists(st.tuples(st.one_of(blank, filled), ending), max_size=30), st.one_of(blank, filled))
# How a text becomes a file's bytes, with what --encoding reads it: every way split_file
# tells an encoding (a byte order mark, --encoding, NULs, UTF-8, a legacy encoding).
SPELLINGS = {
    "utf-8": (lambda t: t.encode("utf-8"), "auto"),
    "utf-8 with a BOM": (lambda t: codecs.BOM_UTF8 + t.encode("utf-8"), "auto"),
    "utf-16-le with a BOM": (lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le", "surrogatepass"), "auto"),
    "utf-16-be with a BOM": (lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be", "surrogatepass"), "auto"),
    "utf-16-le without one": (lambda t: t.encode("utf-16-le", "surrogatepass"), "auto"),
    "utf-16-be named": (lambda t: t.encode("utf-16-be", "surrogatepass"), "utf-16-be"),
    "utf-8 and bytes that are not": (lambda t: t.encode("utf-8") + b"\n\xe9t\xe9\n\xa0\n \xe2\x80", "auto"),
    "cp1252": (lambda t: t.encode("cp1252", "replace"), "auto"),
    "cp1252 named": (lambda t: t.encode("cp1252", "replace"), "cp1252"),
    "shift_jis named": (lambda t: t.encode("shift_jis", "replace"), "shift_jis"),
}


def _read(data: bytes, encoding: str, **limits: int) -> int:
    """The non-blank lines a read of the file counts (split_lines' ``read``)."""
    doc = RawDocument(id="f.txt", source="f.txt", record_line=None, payload=data, size=len(data))
    return split_lines(doc, ReadOptions(encoding=encoding, max_doc_lines=1 << 40, **limits))[2]


def _streamed(data: bytes, encoding: str, piece: int) -> int:
    """The count of a file over --max-doc-bytes, its bytes handed over ``piece`` at a time."""
    with mock.patch.object(txt_module, "SKIP_CHUNK", piece):
        return count_nonblank_lines(b"", io.BytesIO(data), encoding)


@pytest.mark.unit
def test_re_whitespace_is_str_strip_whitespace_for_every_code_point():
    import re

    space = re.compile(r"\s")
    assert [c for c in range(sys.maxunicode + 1)
            if (space.fullmatch(chr(c)) is not None) != (not chr(c).strip())] == []


@given(text, st.sampled_from(sorted(SPELLINGS)), st.integers(1, 9))
def test_every_count_of_a_files_lines_is_the_count_of_its_read(sample, spelling, piece):
    encode, encoding = SPELLINGS[spelling]
    data = encode(sample)
    read = _read(data, encoding)
    assert count_nonblank_lines(data, None, encoding) == read
    assert _streamed(data, encoding, piece) == read
    assert _lines_over_limit(data, 0, encoding) == (read or None)
    if data:  # --max-line-bytes quarantines the long lines it does not keep: each still one line read
        assert _read(data, encoding, max_line_bytes=2) == read


@given(text)
def test_every_count_of_a_records_lines_is_the_count_of_its_read(sample):
    doc = RawDocument(id="r", source="r.jsonl", record_line=1, payload=sample, size=len(sample.encode("utf-8")) + 12)
    read = split_lines(doc, ReadOptions(max_doc_lines=1 << 40))[2]
    assert count_nonblank(sample) == read
    assert _lines_over_limit(sample, 0, "auto") == (read or None)
    counter = LineCounter()
    for at in range(0, len(sample), 3):
        counter.feed(sample[at:at + 3])
    assert counter.total() == read
    if sample.strip():
        assert split_lines(doc, ReadOptions(max_doc_lines=1 << 40, max_line_bytes=2))[2] == read


@given(text, st.sampled_from(["utf-8", "utf-16-le with a BOM"]))
@example("\ufeff\n", "utf-8")  # the reader strips a UTF-8 BOM: the line is blank
def test_a_stream_that_breaks_off_counts_its_whole_lines_and_one_for_the_cut(sample, spelling):
    encode, encoding = SPELLINGS[spelling]
    data = encode(sample)
    for cut in range(len(data) + 1):
        head = data[:cut]
        wide = spelling != "utf-8"
        # A UTF-8 BOM is no character of the text, as the UTF-16 one is not (read_text strips it).
        decoder = codecs.getincrementaldecoder("utf-16-le" if wide else "utf-8-sig")()
        decoded = decoder.decode(head[2:] if wide else head)
        whole = decoded[:max(decoded.rfind("\n"), decoded.rfind("\r")) + 1]
        assert _lines_before_a_break(head, encoding) == count_nonblank(whole) + 1


@pytest.mark.parametrize("spelling", ["utf-8", "utf-16-le without one", "utf-16-be with a BOM", "cp1252"])
def test_a_file_past_its_head_is_counted_as_its_read_counts_it(spelling):
    """Files longer than the head that tells their encoding, with no-break spaces on lines
    of their own and a character cut by every piece boundary in turn."""
    rng = random.Random(7)
    kinds = [FIRST, "\u00a0", "\u3000\t", "", "caf\u00e9 \u00a0", " \u2028 "] if spelling != "cp1252" else \
        [FIRST, "\u00a0", "\u00a0\t", "", "caf\u00e9 \u00a0", " \u00a0\u00a0 "]
    lines = [rng.choice(kinds) for _ in range(200_000)]
    encode, encoding = SPELLINGS[spelling]
    data = encode("\r\n".join(lines))
    if spelling == "utf-8":  # past the head: a NUL (text, past the first 8 KiB) and a line that does not decode
        lines[150_000:150_000] = ["a\x00b", "\ufffd"]
        data = encode("\r\n".join(lines[:150_001])) + b"\r\n\xff\xfe\r\n" + encode("\r\n".join(lines[150_002:]))
    assert len(data) > txt_module.HEAD_BYTES + txt_module.SKIP_CHUNK
    read = _read(data, encoding)
    assert read == sum(1 for line in lines if line.strip())
    for piece in (txt_module.SKIP_CHUNK, 65_537):
        assert _streamed(data, encoding, piece) == read, piece


def test_utf16_told_by_nuls_that_is_not_past_its_head_is_counted_as_binary():
    """split_file reads such a file as binary (a NUL in its text, an odd length, a unit
    that does not decode): the count, which sees only the head first, comes to the same."""
    text = (FIRST + "\r\n\u00a0\r\n") * 20_000
    good = text.encode("utf-16-le")
    assert len(good) > 2 * txt_module.HEAD_BYTES
    for bad in (good + "\x00 a NUL at the end".encode("utf-16-le"), good + b"!",
                good + "\ud800".encode("utf-16-le", "surrogatepass") + "x".encode("utf-16-le")):
        doc = RawDocument(id="f.txt", source="f.txt", record_line=None, payload=bad, size=len(bad))
        _, problems, read, _ = split_lines(doc, ReadOptions(max_doc_lines=1 << 40))
        assert problems[0].problem.startswith("binary file"), problems[0]
        assert count_nonblank_lines(b"", io.BytesIO(bad), "auto") == read
    assert count_nonblank_lines(b"", io.BytesIO(good), "auto") == _read(good, "auto") == 20_000


# -- through the real CLI ------------------------------------------------------------------------


def _run(tmp_path: Path, src: Path, name: str, *options: str) -> dict:
    out = tmp_path / name
    result = in_process("run", src, "-o", out, "-q", "--no-builtin-rules", *options)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    problems = read_jsonl(out / "quarantine.jsonl")
    assert summary["lines"]["quarantined"] == sum(p["lines"] for p in problems)
    return {"lines": summary["lines"], "problems": [(p["source"], p["lines"], p["problem"]) for p in problems]}


def test_no_break_space_lines_and_utf16_are_counted_alike_by_every_limit(tmp_path):
    """The hunter's files: UTF-16 LE with CRLF ("11 lines" under --max-doc-lines 3 and
    --max-doc-bytes 100), UTF-8 with a no-break-space line and an ideographic-space one (5),
    a record with such lines (more read under --max-doc-lines); a blank line of three
    bytes was quarantined as longer than --max-line-bytes 2."""
    page = f"{FIRST}\r\n\r\n{SECOND}\r\n\r\n{THIRD}\r\n"
    spaced = f"{FIRST}\n\u00a0\n{SECOND}\n\u3000\n{THIRD}\n"
    for name, data in (("utf16", codecs.BOM_UTF16_LE + page.encode("utf-16-le")),
                       ("spaced", spaced.encode()),
                       ("records", (json.dumps({"id": "r", "text": spaced}) + "\n").encode())):
        src = tmp_path / name
        src.mkdir()
        (src / ("page.jsonl" if name == "records" else "page.txt")).write_bytes(data)
        plain = _run(tmp_path, src, f"{name}-plain")
        assert plain["lines"] == {"kept": 3, "quarantined": 0, "read": 3, "removed": 0}
        assert _run(tmp_path, src, f"{name}-lines", "--max-doc-lines", "3")["lines"] == plain["lines"]
        many = _run(tmp_path, src, f"{name}-fewer", "--max-doc-lines", "2")
        assert many["lines"]["read"] == 3 and [p[1:] for p in many["problems"]] == [
            (3, "3 lines, more than --max-doc-lines (2)")]
        if name != "records":
            big = _run(tmp_path, src, f"{name}-bytes", "--max-doc-bytes", "100")
            assert big["problems"] == [("page.txt", 3, "file larger than --max-doc-bytes (100 bytes)")]
            long = _run(tmp_path, src, f"{name}-long", "--max-line-bytes", "2")
            assert long["lines"]["read"] == 3 and len(long["problems"]) == 3, long
