"""How often `--encoding auto` reads a real page saved in a legacy encoding back exactly.

    python bench/legacy_encodings.py                     # this checkout's curate
    PYTHONPATH=/tmp/old python bench/legacy_encodings.py # another checkout's, to compare
    python bench/legacy_encodings.py --misses cp1252     # list the pages cp1252 gets wrong

Every page of shared/noise-dev and shared/noise-train (real web pages as naive text,
UTF-8) is encoded in each of the encodings below when its characters allow it, and kept
if the bytes are not valid UTF-8 (a page that is, ASCII or not, is read as UTF-8 and says
nothing about detection). Each is decoded as curate decides (curate.formats.txt.split_file,
the function a run calls): a page counts as right when the encoding chosen decodes its
bytes to exactly the original text.

The pages are split in two halves by site (the URL's host, hashed with SHA-256: the same
split on every machine), so that a detection tuned on the `design` half is also reported
on the `held-out` half it was not tuned on. It also prints the seconds split_file takes
per file in all (the UTF-8 pass and the detection), summed over every file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from curate.document import RawDocument
from curate.formats.txt import split_file

SHARED = Path("/work/shared")
SETS = ("noise-dev", "noise-train")
ENCODINGS = ("cp1252", "cp1250", "cp1251", "iso8859-15", "shift_jis", "gb18030", "euc-kr", "koi8-r")


def _pages() -> list[tuple[str, str, str]]:
    """(set/name, half, text) of every page, in name order."""
    pages = []
    for name in SETS:
        hosts = {}
        for row in (SHARED / name / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
            entry = json.loads(row)
            url = entry["url"]
            hosts[entry["name"]] = urlsplit(url).hostname or url  # a label such as hard::zeit.de... stands as is
        for path in sorted((SHARED / name / "input").glob("*.txt")):
            host = hosts.get(path.stem, path.stem)
            half = "design" if hashlib.sha256(host.encode()).digest()[0] % 2 == 0 else "held-out"
            pages.append((f"{name}/{path.name}", half, path.read_text(encoding="utf-8")))
    return pages


def _legacy_bytes(text: str, encoding: str) -> bytes | None:
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return None  # valid UTF-8 (ASCII, or by chance): read as UTF-8, not a detection


def _read_as(data: bytes) -> str:
    doc = RawDocument(id="page", source="page.txt", record_line=None, payload=data, size=len(data))
    return split_file(doc, data, "auto", 0)[3]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--misses", metavar="ENCODING", help="list the pages of this encoding read wrong")
    args = parser.parse_args()
    pages = _pages()
    right: dict[tuple[str, str], int] = defaultdict(int)
    total: dict[tuple[str, str], int] = defaultdict(int)
    chosen: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seconds = 0.0
    files = 0
    for encoding in ENCODINGS:
        for name, half, text in pages:
            data = _legacy_bytes(text, encoding)
            if data is None:
                continue
            started = time.perf_counter()
            read_as = _read_as(data)
            seconds += time.perf_counter() - started
            files += 1
            try:
                ok = data.decode(read_as) == text
            except UnicodeDecodeError:
                ok = False
            total[encoding, half] += 1
            right[encoding, half] += ok
            if not ok:
                chosen[encoding][read_as] += 1
                if args.misses == encoding:
                    print(f"  {name}: read as {read_as}")
    print(f"{'encoding':<11} {'design':>12} {'held-out':>12} {'all':>12}   wrong reads")
    for encoding in ENCODINGS:
        cells = []
        for halves in (("design",), ("held-out",), ("design", "held-out")):
            n = sum(total[encoding, h] for h in halves)
            cells.append(f"{sum(right[encoding, h] for h in halves)}/{n}")
        wrong = ", ".join(f"{k} {v}" for k, v in sorted(chosen[encoding].items(), key=lambda kv: (-kv[1], kv[0])))
        print(f"{encoding:<11} {cells[0]:>12} {cells[1]:>12} {cells[2]:>12}   {wrong}")
    print(f"split_file: {files} files, {seconds:.1f} s, {1000 * seconds / max(files, 1):.1f} ms per file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
