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
# The largest xz (LZMA2) or .lzma dictionary decoded, as zstd's window: liblzma allocates
# the dictionary the stream declares and fills it as it decodes, so a 312 kB .xz file
# declaring 4 GiB peaked at 2.4 GB expanding to 2 GiB of one line (the same stream with
# a 1 MiB dictionary: 274 MB). xz's presets use 64 MiB at most (xz -9); 128 MiB is
# zstd's bound. The decoder's own tables take tens of KiB more, and a dictionary is 2**n
# or 3 * 2**(n-1) bytes, so a memory limit 1 MiB above passes 128 MiB and refuses 192.
MAX_XZ_DICT = 1 << 27
XZ_MEMLIMIT = MAX_XZ_DICT + (1 << 20)
DICT_TOO_LARGE = "needs an xz decoding dictionary"


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


class XzStreams(io.RawIOBase):
    """An .xz file, every stream of it (or an .lzma file), decoded with a memory limit.

    lzma.LZMAFile takes no memory limit, so this is its reader (the stdlib's
    _compression.DecompressReader) over an LZMADecompressor that has one: the same bytes,
    EOFError for data that ends inside a stream, LZMAError for corrupt data, and data
    after the last stream that is not a stream ignored as LZMAFile ignores it, except a
    stream refused for its dictionary, which is said as what it is."""

    HEAD = 12 + 1024  # a stream header and the largest block header: the first block's filters

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self._decoder = self._new_stream()
        self._head = b""  # the first HEAD bytes of the stream being read, for the message
        self._done = False

    def _new_stream(self) -> lzma.LZMADecompressor:
        self._head = b""
        return lzma.LZMADecompressor(lzma.FORMAT_AUTO, memlimit=XZ_MEMLIMIT)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def _read(self, size: int) -> bytes:
        if not size:
            return b""
        while not self._done:
            if self._decoder.eof:
                block = self._decoder.unused_data or self._raw.read(1 << 16)
                if not block:
                    break
                self._decoder = self._new_stream()
                try:
                    data = self._decode(block, size)
                except lzma.LZMAError as err:
                    if str(err).startswith(DICT_TOO_LARGE):
                        raise
                    break  # what follows the last stream is not one: ignored, as LZMAFile does
            else:
                if self._decoder.needs_input:
                    block = self._raw.read(1 << 16)
                    if not block:
                        raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                else:
                    block = b""
                data = self._decode(block, size)
            if data:
                return data
        self._done = True
        return b""

    def _decode(self, block: bytes, size: int) -> bytes:
        if len(self._head) < self.HEAD:
            self._head += block[:self.HEAD - len(self._head)]
        try:
            return self._decoder.decompress(block, size)  # at most size bytes: a bomb is read in pieces
        except lzma.LZMAError as err:
            if not str(err).startswith("Memory usage limit"):  # liblzma's LZMA_MEMLIMIT_ERROR
                raise
            # Its size when the first block's header says it (the block refused, nearly always).
            dictionary = _dictionary_size(self._head)
            declared = f" of {-(-dictionary // (1 << 20)):,} MiB," if dictionary and dictionary > MAX_XZ_DICT else ""
            raise lzma.LZMAError(f"{DICT_TOO_LARGE}{declared} over curate's limit of "
                                 f"{MAX_XZ_DICT >> 20} MiB") from err


def _dictionary_size(head: bytes) -> int | None:
    """The dictionary the first block of an .xz stream declares (its LZMA2 filter), or the
    dictionary of an .lzma file, from their first bytes; None if they do not say."""
    if head.startswith(b"\xfd7zXZ\x00"):
        header = head[12:12 + (head[12] + 1) * 4] if len(head) > 12 and head[12] else b""
        if len(header) < 2:
            return None
        at = 2

        def number() -> int:  # a variable-length integer: 7 bits a byte, low bits first
            nonlocal at
            value = shift = 0
            while at < len(header) and shift < 63:
                byte = header[at]
                at += 1
                value |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            return value

        flags = header[1]
        for present in (0x40, 0x80):  # the compressed and uncompressed sizes, when given
            if flags & present:
                number()
        for _ in range((flags & 3) + 1):
            kind, length = number(), number()
            props, at = header[at:at + length], at + length
            if kind == 0x21 and len(props) == 1 and (bits := props[0] & 0x3F) <= 40:  # LZMA2
                return 0xFFFFFFFF if bits == 40 else (2 | (bits & 1)) << (bits // 2 + 11)
        return None
    if len(head) >= 13 and head[0] < 9 * 5 * 5:  # .lzma: properties, then a 4-byte dictionary size
        return int.from_bytes(head[1:5], "little")
    return None


def _xz(handle: BinaryIO) -> BinaryIO:
    # .xz, and the older .lzma format LZMADecompressor detects; bounded as zstd's window is
    return cast(BinaryIO, io.BufferedReader(XzStreams(handle), buffer_size=1 << 16))


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
    if why.startswith(DICT_TOO_LARGE):  # made with a dictionary over 128 MiB: valid, but over the bound
        return why, "recompress the file with xz -9 or a lower level (a dictionary of 64 MiB or less)"
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
