"""Language of each document and of each paragraph (line), from langdetect's profiles.

langdetect guesses by sampling n-grams at random, seven times over, until its
estimate settles; with a fixed seed it repeats itself, but the sampling is what
makes it slow (about 5 ms for one paragraph). curate uses langdetect's own
profiles (55 languages) and its own n-gram extraction, and scores *every* n-gram
once, exactly: the same naive Bayes model with nothing left to chance. It is
deterministic without a seed, about ten times faster, and agreed with seeded
langdetect on 99.7% of 1,478 noise-dev paragraphs (tests/test_language.py checks
the agreement on the seeds and noise-dev).

The document's label is the sum of its paragraphs' evidence, so it costs nothing
extra. Text with too few letters is "und" (undetermined), not a guess.

langdetect's posterior saturates (0.9999 for Icelandic labelled Danish, or for a
document a third of which is in another language), so the score is not it but a
calibrated confidence (`calibrated`, fitted by bench/language.py on a labelled set): how
well the text fits the winning profile against what that language's own text scores, its
lead over other languages, its length; for a document, times the share of its lines in
its language. Under the fitted threshold the label is "und". Codes are ISO 639-1.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from itertools import accumulate, chain, pairwise, repeat
from operator import add
from pathlib import Path
from statistics import median  # numpy's imports numpy.ma, ~90 ms of a run's start
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import orjson
from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY
from langdetect.utils.ngram import NGram

from curate.codepoints import BMP_LAST, code_points, look_up
from curate.distinct import distinct
from curate.document import Document, Line
from curate.libraries import installed_version
from curate.stages import language_calibration as calibration
from curate.stages.base import Batch, Stage
from curate.stages.language_calibration import FIT_OFFSET
from curate.user_cache import cache_root, mark_used, remove_unused_entries, write_entry, writing_claim

if TYPE_CHECKING:
    from curate.driver import RunConfig

UNDETERMINED = "und"
MIN_LETTERS_DOCUMENT = 20
# Fewer letters than this and a paragraph's label is a guess.
MIN_LETTERS_PARAGRAPH = 40
# The first characters of a paragraph decide its language; a bounded sample keeps a
# 10 kB paragraph as cheap as a 300-character one.
PARAGRAPH_SAMPLE_CHARS = 300
# langdetect reads at most 10,000 characters of a document; so does the document score.
DOCUMENT_SAMPLE_CHARS = 10_000
# langdetect's smoothing: each n-gram multiplies a language's probability by
# (alpha / BASE_FREQ + p(n-gram | language)), with alpha 0.5 and BASE_FREQ 10,000.
SMOOTHING = Detector.ALPHA_DEFAULT / Detector.BASE_FREQ
LOG_SMOOTHING = float(np.log(SMOOTHING))
# langdetect's codes are ISO 639-1 but for Chinese, which it splits by script
# (zh-cn Simplified, zh-tw Traditional); both are ISO 639-1 "zh".
ISO_639_1 = {"zh-cn": "zh", "zh-tw": "zh"}


class LanguageModel:
    """langdetect's profiles as one matrix of log-probabilities, n-gram by language."""

    def __init__(self) -> None:
        self.languages, self.row, self.log_prob, self.expected = profile_tables()
        self.codes = [ISO_639_1.get(lang, lang) for lang in self.languages]
        # What a language's own real text scores per n-gram differs from what its profile
        # alone predicts (CJK profiles cover few of a text's bigrams and trigrams), by an
        # offset measured on labelled text; languages without labelled text get the median.
        default = median(FIT_OFFSET.values()) if FIT_OFFSET else 0.0
        self.expected = self.expected + np.array([FIT_OFFSET.get(lang, default) for lang in self.languages])
        # Columns that share an ISO code (zh-cn, zh-tw) are not each other's rival.
        code_ids = np.unique(self.codes, return_inverse=True)[1]
        self._same_code = code_ids[:, None] == code_ids[None, :]

    # Words whose evidence is kept, at most; the table is started afresh when full, which
    # changes no result (a word's vector depends on the word alone).
    WORD_TABLE_ROWS = 100_000
    # The word table, made on first use by _index.
    _vectors: np.ndarray
    _used: int
    # n-grams summed into the word table by this process; past this many, by a sparse
    # product (`_summed_rows`). 20 MB of text brings ~1.2M (~50k new words).
    SPARSE_AFTER_GRAMS = 50_000
    _grams_summed = 0
    # Words' rows `summed_lines` gathers at once (65,536 of 456 bytes: 30 MB).
    GATHER_WORDS = 1 << 16

    def evidence(self, text: str) -> np.ndarray | None:
        """Summed log-probability of the text's n-grams per language, or None if it has none.

        Each word's n-grams are summed once and kept as one row of a word table, so a
        paragraph sums ~50 word rows instead of ~900 n-gram rows."""
        row = self.row_of(word_keys(text))
        return None if row is None else row[:len(self.languages)]

    def row_of(self, keys: list[str]) -> np.ndarray | None:
        """The text's evidence followed by its count of n-grams and of n-grams some profile
        has (what `fit` needs), or None if no profile has any of its n-grams. Its new words
        are learnt first (they always fit: a cleaned text has at most 10,000 characters)."""
        ids = self.ids_of(keys)
        if ids is None or not len(ids):
            return None
        row = self._vectors[ids].sum(axis=0)
        return row if row[-1] > 0 else None

    def learn(self, keys: Iterable[str]) -> bool:
        """Put every word not yet in the table into it, in one numpy pass.

        Learning a whole batch of paragraphs at once matters: the pass costs ~70 µs
        whatever its size, and a paragraph brings only a few new words. Returns False,
        learning nothing, if the words would not fit even in an empty table."""
        index = self._index
        distinct = dict.fromkeys(keys)
        new = [key for key in distinct if key not in index]
        if not new:
            return True
        if self._used + len(new) > self.WORD_TABLE_ROWS:
            if len(distinct) > self.WORD_TABLE_ROWS:
                return False
            # Start the table afresh with all of these words, so no id that is about to
            # be looked up points at a row that has been reused.
            index.clear()
            self._used = 0
            new = list(distinct)
        self._add_words(new)
        return True

    def ids_of(self, keys: list[str]) -> np.ndarray | None:
        """The table's row of each key, the words not yet in it learnt first (as `learn`
        learns them); None if they would not fit even in an empty table. One lookup per
        key, and a Python step only for the keys not found (a batch's words are mostly
        known): looking every key up after learning the batch's distinct words cost
        twice as much."""
        index = self._index
        ids = np.fromiter(map(index.get, keys, repeat(-1)), dtype=np.int64, count=len(keys))
        missing = np.flatnonzero(ids < 0).tolist()
        if not missing:
            return ids
        new = list(dict.fromkeys([keys[k] for k in missing]))
        if self._used + len(new) > self.WORD_TABLE_ROWS:
            if not self.learn(keys):
                return None
            return np.fromiter(map(index.__getitem__, keys), dtype=np.int64, count=len(keys))
        self._add_words(new)
        ids[missing] = [index[keys[k]] for k in missing]
        return ids

    def _add_words(self, keys: list[str]) -> None:
        """Put each word's summed n-gram evidence in the table, all words in one numpy pass."""
        gram_lists = [_word_grams(key) for key in keys]
        grams = list(chain.from_iterable(gram_lists))
        rows = np.fromiter(map(self.row.get, grams, repeat(-1)), dtype=np.int64, count=len(grams))
        owner = np.repeat(np.arange(len(keys)), np.fromiter(map(len, gram_lists), dtype=np.int64, count=len(keys)))
        n_grams = np.bincount(owner, minlength=len(keys))
        known = rows >= 0  # n-grams in no profile add nothing to any language's evidence ...
        rows, owner = rows[known], owner[known]
        counts = np.bincount(owner, minlength=len(keys))
        first = self._used
        n = len(keys)
        slots = np.arange(first, first + n)
        table = self._vectors[first:first + n]
        table[:, :-2] = self._summed_rows(rows, counts) if rows.size else 0.0
        # ... but they count for how well the text fits a language (see `fit`).
        table[:, -2] = n_grams
        table[:, -1] = counts
        self._index.update(zip(keys, slots.tolist(), strict=True))
        self._used = first + n

    def _summed_rows(self, rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Per word, the sum of its n-grams' log-probability rows (``rows``, grouped by
        word, ``counts`` per word; a word with none sums to 0), in float64.

        A float64 sum of these float32 values is exact (they span fewer than 53 bits), so
        any order gives the same sums. Once the process has summed more than
        SPARSE_AFTER_GRAMS n-grams (this batch's included) they are one sparse product
        (scipy): on the 20 MB benchmark corpus, 0.03 µs an n-gram against 1.5 µs for
        gathering every n-gram's row and reducing (0.12 s for its 1.2M n-grams, scipy's
        import included, against ~0.6 s). A small run (the seeds: 13k n-grams) stays on
        numpy and does not pay scipy's ~0.1 s import. tests/test_language.py holds the
        two equal."""
        self._grams_summed += len(rows)
        if self._grams_summed <= self.SPARSE_AFTER_GRAMS:
            return _summed_rows_gathered(self.log_prob, rows, counts)
        return _summed_rows_sparse(self.log_prob, rows, counts)

    def summed_lines(self, ids: np.ndarray, starts: list[int]) -> np.ndarray:
        """Per line, the sum of its words' table rows (``ids``: every line's words' rows,
        line after line; ``starts``: where each line's begin, none empty), each line's rows
        added one after another in their order. Past SPARSE_AFTER_GRAMS n-grams (see
        `_summed_rows`), as a sparse product: it adds each line's rows in that same order,
        to zero, so the sums are the same bits; gathering every word's row first cost
        ~0.4 s of the 20 MB corpus.

        The gathered rows (456 bytes a word) are taken a bounded run of lines at a time:
        gathered at once, a page of a million short lines (~11 words each, so never past
        SPARSE_AFTER_GRAMS when its lines repeat a few words) held 5 GB of them. Each
        line's sum is its own words' rows reduced alone, so the chunks change no bit."""
        if self._grams_summed > self.SPARSE_AFTER_GRAMS:
            return _sparse_product(self._vectors, ids, np.array([*starts, len(ids)], dtype=np.int64))
        if len(ids) <= self.GATHER_WORDS:
            return np.add.reduceat(self._vectors[ids], starts, axis=0)
        out = np.empty((len(starts), self._vectors.shape[1]), dtype=np.float64)
        bounds = np.array([*starts, len(ids)], dtype=np.int64)
        first = 0
        while first < len(starts):
            # The lines whose words end within GATHER_WORDS of this chunk's first word (at
            # least one line, whatever its length).
            last = max(first + 1, int(np.searchsorted(bounds, bounds[first] + self.GATHER_WORDS, side="right")) - 1)
            begin, end = bounds[first], bounds[last]
            out[first:last] = np.add.reduceat(self._vectors[ids[begin:end]], bounds[first:last] - begin, axis=0)
            first = last
        return out

    @property
    def _index(self) -> dict[str, int]:
        if "_word_index" not in self.__dict__:
            self.__dict__["_word_index"] = {}
            # One row per word: its evidence per language, its n-grams, its known n-grams.
            self._vectors = np.zeros((self.WORD_TABLE_ROWS, len(self.languages) + 2), dtype=np.float64)
            self._used = 0
        return self.__dict__["_word_index"]

    def judge(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(winning column, calibrated confidence that its code is right) of each row of
        `row_of` evidence, all rows at once: the confidence is `calibrated` of `features`."""
        if len(rows) > LINES_AT_ONCE:  # a row's verdict is its own: judged in parts, each part's temporaries freed
            parts = [self.judge(rows[first:first + LINES_AT_ONCE]) for first in range(0, len(rows), LINES_AT_ONCE)]
            return np.concatenate([top for top, _ in parts]), np.concatenate([confidence for _, confidence in parts])
        top, fit, margin, grams = self.features(rows)
        return top, calibrated(fit, margin, grams)

    def features(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(winning column, fit, margin, n-grams) of each row of `row_of` evidence.

        fit: the winner's log-probability per n-gram (an n-gram in no profile counts at
        the smoothing floor) less what that language's own text scores per n-gram
        (`expected`): near 0 for text in the language, far below for text the profile
        does not know (another language, another script, a mixture).
        margin: the winner's lead per n-gram over the best language with another code."""
        n_languages = len(self.languages)
        evidence, grams, known = rows[:, :n_languages], rows[:, -2], rows[:, -1]
        top = evidence.argmax(axis=1)
        at = np.arange(len(rows))
        best = evidence[at, top]
        rival = np.where(self._same_code[top], -np.inf, evidence).max(axis=1)
        fit = (best + (grams - known) * LOG_SMOOTHING) / grams - self.expected[top]
        return top, fit, (best - rival) / grams, grams

    def best(self, evidence: np.ndarray) -> tuple[str, float]:
        """The most likely language and its posterior probability (uniform prior)."""
        top = int(evidence.argmax())
        shifted = np.exp(evidence - evidence[top])
        return self.languages[top], round(float(1.0 / shifted.sum()), 4)


