from __future__ import annotations

import pytest

from curate.stages.language import detect

pytestmark = pytest.mark.unit

EN = "The council approved the new budget on Tuesday after a long debate about schools and roads."
DE = "Der Stadtrat hat am Dienstag nach einer langen Debatte über Schulen und Straßen den Haushalt beschlossen."


def test_short_or_symbol_text_is_undetermined():
    assert detect("OK", 20, 300) == ("und", 0.0)
    assert detect("1234 5678 !!! ??? ---- 9999 //// 2024", 20, 300) == ("und", 0.0)


def test_detection_is_repeatable():
    assert {detect(DE, 20, 300) for _ in range(5)} == {detect(DE, 20, 300)}
    assert detect(DE, 20, 300)[0] == "de"


def _paragraphs(limit: int = 600) -> list[str]:
    from conftest import NOISE_DEV, SEEDS

    out = []
    for path in sorted(SEEDS.glob("*.txt")) + sorted(NOISE_DEV.glob("*.txt"))[::4]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if sum(ch.isalpha() for ch in line) >= 40:
                out.append(line.strip()[:300])
    return out[:limit]


def test_ngrams_are_exactly_langdetects():
    import langdetect.detector_factory as df
    from langdetect.detector_factory import init_factory
    from reference.language import extract_ngrams

    from curate.stages.language import model

    init_factory()
    m = model()
    for text in _paragraphs(300):
        reference = df._factory.create()
        reference.append(text)
        reference.cleaning_text()
        assert [g for g in extract_ngrams(text) if g in m.row] == reference._extract_ngrams()


def test_exhaustive_scoring_agrees_with_seeded_langdetect():
    from reference.language import langdetect_reference

    from curate.stages.language import ISO_639_1, model

    paragraphs = _paragraphs()
    m = model()
    # The exact scorer's best profile is langdetect's ...
    agree = sum(m.best(m.evidence(p[:300]))[0] == langdetect_reference(p) for p in paragraphs)
    assert len(paragraphs) == 600
    assert agree / len(paragraphs) >= 0.98
    # ... and where the calibrated label is not "und", it is langdetect's (in ISO 639-1).
    labels = [(detect(p)[0], ISO_639_1.get(langdetect_reference(p), langdetect_reference(p))) for p in paragraphs]
    given = [(mine, theirs) for mine, theirs in labels if mine != "und"]
    assert len(given) >= 0.8 * len(paragraphs)
    assert sum(mine == theirs for mine, theirs in given) / len(given) >= 0.98


def test_word_by_word_ngrams_equal_the_character_loop():
    from reference.language import extract_ngrams, extract_ngrams_fast

    texts = [*_paragraphs(400), "ABC def GHi jKL", "  lead and trail  ", "a, b;  c", "NATO und UNO sagen nein.",
             "Visit https://example.com or mail me@example.com now", "中文段落，没有空格。"]
    for text in texts:
        # The same n-grams as often each; the order inside a word differs (see _word_grams).
        assert sorted(extract_ngrams_fast(text)) == sorted(extract_ngrams(text)), text


def test_a_words_evidence_does_not_depend_on_the_order_of_its_ngrams():
    """The float64 sum of a word's float32 log-probabilities is exact, so the word table
    holds the same bits whatever order the n-grams come in."""
    import numpy as np

    from curate.stages.language import _word_grams_with_capitals, model

    m = model()
    words = {w for text in _paragraphs(200) for w in text.split()} | {"NATO", "ÜBER", "x", "Ab"}
    for word in sorted(words):
        grams = [g for g in _word_grams_with_capitals(" " + word + " ") if g in m.row]
        if not grams:
            continue
        rows = [m.row[g] for g in grams]
        forward = m.log_prob[rows].sum(axis=0, dtype=np.float64)
        assert (m.log_prob[rows[::-1]].sum(axis=0, dtype=np.float64) == forward).all(), word
        assert (m.log_prob[sorted(rows)].sum(axis=0, dtype=np.float64) == forward).all(), word


