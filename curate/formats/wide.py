"""UTF-16 and UTF-32 text with a byte order mark, read as UTF-8 as it streams.

Windows PowerShell 5 writes UTF-16 LE with a mark (``>``, ``Out-File``), and so do other
Windows tools; a reader of UTF-8 (JSON Lines) sees NUL bytes and a newline byte inside
other characters. The stream is decoded a chunk at a time (``codecs``' incremental
decoder, which holds back a unit cut by the chunk's end) and handed on as UTF-8, in
bounded memory: every line break stays a line break, so lines keep their numbers.
Bytes that are not valid in the encoding raise ``InvalidWide`` where they are, after the
text before them."""

from __future__ import annotations

import codecs
import io
from typing import Any, BinaryIO, cast

from curate.formats.compressed import UpToAFault

CHUNK = 1 << 20  # bytes of the stream decoded at a time

# UTF-32 LE's mark starts with UTF-16 LE's: asked first.
_MARKS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
          (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))

# What to do with a file that is not valid in its encoding (the .txt and CSV readers say it too).
CONVERT = "convert the file to UTF-8 (e.g. iconv -f {encoding} -t utf-8)"


def wide_encoding(head: bytes) -> str | None:
    """The encoding (Python's codec name) of a stream that starts with ``head`` (its first
    4 bytes or more) if it starts with a UTF-16 or UTF-32 byte order mark, else None."""
    return next((name for mark, name in _MARKS if head.startswith(mark)), None)


class InvalidWide(ValueError):
    """The stream holds bytes that are not valid in its encoding (a lone surrogate, a unit
    cut off at the end)."""

    def __init__(self, message: str, encoding: str):
        super().__init__(message)
        self.encoding = encoding


def as_utf8(stream: BinaryIO, encoding: str) -> BinaryIO:
    """The stream (which starts with the byte order mark of ``encoding``) read as UTF-8,
    the mark dropped, with the ``readline`` and ``read1`` of a buffered reader."""
    return cast(BinaryIO, io.BufferedReader(_Transcoded(stream, encoding), CHUNK))


class _Transcoded(io.RawIOBase):
    def __init__(self, stream: BinaryIO, encoding: str):
        # UpToAFault: a compressed stream cut off still gives the text before the cut.
        self.stream = UpToAFault(stream)
        self.encoding = encoding
        self.decoder = codecs.getincrementaldecoder(encoding)()  # strict: an error is raised, never replaced
        self.skip = 4 if encoding.startswith("utf-32") else 2  # the mark's bytes, not yet read
        self.fed = 0  # bytes of the stream given to the decoder so far, the mark included
        self.pending = memoryview(b"")  # UTF-8 not yet handed on
        self.fault: InvalidWide | None = None
        self.ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # any writable buffer
        while not self.pending:
            if self.fault is not None:
                raise self.fault
            if self.ended:
                return 0
            chunk = self.stream.read(CHUNK)
            if self.skip:
                mark, chunk = chunk[:self.skip], chunk[self.skip:]
                self.skip -= len(mark)
                self.fed += len(mark)
                if self.skip or not chunk:
                    self.ended = not mark and not chunk
                    continue
            self.ended = not chunk
            self.pending = memoryview(self._decode(chunk))
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size

    def _decode(self, chunk: bytes) -> bytes:
        """``chunk`` as UTF-8 (at the stream's end, b""); up to a fault, which the next read raises."""
        text, fault = decode_up_to_a_fault(self.decoder, chunk, self.fed)
        if fault is not None:
            self.fault = InvalidWide(fault, self.encoding)
        self.fed += len(chunk)
        return text


def decode_up_to_a_fault(decoder: Any, chunk: bytes, fed: int) -> tuple[bytes, str | None]:
    """``chunk`` (b"" at the stream's end) through an incremental ``decoder`` that has been
    fed ``fed`` bytes of the stream, as UTF-8: all of it, or the text before a fault and
    the fault in words ("invalid UTF-16-LE (illegal encoding at byte 1,234)"). The .txt
    and CSV readers' UTF-16 and this module's streams say a fault alike."""
    held = len(decoder.getstate()[0])  # bytes of the last chunk the decoder held back
    try:
        return decoder.decode(chunk, final=not chunk).encode("utf-8"), None
    except UnicodeDecodeError as err:
        # err.start counts from the held-back bytes; the decoder's state is as it was.
        at = fed - held + err.start
        text = decoder.decode(chunk[:max(0, err.start - held)])
        return text.encode("utf-8"), f"invalid {err.encoding.upper()} ({err.reason} at byte {at:,})"