def profile_names() -> list[str]:
    """The languages of langdetect's profiles (its file names), sorted: the codes this
    model labels documents with, besides "und"."""
    directory = Path(PROFILES_DIRECTORY)
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith(".") and p.is_file())


ProfileTables = tuple[list[str], dict[str, int], np.ndarray, np.ndarray]


def cached_table_files(key: str) -> tuple[Path, Path]:
    """The cache entry of the tables derived under ``key``: the log-probabilities (.npy,
    mapped by readers) and the index beside them (.json: languages, n-grams, expected)."""
    folder = cache_root() / "language"
    return folder / f"{key}.npy", folder / f"{key}.json"


def profile_tables() -> ProfileTables:
    """`_profile_log_probabilities`, from the user's cache when an earlier run left them
    there for these profiles and this code (`profile_tables_key`), else derived and left
    there for the next run. From the cache the table is mapped, not read: ~40 ms instead
    of 0.1-0.4 s (most of it first touches of 38 MB of fresh memory), a serial step before
    workers start; and every process of the machine shares its pages. The values are the
    same bits either way (tests/test_user_cache.py)."""
    table_file, index_file = cached_table_files(profile_tables_key())
    cached = _read_cached_tables(table_file, index_file)
    if cached is not None:
        mark_used(table_file)
        mark_used(index_file)
        return cached
    tables = _profile_log_probabilities()
    with writing_claim(table_file) as claimed:
        if claimed:
            _write_cached_tables(table_file, index_file, tables)
    return tables