def test_sparse_word_sums_equal_the_gathered_reference():
    """The sparse product that sums new words' n-gram rows past the first n-grams of a
    process gives the very bits of gathering and reducing them, for words with repeated
    n-grams, words no profile knows and real paragraphs' words, and so the same labels."""
    import numpy as np

    from curate.stages.language import _summed_rows_gathered, _summed_rows_sparse, _word_grams, model, word_keys

    m = model()
    keys = list(dict.fromkeys(k for text in _paragraphs(400) for k in word_keys(text)))
    keys += ["aaaa ", "ababab", "\u2603\u2603 ", "qzxj"]
    gram_rows = [[m.row[g] for g in _word_grams(key) if g in m.row] for key in keys]
    assert any(not r for r in gram_rows) and any(len(r) != len(set(r)) for r in gram_rows)
    rows = np.array([r for word in gram_rows for r in word], dtype=np.int64)
    counts = np.array([len(r) for r in gram_rows], dtype=np.int64)
    gathered = _summed_rows_gathered(m.log_prob, rows, counts)
    sparse = _summed_rows_sparse(m.log_prob, rows, counts)
    assert gathered.shape == sparse.shape == (len(keys), len(m.languages))
    assert np.array_equal(gathered, sparse)
    assert (gathered[counts == 0] == 0).all()


def test_labels_are_the_same_on_either_side_of_the_sparse_switch(monkeypatch):
    from curate.stages.language import LanguageModel, detect, model

    def labels(after: int) -> list:
        monkeypatch.setattr(LanguageModel, "SPARSE_AFTER_GRAMS", after)
        m = model()
        m.__dict__.pop("_word_index", None)  # a fresh table: every word is learnt again
        m._grams_summed = 0
        return [detect(text) for text in _paragraphs(300)]

    assert labels(0) == labels(10**9)
    model().__dict__.pop("_word_index", None)


def test_sparse_line_sums_are_the_same_bits_as_reducing_in_order(monkeypatch):
    """A line's evidence adds its words' rows one after another; the sparse product adds
    them in the same order, so every line's sum, and every label, is the same bits."""
    import numpy as np

    from curate.stages.language import LanguageModel, model, word_keys

    m = model()
    texts = _paragraphs(400)
    keys, starts = [], []
    for text in texts:
        starts.append(len(keys))
        keys.extend(word_keys(text) or ["x"])
    ids = m.ids_of(keys)
    assert ids is not None
    monkeypatch.setattr(LanguageModel, "SPARSE_AFTER_GRAMS", 10**12)
    reduced = m.summed_lines(ids, starts)
    monkeypatch.setattr(LanguageModel, "SPARSE_AFTER_GRAMS", -1)
    sparse = m.summed_lines(ids, starts)
    assert reduced.shape == sparse.shape == (len(texts), len(m.languages) + 2)
    assert np.array_equal(reduced.view(np.uint64), sparse.view(np.uint64))


def test_line_sums_gathered_a_chunk_at_a_time_are_the_same_bits(monkeypatch):
    """Below the sparse switch, a long page's words' rows are gathered a bounded run of
    lines at a time (all at once, a million short lines held 5 GB); each line's sum is
    its own, so any chunk size, down to one line, gives the same bits."""
    import numpy as np

    from curate.stages.language import LanguageModel, model, word_keys

    m = model()
    keys, starts = [], []
    for text in _paragraphs(300):
        starts.append(len(keys))
        keys.extend(word_keys(text) or ["x"])
    ids = m.ids_of(keys)
    assert ids is not None
    monkeypatch.setattr(LanguageModel, "SPARSE_AFTER_GRAMS", 10**12)
    monkeypatch.setattr(LanguageModel, "GATHER_WORDS", 10**9)
    whole = m.summed_lines(ids, starts)
    for words in (1, 7, 64, len(ids) - 1):
        monkeypatch.setattr(LanguageModel, "GATHER_WORDS", words)
        assert np.array_equal(m.summed_lines(ids, starts).view(np.uint64), whole.view(np.uint64)), words


