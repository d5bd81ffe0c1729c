"""Near-duplicate paragraphs: first occurrence kept, copies audited with what they copy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import signature as ref

from curate.document import Document, Line, Origin
from curate.stages.base import Batch
from curate.stages.dedup.barrier import Dedup
from curate.stages.dedup.sign import Sign, shingle_sets
from curate.stages.dedup.signature import (
    CANDIDATE_RECALL,
    MAX_ROWS,
    DedupConfig,
    Signer,
    affine32_permutations,
    candidate_bands,
    candidate_probability,
)
from curate.stages.dedup.verify import could_be_similar, intersection_size, jaccard, tagged_intersections

pytestmark = pytest.mark.unit

FIRST_BAND_KEY_OF_RANGE = 17004743925707763195  # bands of 5 rows (issue 15: was 9441452275866086204 with 6)

PARA = ("The harbour authority said on Monday that the new container terminal would open in "
        "the spring, two years later than planned, because the dredging took longer than expected. "
        "Shipping lines had been told to expect the first berths in the autumn, and several of them "
        "have already moved their schedules to the older quays further up the river for another season.")


def _doc(doc_id: str, *texts: str) -> Document:
    lines = [Line(i, t, t, Origin(i + 1, 0, len(t.encode())), False) for i, t in enumerate(texts)]
    return Document(doc_id, doc_id, None, lines, lines_read=len(lines))


def _dedup(*docs: Document, cfg: DedupConfig | None = None) -> list[Document]:
    """Each document as a batch of its own through the signature stage and the barrier."""
    cfg = cfg or DedupConfig()
    sign, dedup = Sign(cfg), Dedup(cfg)
    try:
        for number, doc in enumerate(docs):
            dedup(sign(Batch(number, [doc], number)))
    finally:
        dedup.close()  # its index's files live in a temporary folder until then
    return list(docs)


def test_one_word_edit_is_a_duplicate_of_the_first_occurrence():
    edited = PARA.replace("spring", "summer")
    a, b = _dedup(_doc("a", PARA), _doc("b", "An unrelated opening line of this page, long enough to count.", edited))
    assert [line.text for line in a.lines] == [PARA]
    assert [line.text for line in b.lines] == ["An unrelated opening line of this page, long enough to count."]
    (removal,) = b.removed
    assert removal.reason == "duplicate" and removal.duplicate_of.doc == "a" and removal.duplicate_of.line == 1
    assert 0.8 <= removal.similarity < 1.0


def test_copies_within_one_document():
    (doc,) = _dedup(_doc("a", PARA, "Something else entirely, said the spokesman for the harbour board.", PARA))
    assert len(doc.lines) == 2 and doc.removed[0].line.index == 2 and doc.removed[0].duplicate_of.line == 1


def test_a_copy_points_at_a_kept_paragraph_not_at_a_removed_one():
    # b is close to a, c is close to b but not to a: a and c stay, b points at a.
    words = PARA.split()
    b_words = list(words)
    for i in (3, 30):
        b_words[i] = "changed"
    c_words = list(b_words)
    for i in (15, 45, 52):
        c_words[i] = "altered"
    docs = _dedup(_doc("a", PARA), _doc("b", " ".join(b_words)), _doc("c", " ".join(c_words)),
                  cfg=DedupConfig(threshold=0.6))
    _, b, c = docs
    if b.removed:
        assert b.removed[0].duplicate_of.doc == "a"
    for removal in c.removed:
        assert removal.duplicate_of.doc in {"a", "b"}
        assert removal.duplicate_of.doc != "b" or not b.removed


def test_short_repeated_lines_are_content():
    (doc,) = _dedup(_doc("a", "Liang Guangting said", PARA, "Liang Guangting said"))
    assert [line.text for line in doc.lines].count("Liang Guangting said") == 2


def test_chinese_paragraphs_use_character_shingles():
    zh = ("广州南沙区召开高质量发展大会，会上透露三个先行启动区建设将突出最香港最岭南最未来的特色。"
          "南沙区产业园区管理局局长表示，将集中资源加快建设庆盛、南沙湾和南沙枢纽三个先行启动区，"
          "同时推进生物谷、数字谷和健康谷建设，突出抓大产业、大平台、大项目、大企业和大环境。")
    zh_edit = zh.replace("大会", "会议")
    other = "深圳前海合作区今年引进了一百多个项目，主要集中在现代服务业和科技创新领域，发展势头良好。"
    signer = Signer(DedupConfig())
    assert ref.shingles(signer, zh) is not None and len(ref.shingles(signer, zh)) > 30
    _, b, c = _dedup(_doc("a", zh), _doc("b", zh_edit), _doc("c", other))
    assert b.removed and b.removed[0].duplicate_of.doc == "a"
    assert not c.removed


def test_candidate_bands_are_the_longest_bands_up_to_max_rows_that_reach_the_candidate_recall():
    assert DedupConfig(threshold=0.8).bands == (14, 5)
    for num_perm in (16, 64, 128, 256):
        for threshold in (0.3, 0.5, 0.7, 0.8, 0.85, 0.95):
            bands, rows = candidate_bands(threshold, num_perm)
            assert bands * rows <= num_perm
            assert candidate_probability(threshold, bands, rows) >= CANDIDATE_RECALL
            # Fewer bands of these rows would miss it, and so would any count of longer bands.
            assert candidate_probability(threshold, bands - 1, rows) < CANDIDATE_RECALL
            assert rows == MAX_ROWS or all(candidate_probability(threshold, b, rows + 1) < CANDIDATE_RECALL
                       for b in range(1, num_perm // (rows + 1) + 1))


def test_shingle_sets_are_sorted_unique_runs():
    hashes = np.array([5, 3, 5, 9, 7, 7, 1, 4294967295, 0], dtype=np.uint32)
    flat, offsets = shingle_sets(hashes, [4, 3, 2])
    assert offsets.tolist() == [0, 3, 5, 7]
    assert flat.dtype == np.uint32
    assert flat.tolist() == [3, 5, 9, 1, 7, 0, 4294967295]


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 40)), st.sets(st.integers(0, 40)))
def test_exact_jaccard_is_the_jaccard_of_the_sets(a, b):
    arr_a, arr_b = (np.array(sorted(x), dtype=np.uint32) for x in (a, b))
    assert intersection_size(arr_a, arr_b) == len(a & b)
    if a or b:
        assert jaccard(arr_a, arr_b) == len(a & b) / len(a | b)
        if not could_be_similar(len(a), len(b), 0.7):
            assert len(a & b) / len(a | b) < 0.7


@given(st.lists(st.tuples(st.sets(st.integers(0, (1 << 32) - 1), max_size=12),
                          st.sets(st.integers(0, (1 << 32) - 1), max_size=12)), max_size=8),
       st.sets(st.integers(0, 30), max_size=12))
def test_the_batch_intersections_are_each_pairs_own(pairs, shared):
    # The index verifies a batch's pairs at once (tagged_intersections); the reference is
    # intersection_size pair by pair. Hashes from a small pool shared by both sides make
    # pairs that meet; the full 32-bit range checks the tag does not mix with the hash.
    sides = [[np.array(sorted(a | (shared if k % 2 else set())), dtype=np.uint32),
              np.array(sorted(b | shared), dtype=np.uint32)] for k, (a, b) in enumerate(pairs)]

    def flat(side: int) -> tuple[np.ndarray, np.ndarray]:
        sets = [pair[side] for pair in sides]
        return (np.concatenate(sets) if sets else np.empty(0, dtype=np.uint32),
                np.array([len(one) for one in sets], dtype=np.int64))

    got = tagged_intersections(*flat(0), *flat(1))
    assert got.tolist() == [intersection_size(a, b) for a, b in sides]


def test_signed_rows_carry_the_sets_of_the_shingle_hashes():
    signer = Signer(DedupConfig())
    texts = [PARA, "too short", PARA + " " + PARA]
    doc = _doc("a", *texts)
    rows = Sign(DedupConfig())(Batch(0, [doc], 0)).signed
    assert rows is not None and rows.owners == [(0, 0), (0, 2)]
    assert rows.shingle_set(0).tolist() == sorted(set(ref.shingle_hashes(signer, texts[0])))
    assert rows.shingle_set(1).tolist() == sorted(set(ref.shingle_hashes(signer, texts[2])))


def test_permutations_are_datasketchs():
    import xxhash
    from datasketch import MinHash

    for seed, num_perm in ((1, 128), (7, 64)):
        a, b = affine32_permutations(num_perm, seed)
        reference = MinHash(num_perm=num_perm, seed=seed, hashfunc=xxhash.xxh32_intdigest).permutations
        assert (a == reference[0]).all() and (b == reference[1]).all()


def test_signatures_equal_datasketch_minhash():
    import xxhash
    from datasketch import MinHash

    signer = Signer(DedupConfig())
    texts = [PARA, PARA.replace("spring", "summer"),
             "广州南沙区召开高质量发展大会，会上透露三个先行启动区建设将突出最香港最岭南最未来的特色。"]
    sets = [ref.shingles(signer, t) for t in texts]
    batch = ref.signatures(signer, sets)
    for shingles, row in zip(sets, batch, strict=True):
        reference = MinHash(num_perm=128, seed=1, hashfunc=xxhash.xxh32_intdigest)
        reference.update_batch(shingles)
        assert (reference.digest()[:len(row)] == row).all()  # the permutations the bands use


def test_huge_paragraph_signature_is_computed_by_blocks_and_equal():
    import random

    import xxhash
    from datasketch import MinHash

    rng = random.Random(7)
    text = " ".join(f"w{rng.randrange(100000)}" for _ in range(70_000))
    signer = Signer(DedupConfig())
    shingles = ref.shingles(signer, text)
    assert len(shingles) > 2 * 2_048
    reference = MinHash(num_perm=128, seed=1, hashfunc=xxhash.xxh32_intdigest)
    reference.update_batch(shingles)
    ours = ref.signatures(signer, [shingles, ref.shingles(signer, PARA)])[0]
    assert (ours == reference.digest()[:len(ours)]).all()


def test_shingle_hashes_are_the_hashes_of_the_shingles():
    import xxhash

    signer = Signer(DedupConfig())
    for text in (PARA, "Ünïcödé wörds, with punctuation; and  double  spaces — here too, for the eight words.",
                 "short", "广州南沙区召开高质量发展大会，会上透露三个先行启动区建设将突出最香港最岭南最未来的特色。"):
        shingles = ref.shingles(signer, text)
        hashes = ref.shingle_hashes(signer, text)
        if shingles is None:
            assert hashes is None
        else:
            assert set(hashes) == {xxhash.xxh32_intdigest(s) for s in shingles}


def test_band_keys_are_stable_and_follow_the_bands():
    signer = Signer(DedupConfig())
    sig = ref.signature(signer, ref.shingles(signer, PARA))
    keys = ref.band_keys(signer, sig)
    assert len(keys) == signer.bands and len(set(keys)) == signer.bands
    assert keys == ref.band_keys(signer, sig.copy())
    changed = sig.copy()
    changed[0] ^= 1  # only band 0 changes
    other = ref.band_keys(signer, changed)
    assert other[0] != keys[0] and other[1:] == keys[1:]
    # A fixed value: keys must not change between processes, runs or releases unnoticed.
    assert ref.band_keys(signer, np.arange(128, dtype=np.uint32))[0] == FIRST_BAND_KEY_OF_RANGE


def test_batch_signatures_equal_datasketch_for_every_kind_of_line():
    """One batch mixing word- and character-shingled lines, lines too short to sign, a line
    shorter than a shingle (min_words below shingle_words) and one longer than a block."""
    import random

    import xxhash
    from datasketch import MinHash

    rng = random.Random(3)
    huge = " ".join(f"w{rng.randrange(50000)}" for _ in range(9_000))
    texts = [PARA, "short", "广州南沙区召开高质量发展大会，会上透露三个先行启动区建设将突出最香港最岭南最未来的特色。",
             "Ünïcödé wörds — with punctuation; and  double  spaces, here too: for the eight words!", huge,
             "_under_score words__ and   trailing punctuation?! six seven eight nine ...", "four words only here",
             PARA.upper()]
    signer = Signer(DedupConfig(min_words=3, shingle_words=5))
    counts, hashes = signer.shingle_hash_batch(texts)
    assert counts[1] is None and counts[6] == 1  # "four words only here" is one 4-word shingle
    matrix = signer.signatures_of_hashes(hashes, [c for c in counts if c is not None])
    rows = iter(matrix)
    for text, count in zip(texts, counts, strict=True):
        if count is None:
            assert ref.shingles(signer, text) is None
            continue
        reference = MinHash(num_perm=128, seed=1, hashfunc=xxhash.xxh32_intdigest)
        reference.update_batch(ref.shingles(signer, text))
        row = next(rows)
        assert (row == reference.digest()[:len(row)]).all(), text[:40]


_CHARS = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from(["a", "B", "é", "Σ", "ς", "İ", "ß", "_", "1", " ", "  ", "\n", "\u00a0", "—", "’", "中", "ก",
                     "😀", "𝐀", "\u0301", ".", "-", "฿", "・", "。"]),
)


@settings(max_examples=200)
@given(st.lists(st.lists(_CHARS, max_size=80).map("".join), min_size=1, max_size=6),
       st.integers(1, 6), st.integers(1, 9))
def test_batch_shingles_are_the_reference_shingles(texts, shingle_words, min_words):
    """The vectorised cutter gives, for any batch, the hashes of exactly the shingles the
    one-line-at-a-time reference (\\w+ words of the lowercased line) gives."""
    import xxhash

    signer = Signer(DedupConfig(shingle_words=shingle_words, min_words=min_words))
    counts, hashes = signer.shingle_hash_batch(texts)
    at = 0
    for text, count in zip(texts, counts, strict=True):
        reference = ref.shingles(signer, text)
        if reference is None:
            assert count is None, text
            continue
        assert count is not None, text
        assert set(hashes[at:at + count].tolist()) == {xxhash.xxh32_intdigest(s) for s in reference}, text
        at += count
    assert at == len(hashes)


@given(st.binary(max_size=400), st.lists(st.tuples(st.integers(0, 400), st.integers(0, 120)), max_size=60))
def test_numpy_xxh32_equals_xxhash(data, spans):
    import xxhash

    from curate.stages.dedup.shingles import xxh32_slices

    starts = [min(s, len(data)) for s, _ in spans]
    ends = [min(s + n, len(data)) for s, n in zip(starts, (n for _, n in spans), strict=True)]
    got = xxh32_slices(data, np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64))
    assert got.tolist() == [xxhash.xxh32_intdigest(data[s:e]) for s, e in zip(starts, ends, strict=True)]


@given(st.lists(st.tuples(st.integers(0, 9000), st.integers(0, 5000)), min_size=1, max_size=20))
def test_numpy_xxh32_equals_xxhash_on_long_slices(spans):
    # Past LONG_SLICE bytes a slice is hashed by xxhash itself, the others in numpy: the
    # result keeps each slice's place.
    import xxhash

    from curate.stages.dedup.shingles import LONG_SLICE, xxh32_slices

    data = bytes(range(256)) * 40
    starts = np.array([s for s, _ in spans], dtype=np.int64)
    ends = np.minimum(starts + np.array([n for _, n in spans], dtype=np.int64), len(data))
    got = xxh32_slices(data, starts, ends)
    assert got.tolist() == [xxhash.xxh32_intdigest(data[s:e]) for s, e in zip(starts.tolist(), ends.tolist(),
                                                                               strict=True)]
    assert LONG_SLICE < 5000


def test_numpy_xxh32_hashes_a_bounded_number_of_slices_at_a_time(monkeypatch):
    # A page of a million short lines has ~7 million shingles: they are hashed
    # SLICES_AT_ONCE at a time, each part on its own piece of the buffer; every hash keeps
    # its place, long slices among them.
    import random

    import xxhash

    from curate.stages.dedup import shingles

    rng = random.Random(5)
    data = bytes(rng.randrange(256) for _ in range(6000))
    starts = np.array(sorted(rng.randrange(0, 6000) for _ in range(500)), dtype=np.int64)
    ends = np.minimum(starts + np.array([rng.choice((0, 1, 7, 33, 2000)) for _ in starts], dtype=np.int64), 6000)
    want = [xxhash.xxh32_intdigest(data[s:e]) for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    for at_once in (1, 3, 64, 10**6):
        monkeypatch.setattr(shingles, "SLICES_AT_ONCE", at_once)
        assert shingles.xxh32_slices(data, starts, ends).tolist() == want, at_once


def _verdicts(docs: list[Document]) -> list[tuple[str, int, str | None]]:
    return [(doc.id, removal.line.index, removal.duplicate_of.doc if removal.duplicate_of else None)
            for doc in docs for removal in doc.removed]


def test_a_crowd_under_one_band_key_is_verified_against_its_first_members_only(monkeypatch):
    """Templated paragraphs share band keys by the hundred; a copy is still found under the
    keys only it and its original have, and the verdicts do not depend on how the
    paragraphs fall into batches (a key's quota is shared between the index and the batch)."""
    from curate.stages.dedup import index as index_module

    template = "This is listing number {} of the catalogue, and it ends with the usual closing words."
    crowd = [template.format(n) for n in range(600)]
    copies = [crowd[5], crowd[300], crowd[599]]

    def run(cap: int, one_batch: bool) -> list[tuple[str, int, str | None]]:
        monkeypatch.setattr(index_module, "CANDIDATES_PER_KEY", cap)
        texts = crowd + copies
        if one_batch:
            return _verdicts(_dedup(_doc("all", *texts)))
        return _verdicts(_dedup(*(_doc(f"d{k:04d}", text) for k, text in enumerate(texts))))

    for one_batch in (True, False):
        bounded, unbounded = run(2, one_batch), run(10 ** 9, one_batch)
        assert bounded == unbounded
        assert len(bounded) == 3  # the three copies, and nothing of the crowd
    assert [line for _, line, _ in run(2, True)] == [600, 601, 602]
