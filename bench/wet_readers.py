"""FastWARC against warcio on a Common Crawl-shaped WET file: which one the WET reader uses.

    python bench/wet_readers.py [--mb 8] [--rounds 5]

Writes a deterministic ``.warc.wet.gz`` (one gzip member per record, as Common Crawl
writes them: a warcinfo record, then conversion records of a few kB of text) with
warcio's writer, then reads every conversion record's headers and payload with each
library, alternating rounds, and prints the median seconds and MB/s of each, plus
whether each one says so when the file is cut off inside a gzip member.
(pip install -e '.[wet]' warcio; warcio is only needed here and in the tests.)
"""

from __future__ import annotations

import argparse
import gzip
import io
import random
import statistics
import tempfile
import time
from pathlib import Path

WORDS = " ".join(("the crawl keeps every page of text that a site serves to its readers and some of it is noise",
                  "die Seite enthält den Text des Artikels und einige Zeilen Navigation la página contiene")).split(" ")


def write_wet(path: Path, mb: float) -> int:
    from warcio.warcwriter import WARCWriter

    rng = random.Random(14)
    records = 0
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "bench/wet_readers.py"}))
        while f.tell() < mb * (1 << 20) * 0.4:  # gzip shrinks this text to about 40%
            paragraphs = ["\n".join(" ".join(rng.choices(WORDS, k=rng.randint(5, 25)))
                                    for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(3, 12))]
            payload = "\n\n".join(paragraphs).encode("utf-8")
            records += 1
            headers = {"WARC-Record-ID": f"<urn:uuid:00000000-0000-0000-0000-{records:012d}>",
                       "WARC-Date": "2024-02-20T10:00:00Z", "WARC-Refers-To": f"<urn:uuid:{records:032x}>",
                       "Content-Type": "text/plain", "WARC-Identified-Content-Language": "eng,deu"}
            writer.write_record(writer.create_warc_record(f"https://example.org/{records}", "conversion",
                                                          payload=io.BytesIO(payload), warc_headers_dict=headers))
    return records


def read_fastwarc(path: Path) -> int:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    total = 0
    with open(path, "rb") as f:
        for record in ArchiveIterator(f, record_types=WarcRecordType.conversion, parse_http=False):
            record.headers.get("WARC-Target-URI")
            total += len(record.reader.read().decode("utf-8"))
    return total


def read_fastwarc_python_gzip(path: Path) -> int:
    """What curate's WET reader does: Python's gzip decompresses (and raises on a cut-off
    member), FastWARC parses the records."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    total = 0
    with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw) as f:
        for record in ArchiveIterator(f, record_types=WarcRecordType.conversion, parse_http=False,
                                      stream_detect=False):
            record.headers.get("WARC-Target-URI")
            total += len(record.reader.read().decode("utf-8"))
    return total


def read_warcio(path: Path) -> int:
    from warcio.archiveiterator import ArchiveIterator

    total = 0
    with open(path, "rb") as f:
        for record in ArchiveIterator(f):
            if record.rec_type == "conversion":
                record.rec_headers.get_header("WARC-Target-URI")
                total += len(record.content_stream().read().decode("utf-8"))
    return total


def says_truncated(read, path: Path) -> bool:
    try:
        read(path)
    except Exception:  # noqa: BLE001 - any error is a warning the user would see
        return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=8.0, help="uncompressed size of the WET file (about)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    readers = {"fastwarc": read_fastwarc, "fastwarc on Python gzip (curate)": read_fastwarc_python_gzip,
               "warcio": read_warcio}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.warc.wet.gz"
        records = write_wet(path, args.mb)
        size = path.stat().st_size
        cut = Path(tmp) / "cut.warc.wet.gz"
        cut.write_bytes(path.read_bytes()[: size // 2])
        expected = read_warcio(path)
        times: dict[str, list[float]] = {name: [] for name in readers}
        for _ in range(args.rounds):
            for name, read in readers.items():
                start = time.perf_counter()
                assert read(path) == expected, f"{name} read other text"
                times[name].append(time.perf_counter() - start)
        mb = expected / (1 << 20)
        print(f"{records:,} conversion records, {size / (1 << 20):.1f} MB gzip, {mb:.1f} MB of text; "
              f"{args.rounds} rounds, median seconds")
        for name, seconds in times.items():
            median = statistics.median(seconds)
            print(f"  {name:34s} {median:6.3f} s  {mb / median:6.1f} MB/s  "
                  f"says a cut-off file is cut off: {says_truncated(readers[name], cut)}")
        ratio = statistics.median(times["warcio"]) / statistics.median(times["fastwarc"])
        print(f"  warcio / fastwarc: {ratio:.1f}x")


if __name__ == "__main__":
    main()
