"""The progress line a run draws on a terminal, one pass of the input at a time.

A run reads its input once, or twice or three times (the site census and --dedup-parts'
first pass come before the pass that writes), and the passes go at very different speeds:
the census only reads and normalises. Each pass is shown as what it is, with a bar of its
own whose ETA comes from that pass's own rate, never from an average over the run (the
census made the writing pass's ETA several times too short). Work a resumed run skips is
credited to the bar at once but left out of the rate: the skipped bytes took no time.

The line fits the terminal's width (a line wider than the terminal wraps, and each redraw
then leaves a row behind), and it is redrawn with a carriage return alone: no escape
sequence, which a dumb terminal would show as junk. At most every ``INTERVAL`` seconds, so
that a run of small batches does not spend its time drawing.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TextIO, TypeVar

from curate.document import RawDocument

if TYPE_CHECKING:
    from curate.discover import InputFile

T = TypeVar("T")
INTERVAL = 0.25  # seconds between two frames at most
# Seconds of listing the inputs before the line says how many files it has found: a small
# input is listed in an instant, and a line for it would only flicker.
LISTING_QUIET = 1.0
NARROWEST_BAR = 10  # a bar narrower than this says nothing the percentage does not


def eta_seconds(left: int, worked: int, elapsed: float) -> float | None:
    """Seconds to do ``left`` bytes at the rate of ``worked`` bytes in ``elapsed`` seconds;
    None while there is no rate."""
    if worked <= 0 or elapsed <= 0:
        return None
    return max(left, 0) * elapsed / worked


def clock(seconds: float | None) -> str:
    """``seconds`` as H:MM:SS (or M:SS under an hour); blank when not known."""
    if seconds is None:
        return ""
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def frame(label: str, done: int, total: int, eta: float | None, width: int) -> str:
    """One progress line, at most ``width - 1`` columns (the last column of a terminal wraps
    on some): the label, a bar while there is room for one, the percentage and the ETA."""
    fraction = min(done / total, 1.0) if total > 0 else 1.0
    percent = f"{int(fraction * 100):3d}%"
    left = f" ETA {clock(eta) if eta is not None else '-:--':>5}"  # as wide with or without one
    room = width - 1 - len(label) - len(percent) - len(left) - 4  # two spaces, two brackets
    if room >= NARROWEST_BAR:
        filled = int(fraction * room)
        line = f"{label} [{'#' * filled}{'-' * (room - filled)}] {percent}{left}"
    else:
        line = f"{label} {percent}{left}"
    return line[:max(width - 1, 0)]


def terminal_width(stream: TextIO) -> int:
    """The width of the terminal ``stream`` draws on: $COLUMNS if set, else the terminal's
    own (shutil asks stdout, which may be a pipe while stderr is the terminal), else 80."""
    given = os.environ.get("COLUMNS", "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        columns = shutil.get_terminal_size().columns
    return columns if columns > 0 else 80  # a terminal that has no size yet (a new pty)


class ProgressLine:
    """The progress of a run, drawn on ``stream`` when ``shown``. It is the engines'
    ``on_progress`` (called with the bytes each batch read); the driver names each pass
    with ``begin`` and credits a resumed run's skipped work with ``skip``. It counts what
    it is told even when not shown: the closing line says what a resume skipped."""

    def __init__(self, shown: bool, stream: TextIO | None = None, now=time.monotonic):
        self.shown = shown
        self.stream = stream if stream is not None else sys.stderr
        self.now = now
        self.label = "curate"
        self.total = 0
        self.done = 0
        self.skipped = 0  # of ``done``: done before a --resume
        # The rate is timed from the pass's first batch: before it, workers start and load
        # their models, which the rest of the pass does not do again (counted in, the ETA
        # of a 75 s pass said 163 s at 9%).
        self.since: tuple[float, int] | None = None  # (when, done) at the first batch
        self.drawn = 0.0  # when the last frame was drawn
        self._width = 0
        self.started = now()  # made just before the inputs are listed (`listed`)

    def begin(self, label: str, total: int) -> None:
        """A pass over ``total`` bytes of input starts."""
        self.label, self.total = label, total
        self.done = self.skipped = 0
        self.since = None
        self.drawn = 0.0
        self._draw(force=True)

    def skip(self, n: int) -> None:
        """``n`` bytes of this pass were done before a --resume: counted as done, not timed."""
        self.done += n
        self.skipped += n
        if self.since is not None:
            self.since = (self.since[0], self.since[1] + n)
        self._draw()

    def __call__(self, n: int) -> None:
        self.done += n
        if self.since is None:
            self.since = (self.now(), self.done)
        self._draw()

    def listed(self, files: int) -> None:
        """The listing of the inputs has taken ``files`` files so far: said once it has
        taken LISTING_QUIET seconds (a folder of 300,000 files was listed for seconds with
        nothing on the screen). The pass's first frame draws over it."""
        if not self.shown:
            return
        now = self.now()
        if now - self.started < LISTING_QUIET or now - self.drawn < INTERVAL:
            return
        self.drawn = now
        self._write(f"listing the inputs: {files:,} files found", terminal_width(self.stream))

    def _draw(self, force: bool = False) -> None:
        if not self.shown:
            return
        now = self.now()
        if not force and now - self.drawn < INTERVAL:
            return
        self.drawn = now
        width = terminal_width(self.stream)
        eta = None
        if self.since is not None:
            eta = eta_seconds(self.total - self.done, self.done - self.since[1], now - self.since[0])
        self._write(frame(self.label, self.done, self.total, eta, width), width)

    def _write(self, line: str, width: int) -> None:
        line = line[:max(width - 1, 0)]
        # Padded over what the last frame left: only a carriage return, never an escape.
        self.stream.write("\r" + line.ljust(min(self._width, max(width - 1, 0))))
        self.stream.flush()
        self._width = len(line)

    def close(self) -> None:
        """Take the line away (spaces over it), leaving the cursor where it began."""
        if self.shown and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


