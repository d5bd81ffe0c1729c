"""A toy reader: ``.para`` files, where each paragraph (lines up to a blank line) is one
document. A paragraph's payload is its text (a str), so by the payload contract its
lines all carry the paragraph's first line number and their spans index the UTF-8 of
the paragraph (``"bytes_of": "text_field"``). Registered with
``curate.formats.register_reader(ParagraphReader())``."""

from __future__ import annotations

import re
from collections.abc import Iterator

from curate.discover import InputFile
from curate.document import Problem, RawDocument
from curate.formats import ReadOptions
from curate.formats.base import NotRegularFile, open_regular, unreadable_problem

_BLANK_LINES = re.compile(rb"(?:\r?\n[ \t]*){2,}")


class ParagraphReader:
    name = "para"
    suffixes: tuple[str, ...] = (".para",)
    compressed = False

    def read(self, file: InputFile, options: ReadOptions) -> Iterator[RawDocument | Problem]:
        try:
            with open_regular(file.path) as f:
                data = f.read(options.max_doc_bytes + 1)
        except (NotRegularFile, OSError) as err:  # a FIFO or device, or a disk error
            yield unreadable_problem(file.source, err)
            return
        line, start = 1, 0
        for gap in [*_BLANK_LINES.finditer(data), None]:
            end = len(data) if gap is None else gap.start()
            raw = data[start:end]
            if raw.strip():
                yield RawDocument(id=f"{file.source}#{line}", source=file.source, record_line=line,
                                  payload=raw.decode("utf-8", "replace"), size=len(raw))
            if gap is not None:
                line += data.count(b"\n", start, gap.end())
                start = gap.end()