def _write_cached_tables(table_file: Path, index_file: Path, tables: ProfileTables) -> None:
    languages, row, log_prob, expected = tables
    index = orjson.dumps({"languages": languages, "grams": list(row), "expected": expected.tolist()})
    # The table before the index: a reader finds the index only once the table is whole.
    if (write_entry(table_file, lambda file: np.save(file, log_prob, allow_pickle=False))
            and write_entry(index_file, lambda file: file.write(index))):
        remove_unused_entries(table_file.parent, {table_file.name, index_file.name})


def profile_tables_key() -> str:
    """What the derived tables depend on: each profile file's name and size, langdetect's
    version (its profiles and smoothing constants) and this module's own source (how they
    are derived). Not the files' times: machines that installed the same versions share
    one entry, where their cache folder is shared (a home folder on NFS)."""
    directory = Path(PROFILES_DIRECTORY)
    parts = [f"langdetect {installed_version('langdetect')}"]
    for name in profile_names():
        stat = (directory / name).stat()
        parts.append(f"{name} {stat.st_size}")
    digest = hashlib.blake2b("\n".join(parts).encode("utf-8"), digest_size=16)
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def _read_cached_tables(table_path: Path, index_path: Path) -> ProfileTables | None:
    """The cached tables, or None if they are missing or not what this code writes (cut
    short, another shape, not JSON): they are then derived again."""
    try:
        index = orjson.loads(index_path.read_bytes())
        log_prob = np.load(table_path, mmap_mode="r", allow_pickle=False)
        languages, grams, expected = index["languages"], index["grams"], np.array(index["expected"], dtype=np.float64)
        if (log_prob.dtype != np.float64 or log_prob.shape != (len(grams), len(languages))
                or expected.shape != (len(languages),)):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    # A plain array over the mapping: the memmap subclass made every slice of it a memmap.
    return languages, {gram: k for k, gram in enumerate(grams)}, log_prob.view(np.ndarray), expected


