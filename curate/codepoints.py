"""Tables over code points, asked of many texts at once in numpy.

Stages that classify or map every character of a batch (its letters, langdetect's
normalisation, the line model's word characters) do it as one lookup of the batch's code
points in a table of the BMP; the rare code point above it (emoji, mathematical letters,
rare CJK) is asked of a Python function once per distinct code point, not once per
occurrence: a line of emoji is hundreds of them, mostly the same few.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import accumulate

import numpy as np

BMP_LAST = 0xFFFF


def code_points(texts: list[str]) -> tuple[np.ndarray, list[int]]:
    """The texts' code points, one after another, and where each text starts (its last
    entry: the end). Lone surrogates stay code points, as str keeps them."""
    codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return codes, list(accumulate(map(len, texts), initial=0))


def look_up(bmp: np.ndarray, codes: np.ndarray, above: Callable[[int], object]) -> np.ndarray:
    """``bmp[code]`` for each code point of the BMP, ``above(code)`` for the others (asked
    once per distinct one), as a new array of ``bmp``'s type."""
    found = bmp[np.minimum(codes, BMP_LAST)]
    where = np.flatnonzero(codes > BMP_LAST)
    if len(where):
        distinct, inverse = np.unique(codes[where], return_inverse=True)
        found[where] = np.array([above(int(code)) for code in distinct.tolist()], dtype=found.dtype)[inverse]
    return found
