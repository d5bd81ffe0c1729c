"""The benchmark's generator (bench/generate.py) gives the same bytes for the same
arguments: the standard shape as it always has (the quality figures of earlier commits
were measured on those bytes; if the sentence sources change on purpose, so must the
digests here), the large shape with its own truth, and corpora built from pieces."""

from __future__ import annotations

import hashlib
import json
import statistics
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from compare import paragraphs_file
from generate import generate, generate_pieces, jaccard, load_sentences, respell

pytestmark = pytest.mark.unit

# sha256 of corpus.jsonl and truth.tsv of generate(0.3, ...) before the large shape existed.
STANDARD_0_3_MB = ("ab4219512c935efddec267f0e7bee71c7f9ac300630601c1b1196d50468f6462",
                   "cf077eb72a3aa9348f0f4646dacc904938333678a367d663e63508345ddc1304")


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_standard_shape_keeps_its_bytes(tmp_path):
    generate(0.3, tmp_path)
    assert (_digest(tmp_path / "corpus.jsonl"), _digest(tmp_path / "truth.tsv")) == STANDARD_0_3_MB


def test_large_shape_has_six_kb_documents_and_a_truth_that_names_its_lines(tmp_path):
    meta = generate(1.0, tmp_path, shape="large")
    docs = {}
    with open(tmp_path / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            docs[rec["id"]] = rec["text"]
    assert meta["shape"] == "large" and meta["copies"] > 100
    assert 5500 < meta["bytes"] / meta["documents"] < 7000
    assert 7 < meta["paragraphs"] / meta["documents"] < 9
    exact = same = 0
    with open(tmp_path / "truth.tsv", encoding="utf-8") as f:
        next(f)
        for row in f:
            copy_doc, copy_line, original_doc, original_line, rate, _ = row.rstrip("\n").split("\t")
            copy = docs[copy_doc].split("\n")[int(copy_line) - 1]
            original = docs[original_doc].split("\n")[int(original_line) - 1]
            assert copy.strip() and original.strip()
            if float(rate) == 0.0:
                exact, same = exact + 1, same + (copy == original)
    # Exact copies are the same line, but for the 6% of documents with mojibake or entities.
    assert same > 0.85 * exact
    again = tmp_path / "again"
    generate(1.0, again, shape="large")
    assert _digest(again / "corpus.jsonl") == _digest(tmp_path / "corpus.jsonl")


def test_large_shape_paragraph_records_are_about_800_bytes(tmp_path):
    generate(1.0, tmp_path, shape="large")
    dest = tmp_path / "paragraphs.jsonl"
    count = paragraphs_file(tmp_path / "corpus.jsonl", dest, limit_bytes=300_000, min_bytes=200)
    sizes = [len(line) for line in dest.read_bytes().splitlines(keepends=True)]
    assert len(sizes) == count
    assert 300_000 <= sum(sizes) < 300_000 + max(sizes)
    assert 700 < statistics.mean(sizes) < 900


def test_pieces_are_the_re_seeded_pieces_in_order(tmp_path):
    meta = generate_pieces(0.4, tmp_path / "whole", piece_mb=0.2)
    assert meta["pieces"] == 2 and not (tmp_path / "whole" / "piece0000").exists()
    expected = b""
    for number in range(2):
        generate(0.2, tmp_path / f"p{number}", seed=meta["seed"] + number, truth=False, id_prefix=f"p{number:04d}-",
                 dialect=number)
        expected += (tmp_path / f"p{number}" / "corpus.jsonl").read_bytes()
    assert (tmp_path / "whole" / "corpus.jsonl").read_bytes() == expected
    ids = [json.loads(line)["id"] for line in expected.splitlines()]
    assert len(ids) == len(set(ids)) == meta["documents"]


def test_pieces_respell_their_sentences_so_that_they_share_almost_no_word_5_grams():
    sentences = load_sentences()[:300]
    first = [respell(sentence, 1) for sentence in sentences]
    assert first == [respell(sentence, 1) for sentence in sentences]  # the same bytes every time
    changed = sum(a != b for sentence, spelled in zip(sentences, first, strict=True)
                  for a, b in zip(sentence.split(" "), spelled.split(" "), strict=True))
    words = sum(len(sentence.split(" ")) for sentence in sentences)
    assert 0.4 < changed / words < 0.6
    # The same sentences in two pieces: what dedup would see as near-duplicates is gone.
    second = [respell(sentence, 2) for sentence in sentences]
    assert statistics.mean(jaccard(a, b) for a, b in zip(first, second, strict=True)) < 0.05