def _profile_log_probabilities() -> ProfileTables:
    """langdetect's profiles as (languages, n-gram -> row, smoothed log-probabilities,
    expected log-probability per n-gram of each language's own text).

    The probabilities langdetect's DetectorFactory computes (an n-gram's count over the
    profile's count of n-grams of its length, 0 for longer ones), read with orjson and
    filled in by numpy, taking the logarithm only where a profile has the n-gram: building
    them through langdetect took ~0.9 s, a serial step at the start of every run (and so
    a tenth of what --workers 2 could gain). Profiles are taken in sorted order, not
    directory order, so the columns are the same on every file system."""
    directory = Path(PROFILES_DIRECTORY)
    names = profile_names()
    row: dict[str, int] = {}
    slot = row.setdefault
    columns = []
    expected: list[float] = []
    for name in names:
        profile = orjson.loads((directory / name).read_bytes())
        freq: dict[str, int] = profile["freq"]
        rows = np.fromiter((slot(gram, len(row)) for gram in freq), dtype=np.int64, count=len(freq))
        lengths = np.fromiter(map(len, freq), dtype=np.int64, count=len(freq))
        counts = np.fromiter(freq.values(), dtype=np.float64, count=len(freq))
        per_length = np.array(list(profile["n_words"][:3]) + [0] * 3, dtype=np.float64)
        scored = (lengths >= 1) & (lengths <= 3)
        probabilities = counts[scored] / per_length[lengths[scored] - 1]
        columns.append((profile["name"], rows[scored], probabilities))
        expected.append(_expected_log_probability(lengths[scored], probabilities))
    # Rounded to float32 (langdetect's precision is no finer), held in float64: any sum of
    # them in float64 is then exact, whatever its order, and a sparse product with a
    # float64 matrix needs no copy of the table (4.8M values, 38 MB, made before workers fork).
    # Written into the float64 table directly: a float32 table converted after touched 19 MB
    # more, and first touches of fresh memory are slow on virtual machines (up to 0.3 s).
    log_prob = np.full((len(row), len(columns)), np.float32(np.log(SMOOTHING)), dtype=np.float64)
    for j, (_, rows, values) in enumerate(columns):
        log_prob[rows, j] = np.log(values + SMOOTHING).astype(np.float32)
    return [lang for lang, _, _ in columns], row, log_prob, np.array(expected)


