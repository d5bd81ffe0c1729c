"""A toy sink: the corpus as plain text, what a tokenizer trainer reads. Each shard
(``corpus/part-00000.txt``, ...) holds the kept text of its chunk's documents, each
followed by a blank line. Registered with ``curate.formats.register_sink(TextSink())``."""

from __future__ import annotations

from pathlib import Path


class TextPart:
    """One chunk's shard. Nothing is written before the first document, so a chunk that
    keeps none leaves 0 bytes, and the commit makes no shard of it."""

    def __init__(self, path: Path):
        self._file = open(path, "wb")  # noqa: SIM115 - open across calls, until close

    def write(self, record: dict) -> None:
        self._file.write(record["text"].encode("utf-8") + b"\n\n")

    def close(self) -> None:
        self._file.close()


class TextSink:
    name = "text"
    suffix = ".txt"

    def open(self, path: Path) -> TextPart:
        return TextPart(path)
