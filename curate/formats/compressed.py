"""Compressed input streams, told by the file name's last suffix: any reader that reads
a stream (``Reader.compressed``) sits on these, so ``.jsonl.gz`` is the JSONL reader on
a gzip stream. A new compression is one entry in ``COMPRESSIONS``.

Every decompressor here raises when the data ends inside a compressed block or frame
(a truncated download), so a reader can say so instead of losing the end silently, and
each returns at most what was asked per read, so a bomb is read in bounded memory."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO, cast

from curate.errors import machine_limit
from curate.formats.base import open_input
from curate.storage import Location, base_name

# The largest zstd window decoded: zstd's own default limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT,
# 2**27), which `zstd --long` (27) stays within. A window is memory held for the whole
# frame, in every worker reading one: a file made with --long=28 or more is refused, said
# as what it is, not as corrupt data.
MAX_ZSTD_WINDOW = 1 << 27
WINDOW_TOO_LARGE = "needs a zstd decoding window of"


class ZstdFrames(io.RawIOBase):
    """A zstd stream, every frame of it, that says when its last frame is cut off.

    python-zstandard's stream_reader returns what it has and no error when the input ends
    inside a frame (a truncated download would lose its last records silently), so frames
    are decoded here with one decompressor each, fed a few hundred bytes at a time: zstd
    can expand a byte about 32,000 times, and this bounds what one call can produce."""

    FEED = 512

    def __init__(self, raw: BinaryIO):
        import zstandard

        self._raw = raw
        self._dctx = zstandard.ZstdDecompressor()
        self._frame: zstandard.ZstdDecompressionObj | None = None  # the decompressor of the frame being read
        self._input = b""
        self._at = 0
        self._output = b""
        self._out_at = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._out_at >= len(self._output):
            if not self._decode_more():
                return 0
        n = min(len(buffer), len(self._output) - self._out_at)
        buffer[:n] = self._output[self._out_at:self._out_at + n]
        self._out_at += n
        return n

    def _decode_more(self) -> bool:
        if self._at >= len(self._input):
            self._input, self._at = self._raw.read(1 << 16), 0
            if not self._input:
                if self._frame is not None:
                    import zstandard

                    raise zstandard.ZstdError("the data ends inside a frame (truncated file)")
                return False
        if self._frame is None:
            self._check_window()
            self._frame = self._dctx.decompressobj()
        piece = self._input[self._at:self._at + self.FEED]
        self._at += len(piece)
        self._output, self._out_at = self._frame.decompress(piece), 0
        if self._frame.eof:
            # What follows the frame's end (in the last piece fed) is the next frame: go back to it.
            self._at -= len(self._frame.unused_data)
            self._frame = None
        return True


    def _check_window(self) -> None:
        """Raise for a frame whose window is over MAX_ZSTD_WINDOW, with its size (a frame
        header the buffer cuts is left to the decompressor, which refuses it too)."""
        import zstandard

        try:
            window = zstandard.get_frame_parameters(self._input[self._at:self._at + 18]).window_size
        except zstandard.ZstdError:
            return
        if window > MAX_ZSTD_WINDOW:
            raise zstandard.ZstdError(f"{WINDOW_TOO_LARGE} {window >> 20:,} MiB, over curate's limit of "
                                      f"{MAX_ZSTD_WINDOW >> 20} MiB")


class UpToAFault(io.RawIOBase):
    """A stream whose ``read(n)`` returns the bytes decompressed before a fault, and raises
    the fault at the next read. ``read(n)`` of gzip, bz2, lzma and the zstd reader above
    (each a BufferedReader over a decompressor) gathers n bytes one block at a time and,
    when the data is cut, raises and drops the blocks it gathered: a reader asking for
    1 MiB at a time lost up to 1 MiB of whole rows before the cut. Here the blocks come
    from ``read1``, which returns what one block holds, and are joined up to n.

    A limit of the machine (MemoryError, EMFILE, ENOMEM, a store gone: machine_limit) is
    raised at once: it stops the run, so nothing is gained by reading on."""

    def __init__(self, stream: BinaryIO):
        self._read = getattr(stream, "read1", stream.read)
        self._fault: Exception | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._fault is not None:
            fault, self._fault = self._fault, None
            raise fault
        pieces: list[bytes] = []
        got = 0
        while size < 0 or got < size:
            try:
                piece = self._read(size - got if size >= 0 else 1 << 20)
            except MemoryError:
                raise
            except Exception as err:
                if not pieces or machine_limit(err) is not None:
                    raise
                self._fault = err  # the next read raises it, after the bytes before it are used
                break
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _gzip(handle: BinaryIO) -> BinaryIO:
    return cast(BinaryIO, gzip.GzipFile(fileobj=handle, mode="rb"))


def _zstd(handle: BinaryIO) -> BinaryIO:
    return cast(BinaryIO, io.BufferedReader(ZstdFrames(handle), buffer_size=1 << 16))


def _bz2(handle: BinaryIO) -> BinaryIO:
    return cast(BinaryIO, bz2.BZ2File(handle, mode="rb"))  # also reads several concatenated streams (pbzip2)


def _xz(handle: BinaryIO) -> BinaryIO:
    return cast(BinaryIO, lzma.LZMAFile(handle, mode="rb"))  # .xz, and the older .lzma format it detects


# Suffix -> what decompresses a stream of it, in the order they are listed to users.
COMPRESSIONS: dict[str, Callable[[BinaryIO], BinaryIO]] = {".gz": _gzip, ".zst": _zstd, ".bz2": _bz2, ".xz": _xz}


def compression_of(path: Location) -> str | None:
    """The compression suffix ``path`` ends with, or None for a plain file."""
    name = base_name(path).lower()
    return next((suffix for suffix in COMPRESSIONS if name.endswith(suffix)), None)


def fault_wording(path: Location, why: str) -> tuple[str, str]:
    """(problem, what to do) for bytes of ``path`` that could not be read or decompressed,
    in every reader's words: a compressed file is corrupt or cut off, a plain one unreadable."""
    if why.startswith(WINDOW_TOO_LARGE):  # made with zstd --long=28 or more: valid, but over the bound
        return why, "recompress the file without --long (or with --long=27 or less)"
    if compression_of(path) is not None:
        return f"corrupt or truncated compressed data: {why}", "re-download or recompress the file"
    return f"read error: {why}", "check the disk and the file"


@contextmanager
def open_stream(path: Location) -> Iterator[BinaryIO]:
    """The file's bytes, decompressed if its name says so. Raises NotRegularFile for a
    pipe or a device, OSError if it cannot be opened; a corrupt stream fails while read."""
    with open_input(path) as handle:
        suffix = compression_of(path)
        if suffix is None:
            yield handle
        else:
            with COMPRESSIONS[suffix](handle) as stream:
                yield stream