def _expected_log_probability(lengths: np.ndarray, probabilities: np.ndarray) -> float:
    """The mean log-probability per n-gram of text drawn from the profile itself: for each
    n-gram length, sum p log(p + s) over the profile's n-grams, and the mass the profile
    leaves out (its rare n-grams, which langdetect pruned) at the floor log(s); a text has
    about as many 1-, 2- and 3-grams, so the three are averaged."""
    per_length = []
    for n in (1, 2, 3):
        p = probabilities[lengths == n]
        per_length.append(float(np.dot(p, np.log(p + SMOOTHING)) + max(0.0, 1.0 - p.sum()) * LOG_SMOOTHING))
    return sum(per_length) / 3


class _NormaliseTable(dict):
    """str.translate table that fills itself with langdetect's per-character normalisation."""

    def __missing__(self, code: int) -> str:
        self[code] = value = NGram.normalize(chr(code))
        return value


_NORMALISE = _NormaliseTable()


_SPACE_RUN = re.compile(" {2,}")
_LATIN = re.compile("[A-z]")  # langdetect's own test, 'A' <= ch <= 'z', punctuation between included
# langdetect counts as "non-Latin" every character from U+0300 up, except Latin Extended Additional.
_NON_LATIN = re.compile("[\u0300-\u1dff\u1f00-\U0010ffff]")
# normalize_vi only rewrites a vowel followed by one of these combining marks.
_VI_MARK = re.compile("[" + NGram.DMARK_CLASS + "]")


def _cleaned(text: str) -> str:
    """langdetect's own preparation (Detector.append, then cleaning_text), with regexes in
    place of its per-character loops: URLs and e-mail addresses out, Vietnamese normalised,
    runs of spaces collapsed, Latin dropped from text that is mostly another script.
    Tested equal to langdetect's on real paragraphs."""
    if "@" in text or "://" in text:
        text = Detector.URL_RE.sub(" ", text)
        text = Detector.MAIL_RE.sub(" ", text)
    if text.isascii():
        # No combining marks to normalise and no other script to prefer over Latin.
        return _SPACE_RUN.sub(" ", text[:10_000])
    if _VI_MARK.search(text):
        text = NGram.normalize_vi(text)
    text = _SPACE_RUN.sub(" ", text[:10_000])
    # Count non-Latin first: Latin-script text has none, and counting its Latin letters
    # (a list of every one) cost more than the rest of the cleaning.
    non_latin = len(_NON_LATIN.findall(text))
    if non_latin and 2 * len(_LATIN.findall(text)) < non_latin:
        text = _LATIN.sub("", text)
    return text


# A word of the normalised text and the space after it, if one follows: normalisation
# leaves " " as the only separator.
_WORD_KEY = re.compile("[^ ]+ ?")


def word_keys(text: str) -> list[str]:
    """The text's words as the word table knows them: each normalised word with the space
    that follows it, if one does, since a word followed by a space also yields its trailing
    n-grams. (One findall: splitting and pairing each word with a flag in Python was a
    fifth of the stage.)"""
    return _WORD_KEY.findall(_cleaned(text).translate(_NORMALISE))