def test_labels_are_the_same_whatever_lines_are_worked_out_at_once(monkeypatch):
    """A batch's lines are sampled, summed and judged LINES_AT_ONCE at a time (a page of a
    million lines all at once took 2-3 kB a line); every line's and document's label and
    score is what all at once gives, across documents, lines without letters or evidence,
    lines in other languages than their document's."""
    import gzip
    import json

    from conftest import FIXTURES

    from curate.document import Document, Line, Origin
    from curate.stages import language
    from curate.stages.language import detect_languages

    with gzip.open(FIXTURES / "languages" / "labelled.jsonl.gz", "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    foreign = [record["text"].split("\n")[0][:200] for record in records[::max(1, len(records) // 40)]]
    texts = _paragraphs(200)
    pages = [texts[k:k + 30] + foreign[k // 10:k // 10 + 4] + ["1234 -- !!", "qzxj qzxj"] for k in range(0, 200, 30)]
    pages.append(["Short."])

    def labels(at_once: int) -> list:
        monkeypatch.setattr(language, "LINES_AT_ONCE", at_once)
        docs = [Document(f"d{n}", "x.txt", None, [Line(k, text, text, Origin(k + 1, 0, len(text)), False)
                                                    for k, text in enumerate(page)]) for n, page in enumerate(pages)]
        detect_languages(docs)
        return [(d.language, d.language_score, d.line_languages) for d in docs]

    whole = labels(10**9)
    assert any(line_languages for _, _, line_languages in whole)  # some lines labelled apart from their page
    for at_once in (1, 7, 40):
        assert labels(at_once) == whole, at_once


def test_a_long_pages_language_memory_grows_by_its_lines_not_their_words(monkeypatch):
    """A page's lines cost the stage their rows and labels (~0.7 kB a line), however many
    of them: their word keys, gathered word rows and judging are LINES_AT_ONCE lines'
    worth. All at once, a page of one sentence repeated took ~6 kB a line here (7 GB for
    a million lines in a run). bench/line_memory.py measures whole runs."""
    import tracemalloc

    from curate.document import Document, Line, Origin
    from curate.stages import language
    from curate.stages.language import LanguageModel, detect_languages

    monkeypatch.setattr(language, "LINES_AT_ONCE", 500, raising=False)
    monkeypatch.setattr(LanguageModel, "GATHER_WORDS", 2000, raising=False)
    text = "The same sentence is written on every line of this page."

    def peak(n: int) -> int:
        doc = Document("d", "x.txt", None, [Line(k, text, text, Origin(k + 1, 0, len(text)), False) for k in range(n)])
        tracemalloc.start()
        try:
            detect_languages([doc])
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(10)  # the model and its word table made, the sentence's words learnt
    per_line = (peak(8000) - peak(2000)) / 6000
    assert per_line < 1500, per_line


def test_batched_samples_equal_each_lines_own():
    """The letters, characters and word keys of all of a batch's lines at once are each
    line's own: lines with no letters, astral letters and symbols, lone surrogates,
    Vietnamese marks, URLs, every script langdetect folds (kana, hangul, CJK)."""
    from curate.document import Line, Origin
    from curate.stages.language import _sample, _samples

    texts = [*_paragraphs(300), "", "1234 -- !!", "\U0001d400\U0001d401 math letters \U0001f600 and \U00020000",
             "lone \ud800 surrogate", "Tiếng Việt có dấu", "see https://x.org/a?b=c or a@b.de now",
             "ひらがな カタカナ 한국어 中文字 ȘȚ ệ", "x" * 1000,
             "\U0001f600\U0001d400 \U00020001" * 100, "a\U0001f600b \U0001d41a\U0001d41b" * 40]
    lines = [Line(k, text, text, Origin(k + 1, 0, len(text)), False) for k, text in enumerate(texts)]
    assert _samples(lines) == [_sample(line) for line in lines]
    assert _samples([]) == []


def test_fast_cleaning_equals_langdetects():
    from reference.language import reference_cleaned

    from curate.stages.language import _cleaned

    texts = [*_paragraphs(400), "a  b   c", " lead", "URL https://x.org/a?b=c and a@b.de mail", "Мама мыла раму ABC",
             "Tiếng Việt có dấu", "日本語のテキスト with English", "[brackets] ^_` between A and z"]
    for text in texts:
        assert _cleaned(text) == reference_cleaned(text), text


def test_word_table_evidence_equals_summing_every_ngram():
    import numpy as np
    from reference.language import profile_rows

    from curate.stages.language import model

    m = model()
    for text in _paragraphs(300):
        rows = profile_rows(m, text)
        direct = m.log_prob[rows].sum(axis=0, dtype=np.float64)
        assert np.allclose(m.evidence(text), direct, rtol=1e-9, atol=1e-6)
        assert m.best(m.evidence(text))[0] == m.best(direct)[0]


def test_profile_matrix_is_langdetects_own():
    """The model reads langdetect's profiles itself; every language's smoothed
    log-probability of every n-gram must be the one langdetect's factory computes."""
    import langdetect.detector_factory as df
    import numpy as np
    from langdetect.detector_factory import init_factory

    from curate.stages.language import SMOOTHING, LanguageModel

    init_factory()
    factory = df._factory
    mine = LanguageModel()
    assert sorted(mine.languages) == sorted(factory.langlist)
    assert mine.row.keys() == factory.word_lang_prob_map.keys()
    columns = [factory.langlist.index(lang) for lang in mine.languages]
    theirs = np.array([factory.word_lang_prob_map[gram] for gram in mine.row], dtype=np.float64)[:, columns]
    assert mine.log_prob.dtype == np.float64  # float32 values, held in float64
    assert np.array_equal(np.log(theirs + SMOOTHING).astype(np.float32), mine.log_prob)


def test_labels_do_not_depend_on_the_word_table_filling_up(monkeypatch):
    """A small table is started afresh within a batch, or cannot hold the batch at all
    and is filled line by line; either way every label is what a roomy table gives."""
    from curate.document import Document, Line, Origin
    from curate.stages.language import LanguageModel, detect_languages, model

    def documents():
        docs = []
        for n, text in enumerate(_paragraphs(120)):
            lines = [Line(k, part, part, Origin(k + 1, 0, len(part)), False)
                     for k, part in enumerate(text.split(". ")) if part]
            docs.append(Document(f"d{n}", "x.txt", None, lines))
        return docs

    def labels(rows: int, batch: int) -> list:
        monkeypatch.setattr(LanguageModel, "WORD_TABLE_ROWS", rows)
        m = model()
        m.__dict__.pop("_word_index", None)  # a fresh table of the patched size
        docs = documents()
        for start in range(0, len(docs), batch):
            detect_languages(docs[start:start + batch])
        return [(d.language, d.language_score, d.line_languages) for d in docs]

    roomy = labels(100_000, 30)
    assert labels(400, 10) == roomy  # a batch (~150 words) fits, but the table fills up
    assert labels(60, 30) == roomy  # no batch (400+ words) fits: learnt line by line (< 40 each)
    model().__dict__.pop("_word_index", None)


def test_word_keys_are_the_words_split_on_spaces_each_with_the_space_that_follows():
    from reference.language import word_keys_reference

    from curate.stages.language import word_keys

    texts = [*_paragraphs(400), "ABC def GHi jKL", "  lead and trail  ", "a, b;  c", "tab\there", "line\nbreak",
             "Visit https://example.com or mail me@example.com now", "中文段落，没有空格。", "", " ", "x"]
    for text in texts:
        assert word_keys(text) == word_keys_reference(text), text