PROBE_BYTES = 256 << 10  # of a compressed file, read to learn how much its data expands
PROBE_MOST = 64 << 20  # decompressed bytes counted at most (a bomb's ratio is capped, not measured)


def expansion(f: InputFile) -> float | None:
    """How many bytes of data a byte of ``f`` on disk holds: 1 for a plain file, measured
    on the first PROBE_BYTES of a local compressed one; None when not known (a URL, which
    is not read twice for a progress bar, or a file that cannot be read: the run itself
    reads it, and says what is wrong)."""
    import lzma

    import zstandard

    from curate.formats.base import NotRegularFile, open_input
    from curate.formats.compressed import COMPRESSIONS, compression_of
    from curate.storage import is_remote

    suffix = compression_of(f.path)
    if suffix is None:
        return 1.0
    if is_remote(f.path):
        return None
    try:
        with open_input(f.path) as raw:
            head = raw.read(PROBE_BYTES)
    except (OSError, NotRegularFile):
        return None
    out = 0
    try:
        with COMPRESSIONS[suffix](io.BytesIO(head)) as stream:
            while out < PROBE_MOST and (piece := stream.read(1 << 16)):
                out += len(piece)
    except (EOFError, OSError, ValueError, lzma.LZMAError, zstandard.ZstdError):
        pass  # the head ends inside a block (or the file is corrupt): what came before counts
    return max(out / len(head), 1.0) if out else None


class DiskCredit:
    """The input's bytes on disk that the items read so far stand for: the unit of the
    progress bar, whose total is the files' sizes. An item's own size is the bytes of
    data it came from, which on a compressed file is several times its share of the file
    (the bar was full a tenth into a .jsonl.gz): it is divided by the file's `expansion`,
    and a file is credited less than its size until its last item is read, then the rest.
    A file whose expansion is not known (a URL; Parquet's own compression) is credited
    its items' sizes up to the same bound: the bar may then wait at the file's end, but
    never shows a file done before it is."""

    def __init__(self, files: Sequence[InputFile]):
        self.files = files
        self.number = {f.source: k for k, f in reversed(list(enumerate(files)))}
        self.at = -1  # the file being read
        self.in_file = 0.0  # credited to it so far
        self.ratio = 1.0
        self.last_ratio: float | None = None  # of the last compressed file probed
        self.pending = 0.0  # credited, not taken yet

    def over(self, items: Iterable[T]) -> Iterator[T]:
        """``items`` as they are, each credited as it passes; the files after the last
        item (read whole, or with nothing in them but a problem) at the end."""
        for item in items:
            if isinstance(item, RawDocument):
                k = self.number.get(item.source)
                if k is not None and k > self.at:
                    self._move_to(k)
                if self.at >= 0:
                    self._add(item.size)
            yield item
        self._move_to(len(self.files))

    def over_file(self, k: int, items: Iterable[T]) -> Iterator[T]:
        """The items of file ``k`` alone (the others are counted elsewhere), credited as
        they pass, and the whole file once they are read."""
        self.at, self.in_file = k, 0.0
        self.ratio = self._ratio_of(k)
        for item in items:
            if isinstance(item, RawDocument):
                self._add(item.size)
            yield item
        self.pending += self.files[k].size - self.in_file
        self.in_file = self.files[k].size

    def _add(self, size: int) -> None:
        room = self.files[self.at].size - 1 - self.in_file
        add = min(size / self.ratio, room) if room > 0 else 0.0
        self.in_file += add
        self.pending += add

    def _move_to(self, k: int) -> None:
        if self.at >= 0:
            self.pending += self.files[self.at].size - self.in_file
        self.pending += sum(f.size for f in self.files[self.at + 1:k])
        self.at, self.in_file = k, 0.0
        if k < len(self.files):
            self.ratio = self._ratio_of(k)

    def _ratio_of(self, k: int) -> float:
        ratio = expansion(self.files[k])
        if ratio is not None and ratio != 1.0:
            self.last_ratio = ratio
        return ratio if ratio is not None else (self.last_ratio or 1.0)

    def take(self) -> int:
        """The bytes credited since the last take."""
        whole = int(self.pending + 1e-6)  # a file's fractions add up to its size, give or take rounding
        self.pending -= whole
        return whole


def quiet_colorama() -> None:
    """Undo the exit hook of Ray's command-line logger: it calls colorama.init() when Ray
    starts, which registers a hook that writes ESC[0m to a terminal at exit, whatever
    NO_COLOR or TERM say. curate writes no colour through colorama."""
    initialise = sys.modules.get("colorama.initialise")
    if initialise is None:
        return
    import atexit

    atexit.unregister(initialise.reset_all)
    # The streams as they were, if colorama wrapped them (it does only where it must) and
    # nothing replaced them since.
    if sys.stdout is getattr(initialise, "wrapped_stdout", None):
        sys.stdout = initialise.orig_stdout
    if sys.stderr is getattr(initialise, "wrapped_stderr", None):
        sys.stderr = initialise.orig_stderr
