from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


def test_look_up_answers_each_code_point_as_asking_it_alone_would():
    """The BMP from the table, the rest from the function, asked once per distinct code
    point however often it comes; starts mark each text's place, empty texts included."""
    import numpy as np

    from curate.codepoints import code_points, look_up

    texts = ["ab\U0001f600\U0001f600", "", "\U0001d400 \ud800x", "\U0001f600" * 50, "ü"]
    codes, starts = code_points(texts)
    assert starts == [0, 4, 4, 8, 58, 59]
    assert codes.tolist() == [ord(ch) for ch in "".join(texts)]
    asked: list[int] = []

    def above(code: int) -> bool:
        asked.append(code)
        return chr(code).isalpha()

    table = np.array([chr(code).isalpha() for code in range(0x10000)])
    found = look_up(table, codes, above)
    assert found.tolist() == [ch.isalpha() for ch in "".join(texts)]
    assert sorted(asked) == sorted({0x1F600, 0x1D400})
    assert look_up(table, codes[:0], above).tolist() == []
