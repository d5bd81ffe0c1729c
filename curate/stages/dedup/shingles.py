"""Where the word shingles of a batch of lines are, as byte spans of one UTF-8 buffer.

A shingle is ``shingle_words`` consecutive words (``\\w+`` runs of the lowercased line)
joined by one space, and MinHash hashes its UTF-8 bytes. Cutting them one line at a
time in Python (a regex per line, a string per word) cost more than the MinHash itself,
so the whole batch is lowercased once, classified character by character with lookup
tables in numpy, and rewritten into one buffer in which every word is followed by one
space: a shingle is then a slice of that buffer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import xxhash

from curate.distinct import distinct

# Scripts written without spaces between words: word shingles would make one
# shingle of a whole paragraph, so these lines are shingled by characters.
UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
)
UNSPACED_SHARE = 0.3


# ASCII is classified by bytes.translate, which runs at memory speed: word bytes and line
# ends stay, the rest become spaces (bytes >= 0x80 are left to the code-point tables).
_ASCII_TO_SPACE = bytes(c if (chr(c).isalnum() or c in (10, 95) or c >= 128) else 32 for c in range(256))
SPACE, NEWLINE = 32, 10


@dataclass
class WordShingles:
    buffer: bytes  # every word of the batch, lowercased, each followed by one space, UTF-8
    starts: np.ndarray  # byte offset in ``buffer`` of each shingle, lines in order
    ends: np.ndarray  # end offset (exclusive) of each shingle
    counts: list[int | None]  # shingles per line; None: too few words
    unspaced: list[int]  # lines of unspaced scripts, to be shingled by characters instead


def word_shingles(texts: list[str], shingle_words: int, min_words: int) -> WordShingles:
    # One string for the batch, lines ended by "\n" (which cannot be inside a word).
    joined = "\n".join(t.replace("\n", " ") if "\n" in t else t for t in texts).lower() + "\n"
    data, unspaced_lines = _words_as_utf8(joined)
    raw = np.frombuffer(data, dtype=np.uint8)
    is_word = (raw != SPACE) & (raw != NEWLINE)
    # Keep word bytes and the one separator after each word (the data ends with "\n").
    follows_word = np.empty_like(is_word)
    follows_word[0] = False
    follows_word[1:] = is_word[:-1]
    kept = raw[is_word | follows_word]
    # Word ends in the compacted buffer, and each word's line, counted in the original.
    ends = np.flatnonzero((kept == SPACE) | (kept == NEWLINE))
    starts = np.empty_like(ends)
    if len(ends):
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    line_ends = np.flatnonzero(raw == NEWLINE)
    word_starts_raw = np.flatnonzero(is_word & ~follows_word)
    words_per_line = np.bincount(np.searchsorted(line_ends, word_starts_raw), minlength=len(texts))[:len(texts)]
    buffer = kept.tobytes()

    signed = words_per_line >= max(1, min_words)
    if unspaced_lines:
        signed[unspaced_lines] = False
    words = np.where(signed, words_per_line, 0)
    span = np.minimum(words, shingle_words)  # a line shorter than a shingle is one shingle
    per_line = np.where(signed, words - span + 1, 0)
    total = int(per_line.sum())
    first_word = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(words_per_line[:-1], out=first_word[1:])
    first_shingle = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(per_line[:-1], out=first_shingle[1:])
    start_word = np.arange(total) + np.repeat(first_word - first_shingle, per_line)
    last_word = start_word + np.repeat(span - 1, per_line)
    counts = [int(c) if ok else None for c, ok in zip(per_line.tolist(), signed.tolist(), strict=True)]
    return WordShingles(buffer, starts[start_word], ends[last_word], counts, unspaced_lines)


def is_unspaced(lowered: str) -> bool:
    """Is this line written in an unspaced script: are characters of such scripts at least
    UNSPACED_SHARE of its letters? (The one definition; both shingle paths ask it.)"""
    if lowered.isascii():
        return False
    hits = len(UNSPACED.findall(lowered))
    return bool(hits) and hits >= UNSPACED_SHARE * sum(map(str.isalpha, lowered))


def _words_as_utf8(joined: str) -> tuple[bytes, list[int]]:
    """The batch as UTF-8 in which every byte is a word byte, a space or a line end, and
    the lines for which ``is_unspaced`` holds.

    Characters beyond ASCII are classified through tables over the Basic Multilingual
    Plane, one numpy gather per batch: the two regex scans this replaced (for non-word
    characters and for unspaced scripts) cost a tenth of `curate dedup`."""
    if joined.isascii():
        return joined.encode("ascii").translate(_ASCII_TO_SPACE), []
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    kinds = _bmp_kinds()[np.minimum(codes, 0xFFFF)]
    non_word = (codes >= 128) & ((kinds & _WORD_CHAR) == 0)
    beyond = np.flatnonzero(codes > 0xFFFF)
    if len(beyond):  # rare (emoji, historic scripts): asked one by one
        non_word[beyond] = [_WORD.match(chr(c)) is None for c in codes[beyond].tolist()]
    words = joined
    if non_word.any():
        words = np.where(non_word, np.uint32(SPACE), codes).astype("<u4").tobytes().decode("utf-32-le")
    data = words.encode("utf-8").translate(_ASCII_TO_SPACE)
    hits = np.flatnonzero(kinds & _UNSPACED_CHAR)  # every unspaced script lies in the BMP
    if not len(hits):
        return data, []
    line_ends = np.flatnonzero(codes == NEWLINE)
    found = []
    for line_no in distinct(np.searchsorted(line_ends, hits)).tolist():
        start = int(line_ends[line_no - 1]) + 1 if line_no else 0
        if is_unspaced(joined[start:int(line_ends[line_no])]):
            found.append(line_no)
    return data, found


_WORD = re.compile(r"\w")
_WORD_CHAR, _UNSPACED_CHAR = 1, 2  # flags in _bmp_kinds


@lru_cache(maxsize=1)
def _bmp_kinds() -> np.ndarray:
    """For every code point of the BMP, flags: a regex word character (\\w), a character
    of an unspaced script (UNSPACED). Built from the regexes themselves, so they agree."""
    plane = "".join(map(chr, range(0xD800))) + "\0" * 0x800 + "".join(map(chr, range(0xE000, 0x10000)))
    kinds = np.zeros(0x10000, dtype=np.uint8)
    kinds[[m.start() for m in _WORD.finditer(plane)]] |= _WORD_CHAR  # surrogates stand in as "\0": not \w
    kinds[[m.start() for m in UNSPACED.finditer(plane)]] |= _UNSPACED_CHAR
    return kinds


# xxHash32 (seed 0), as specified in xxHash's doc/xxhash_spec.md, for many slices at once.
_P1, _P2, _P3, _P4, _P5 = (np.uint32(p) for p in (0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1))


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


# Slices longer than this are hashed by xxhash itself, one call each: the numpy rounds below
# take one pass of the interpreter per 16 bytes of the longest slice (about 25 us each), so
# a shingle holding one 320 kB "word" cost 0.5 s, and one of 8 MB (a line within
# --max-line-bytes) would have cost seconds; word shingles this long are rare in text.
LONG_SLICE = 1024
# Slices hashed at once (shingles: ~7 a short line).
SLICES_AT_ONCE = 1 << 16


def xxh32_slices(buffer: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``xxhash.xxh32_intdigest(buffer[s:e])`` for every (s, e), as uint32, computed in numpy
    (a test checks it against xxhash). Calling xxhash once per shingle cost ~0.4 us each in
    the interpreter; here every step of the algorithm is one array operation over all
    slices still long enough for it, so the cost is per batch, not per shingle."""
    long = np.flatnonzero(ends - starts > LONG_SLICE)
    if len(long):
        hashes = np.empty(len(starts), dtype=np.uint32)
        hashes[long] = [xxhash.xxh32_intdigest(buffer[s:e]) for s, e in zip(starts[long].tolist(),
                                                                             ends[long].tolist(), strict=True)]
        short = np.flatnonzero(ends - starts <= LONG_SLICE)
        hashes[short] = xxh32_slices(buffer, starts[short], ends[short])
        return hashes
    if len(starts) > SLICES_AT_ONCE:
        # A bounded number of slices at a time: the arrays below take ~17 bytes a byte of
        # the buffer and ~80 a slice, ~1.4 kB a line for a page of a million short lines
        # all at once. A slice's hash is its own bytes', so no hash changes.
        hashes = np.empty(len(starts), dtype=np.uint32)
        for first in range(0, len(starts), SLICES_AT_ONCE):
            part = slice(first, first + SLICES_AT_ONCE)
            low, high = int(starts[part].min()), int(ends[part].max())
            hashes[part] = xxh32_slices(buffer[low:high], starts[part] - low, ends[part] - low)
        return hashes
    size = len(buffer)
    padded = np.frombuffer(buffer + b"\0\0\0\0", dtype=np.uint8).astype(np.uint32)
    # The little-endian 32-bit word starting at every byte offset.
    word = padded[:size + 1] | (padded[1:size + 2] << 8) | (padded[2:size + 3] << 16) | (padded[3:size + 4] << 24)
    starts = starts.astype(np.int64)
    length = ends.astype(np.int64) - starts
    stripes = length // 16
    with np.errstate(over="ignore"):
        h = np.full(len(starts), _P5, dtype=np.uint32)
        # Slices with more stripes first, so the slices still striping in round k are a
        # prefix: views instead of gathers and scatters.
        order = np.argsort(-stripes, kind="stable")
        n_stripes = stripes[order]
        striping = int(np.count_nonzero(n_stripes))
        if striping:
            base = starts[order[:striping]]
            lanes = [np.full(striping, v, dtype=np.uint32) for v in (_P1 + _P2, _P2, np.uint32(0), np.uint32(0) - _P1)]
            # How many slices have more than k stripes, for every k.
            still = np.searchsorted(-n_stripes[:striping], -np.arange(1, int(n_stripes[0]) + 1), side="right")
            for k, count in enumerate(still.tolist()):
                offset = base[:count] + 16 * k
                for lane, acc in enumerate(lanes):
                    head = acc[:count]
                    head += word[offset + 4 * lane] * _P2
                    head[:] = _rotl(head, 13) * _P1
            merged = _rotl(lanes[0], 1) + _rotl(lanes[1], 7) + _rotl(lanes[2], 12) + _rotl(lanes[3], 18)
            h[order[:striping]] = merged
        h += length.astype(np.uint32)
        at = starts + 16 * stripes
        remaining = length - 16 * stripes
        for step, count in ((4, remaining // 4), (1, remaining % 4)):
            for j in range(3):
                todo = np.flatnonzero(count > j)
                if not len(todo):
                    break
                if step == 4:
                    h[todo] = _rotl(h[todo] + word[at[todo]] * _P3, 17) * _P4
                else:
                    h[todo] = _rotl(h[todo] + padded[at[todo]] * _P5, 11) * _P1
                at[todo] += step
        h ^= h >> np.uint32(15)
        h *= _P2
        h ^= h >> np.uint32(13)
        h *= _P3
        h ^= h >> np.uint32(16)
    return h