def _summed_rows_gathered(log_prob: np.ndarray, rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """`LanguageModel._summed_rows` in numpy: every n-gram's row gathered, then summed per
    word in its listed order (the reference for the sparse product)."""
    out = np.zeros((len(counts), log_prob.shape[1]), dtype=np.float64)
    has_evidence = counts > 0
    starts = (np.cumsum(counts) - counts)[has_evidence]
    out[has_evidence] = np.add.reduceat(log_prob[rows], starts, axis=0)
    return out


def _summed_rows_sparse(log_prob: np.ndarray, rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """`LanguageModel._summed_rows` as one product of a word-by-n-gram matrix of ones (CSR)
    with the log-probabilities."""
    return _sparse_product(log_prob, rows, np.concatenate([[0], np.cumsum(counts)]))


def _sparse_product(table: np.ndarray, rows: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Per group, the sum of the rows of ``table`` it lists (group g: ``rows[bounds[g]:
    bounds[g + 1]]``), as a matrix of ones (CSR, scipy, imported here: a small run never
    needs it) times the table. scipy adds each group's rows to zero one after another,
    in their order."""
    from scipy.sparse import csr_matrix

    groups = csr_matrix((np.ones(len(rows)), rows, bounds), shape=(len(bounds) - 1, len(table)))
    return np.asarray(groups @ table)


def _word_grams(key: str) -> list[str]:
    """langdetect's n-grams of one normalised word (a `word_keys` key: the word, and the
    space after it if one follows): every 1-, 2- and 3-gram of " word " (the closing space
    only if one follows) that ends on a character, except where that character and the
    one before it are both upper case (inside an acronym).

    Listed unigrams first, then bigrams, then trigrams, not position by position as
    langdetect does: a word's evidence is their sum, and a float64 sum of these float32
    log-probabilities is exact (they span fewer than 53 bits), so order cannot change it."""
    padded = " " + key
    word = key[:-1] if key.endswith(" ") else key
    if not word.islower() and sum(map(str.isupper, word)) >= 2:
        return _word_grams_with_capitals(padded)
    # Built with C-level loops (str concatenation mapped over shifted copies): this runs
    # for every word not seen before, ~50k words per 20 MB, in every worker.
    bigrams = list(map(add, padded[:-1], padded[1:]))
    grams = list(word)  # the unigrams: never the spaces around the word
    grams += bigrams
    grams += map(add, bigrams[:-1], padded[2:])
    return grams


def _word_grams_with_capitals(padded: str) -> list[str]:
    grams = []
    for i in range(1, len(padded)):
        if padded[i].isupper() and padded[i - 1].isupper():
            continue
        for n in (1, 2, 3):
            if n > i + 1:
                break
            gram = padded[i - n + 1:i + 1]
            if gram != " ":
                grams.append(gram)
    return grams


def _letters(text: str) -> int:
    return sum(map(str.isalpha, text))


_model: LanguageModel | None = None


def model() -> LanguageModel:
    global _model
    if _model is None:
        _model = LanguageModel()
    return _model


def detect(text: str, min_letters: int = MIN_LETTERS_PARAGRAPH,
           sample_chars: int = PARAGRAPH_SAMPLE_CHARS) -> tuple[str, float]:
    """(language code, calibrated confidence), or ("und", 0.0) when the text is too short
    to tell or fits no profile well enough."""
    sample = text[:sample_chars]
    if _letters(sample) < min_letters:
        return UNDETERMINED, 0.0
    m = model()
    row = m.row_of(word_keys(sample))
    if row is None:
        return UNDETERMINED, 0.0
    top, confidence = m.judge(row[None, :])
    return _label_of(m, int(top[0]), float(confidence[0]))


def _label_of(m: LanguageModel, top: int, confidence: float, share: float = 1.0) -> tuple[str, float]:
    if confidence < calibration.UND_BELOW:
        return UNDETERMINED, 0.0
    return m.codes[top], round(confidence * share, 4)


def calibrated(fit: np.ndarray, margin: np.ndarray, grams: np.ndarray) -> np.ndarray:
    """The probability that the winning label is right, a logistic function of the
    evidence's features (LanguageModel.features), fitted by bench/language.py."""
    b0, b_fit, b_margin, b_grams = calibration.CALIBRATION
    z = b0 + b_fit * fit + b_margin * margin + b_grams * np.log(grams)
    return 1.0 / (1.0 + np.exp(-z))


# Lines whose samples, word keys and evidence are worked out at once, and rows judged at
# once: their word keys (~0.6 kB a line), gathered word rows and the judging's temporaries
# (~0.5 kB a row) stay this many lines' worth however long the page. All of a page of a
# million short lines at once took 2-3 kB a line (a document's lines are one batch).
LINES_AT_ONCE = 1 << 14


def evidence_rows(docs: list[Document]) -> tuple[np.ndarray, list[list[tuple[int, int, int]]], list[list[int]],
                                                 list[int]]:
    """The `row_of` evidence of every scored line of the documents, as one matrix, and per
    document: its lines' (line index, letters, row or -1), the rows its label sums (up to
    DOCUMENT_SAMPLE_CHARS) and their letters. The new words of LINES_AT_ONCE lines are
    learnt at once (a word's row is the word's alone, so how lines are grouped changes no
    bit of any row)."""
    m = model()
    lines = [line for doc in docs for line in doc.lines]
    # Room for every line's row; only the rows written are ever touched (a large block is
    # mapped fresh, and its untouched pages take no memory).
    rows = np.empty((len(lines), len(m.languages) + 2))
    used = 0
    found: list[tuple[int, int, int, int]] = []  # per line: (line index, letters, characters, row or -1)
    for first in range(0, len(lines), LINES_AT_ONCE):
        samples = _samples(lines[first:first + LINES_AT_ONCE])
        candidates = _summed_samples(m, samples)
        valid = candidates[:, -1] > 0  # a line with no n-gram in any profile has no evidence
        rows[used:used + int(valid.sum())] = candidates[valid]
        flags = iter(valid.tolist())
        for line_index, n_letters, n_chars, line_keys in samples:
            at = -1
            if n_letters and line_keys and next(flags):
                at, used = used, used + 1
            found.append((line_index, n_letters, n_chars, at))
        del samples, candidates  # this chunk's word keys and sums, before the next chunk's
    scored: list[list[tuple[int, int, int]]] = []
    summed: list[list[int]] = []
    summed_letters: list[int] = []
    bounds = list(accumulate((len(doc.lines) for doc in docs), initial=0))
    for begin, end in pairwise(bounds):
        doc_lines, total = [], []
        budget = DOCUMENT_SAMPLE_CHARS
        letters = 0
        for line_index, n_letters, n_chars, at in found[begin:end]:
            doc_lines.append((line_index, n_letters, at))
            if at >= 0 and budget > 0:
                total.append(at)
                budget -= n_chars
                letters += n_letters
        scored.append(doc_lines)
        summed.append(total)
        summed_letters.append(letters)
    return rows[:used], scored, summed, summed_letters


def _summed_samples(m: LanguageModel, samples: list[tuple[int, int, int, list[str]]]) -> np.ndarray:
    """The `row_of` evidence (or a row ending in 0: no n-gram a profile has) of each of the
    samples with letters and words, in their order; their words' rows summed in one numpy
    call (a call per line cost more than the rest of the stage; a line's sum is the same
    either way)."""
    keys: list[str] = []
    starts: list[int] = []
    for _, n_letters, _, line_keys in samples:
        if n_letters and line_keys:
            starts.append(len(keys))
            keys.extend(line_keys)
    width = len(m.languages) + 2
    if not starts:
        return np.zeros((0, width))
    ids = m.ids_of(keys)
    if ids is not None:
        return m.summed_lines(ids, starts)
    # The lines' words do not fit in the table: one line at a time.
    sums = np.empty((len(starts), width))
    for k, (start, end) in enumerate(zip(starts, [*starts[1:], len(keys)], strict=True)):
        line_ids = m.ids_of(keys[start:end])
        assert line_ids is not None  # a line's sample is at most PARAGRAPH_SAMPLE_CHARS
        sums[k] = np.add.reduceat(m._vectors[line_ids], [0], axis=0)[0]
    return sums


def detect_languages(docs: list[Document]) -> None:
    """Label each document and each of its kept lines; a line's label is kept only where
    it differs from its document's. All the lines' and documents' evidence is judged at once."""
    m = model()
    rows, scored, summed, summed_letters = evidence_rows(docs)
    line_top, line_confidence = m.judge(rows)
    line_tops, line_confidences = line_top.tolist(), line_confidence.tolist()
    del line_top, line_confidence
    codes = m.codes
    doc_top, doc_confidence = m.judge(_main_parts(rows, summed, line_tops, codes))
    del rows
    doc_tops, doc_confidences = iter(doc_top.tolist()), iter(doc_confidence.tolist())
    for doc, lines, positions, letters in zip(docs, scored, summed, summed_letters, strict=True):
        if not positions:
            doc.language, doc.language_score = UNDETERMINED, 0.0
        else:
            top, confidence = next(doc_tops), next(doc_confidences)
            if letters < MIN_LETTERS_DOCUMENT:
                doc.language, doc.language_score = UNDETERMINED, 0.0
            else:
                doc.language, doc.language_score = _label_of(m, top, confidence, _share(lines, line_tops, codes, top))
        # Only the lines labelled otherwise than their document are kept (a dict of every
        # line's label first cost ~150 bytes a line).
        differing: dict[int, tuple[str, float]] = {}
        for index, n_letters, at in lines:
            if at < 0 or n_letters < MIN_LETTERS_PARAGRAPH:
                label = (UNDETERMINED, 0.0)
            else:
                label = _label_of(m, line_tops[at], line_confidences[at])
            if label[0] != doc.language:
                differing[index] = label
        doc.line_languages = differing


def _main_parts(rows: np.ndarray, summed: list[list[int]], line_tops: list[int], codes: list[str]) -> np.ndarray:
    """Per document with evidence, the summed evidence of its lines (up to
    DOCUMENT_SAMPLE_CHARS) whose own best code is the document's: the confidence is that of
    the document's main language on its own part, and `_share` then weighs in the rest.
    Judged on the whole, a mixture fits no profile and would be "und" despite a clear
    main language."""
    totals = [rows[positions].sum(axis=0) for positions in summed if positions]
    if not totals:
        return np.zeros((0, rows.shape[1]))
    n_languages = rows.shape[1] - 2
    parts = []
    for total, positions in zip(totals, (p for p in summed if p), strict=True):
        code = codes[int(total[:n_languages].argmax())]
        main = [at for at in positions if codes[line_tops[at]] == code]
        parts.append(total if len(main) in (0, len(positions)) else rows[main].sum(axis=0))
    return np.array(parts)


def _share(lines: list[tuple[int, int, int]], line_tops: list[int], codes: list[str], top: int) -> float:
    """The share of the document's letters, over its lines long enough to judge alone, in
    lines whose own best code is the document's: 1.0 for one language, 0.67 for a text
    with a third of its lines in another (1.0 when no line is long enough)."""
    code = codes[top]
    judged = agreeing = 0
    for _, n_letters, at in lines:
        if at >= 0 and n_letters >= MIN_LETTERS_PARAGRAPH:
            judged += n_letters
            if codes[line_tops[at]] == code:
                agreeing += n_letters
    return agreeing / judged if judged else 1.0


def _sample(line: Line) -> tuple[int, int, int, list[str]]:
    """(line index, letters, characters, word keys) of the part of a line that is scored
    (the reference for `_samples`)."""
    sample = line.text[:PARAGRAPH_SAMPLE_CHARS]
    n_letters = _letters(sample)
    return line.index, n_letters, len(sample), word_keys(sample) if n_letters else []


def _samples(lines: list[Line]) -> list[tuple[int, int, int, list[str]]]:
    """`_sample` of each line, with the letters counted and the characters normalised for
    all the lines at once, in numpy: line by line, ``str.isalpha`` mapped over each
    character and ``str.translate`` with langdetect's per-character table cost 0.55 s of
    the language stage's ~2.5 s on the 20 MB benchmark corpus."""
    texts = [line.text[:PARAGRAPH_SAMPLE_CHARS] for line in lines]
    letters = _letter_counts(texts)
    cleaned = [_cleaned(text) if n else "" for text, n in zip(texts, letters, strict=True)]
    normalised = _normalised_each(cleaned)
    return [(line.index, n, len(text), _WORD_KEY.findall(norm) if n else [])
            for line, n, text, norm in zip(lines, letters, texts, normalised, strict=True)]


# str.isalpha of every BMP code point, made on first use (65,536 calls, ~5 ms); above the
# BMP, each code point's answer, kept.
_alpha_bmp: np.ndarray | None = None


@cache
def _is_alpha_above_bmp(code: int) -> bool:
    return chr(code).isalpha()


def _letter_counts(texts: list[str]) -> list[int]:
    """`_letters` of each text."""
    global _alpha_bmp
    if _alpha_bmp is None:
        _alpha_bmp = np.fromiter((chr(code).isalpha() for code in range(0x10000)), dtype=bool, count=0x10000)
    codes, starts = code_points(texts)
    running = np.concatenate([[0], np.cumsum(look_up(_alpha_bmp, codes, _is_alpha_above_bmp), dtype=np.int64)])
    bounds = np.array(starts, dtype=np.int64)
    return (running[bounds[1:]] - running[bounds[:-1]]).tolist()


# langdetect's normalisation of each BMP code point (always one character: a code point
# for a code point), filled from _NORMALISE as code points are met; above the BMP, _NORMALISE.
_normalised_bmp = np.arange(0x10000, dtype=np.uint32)
_normalised_known = np.zeros(0x10000, dtype=bool)


def _normalised_each(texts: list[str]) -> list[str]:
    """``text.translate(_NORMALISE)`` of each text, as one lookup of all their code points."""
    codes, starts = code_points(texts)
    in_bmp = codes[codes <= BMP_LAST]
    new = distinct(in_bmp[~_normalised_known[in_bmp]]).tolist()
    for code in new:
        _normalised_bmp[code] = ord(_NORMALISE[code])
    _normalised_known[new] = True
    mapped = look_up(_normalised_bmp, codes, lambda code: ord(_NORMALISE[code]))
    joined = mapped.tobytes().decode("utf-32-le", "surrogatepass")
    return [joined[start:end] for start, end in pairwise(starts)]


# --language-model: langdetect's profiles with curate's calibration (the default), or
# py3langid's model (an extra; curate/stages/language_py3langid.py).
LANGUAGE_MODELS = ("langdetect", "py3langid")


@dataclass
class LabelLanguages(Stage):
    """The language of each document and of each kept line that differs from it."""

    name: ClassVar[str] = "language"
    language_model: str = "langdetect"

    @classmethod
    def from_config(cls, cfg: RunConfig) -> LabelLanguages:
        return cls(cfg.language_model)

    def fingerprint(self) -> object:
        # The calibration decides labels and scores as much as a setting would: a resumed
        # run must not mix shards labelled under two of them.
        if self.language_model == "py3langid":
            from curate.stages import language_py3langid as other

            own: dict[str, object] = {"und_below": other.UND_BELOW, "version": _version("py3langid")}
        else:
            own = {"calibration": [list(calibration.CALIBRATION), calibration.UND_BELOW,
                                   sorted(calibration.FIT_OFFSET.items())]}
        return {"stage": super().fingerprint(), **own}

    def setup(self) -> None:
        if self.language_model == "py3langid":
            from curate.stages.language_py3langid import identifier

            identifier()  # fails here, before any output, if py3langid is not installed
        else:
            model()  # ~0.2 s and 40 MB: built once per process (forked workers share the parent's)

    def __call__(self, batch: Batch) -> Batch:
        if self.language_model == "py3langid":
            from curate.stages.language_py3langid import detect_languages as other_model

            other_model(batch.documents())
        else:
            detect_languages(batch.documents())  # a batch's new words are learnt in one pass
        return batch


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"
