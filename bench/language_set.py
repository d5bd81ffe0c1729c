"""Build the labelled language set (tests/fixtures/languages/labelled.jsonl.gz) from the
translation catalogs that Debian packages install under /usr/share/locale.

Every translated message of a package (coreutils, glib, GTK, systemd, PostgreSQL, ...) is
real text written by a human translator in a known language, under the package's licence
(tests/fixtures/languages/README.md names them). Country and language names (the iso_*
catalogs) are left out: they are names, not prose.

    python bench/language_set.py            # rebuilds the fixture (deterministic)

Each record: id, lang (the ISO 639-1 code of the text), in_model (whether langdetect's
profiles cover that language), kind (short: one line; long: several lines of one
language; mixed: a long text with a third of its lines from another language), split
(fit or test, by a hash of the id), sources (catalog domains) and text.
"""

from __future__ import annotations

import gettext
import gzip
import hashlib
import re
import sys
import unicodedata
from pathlib import Path

import orjson

LOCALE = Path("/usr/share/locale")
OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "languages" / "labelled.jsonl.gz"

# Catalog folder -> the text's ISO 639-1 code. Languages langdetect's profiles cover:
IN_MODEL = {
    "af": "af", "ar": "ar", "bg": "bg", "bn": "bn", "ca": "ca", "cs": "cs", "cy": "cy", "da": "da",
    "de": "de", "el": "el", "es": "es", "et": "et", "fa": "fa", "fi": "fi", "fr": "fr", "gu": "gu",
    "he": "he", "hi": "hi", "hr": "hr", "hu": "hu", "id": "id", "it": "it", "ja": "ja", "kn": "kn",
    "ko": "ko", "lt": "lt", "lv": "lv", "mk": "mk", "ml": "ml", "mr": "mr", "nb": "no", "ne": "ne",
    "nl": "nl", "pa": "pa", "pl": "pl", "pt_BR": "pt", "ro": "ro", "ru": "ru", "sk": "sk", "sl": "sl",
    "sq": "sq", "sv": "sv", "ta": "ta", "te": "te", "th": "th", "tr": "tr", "uk": "uk", "vi": "vi",
    "zh_CN": "zh", "zh_TW": "zh",
}
# ... and languages they do not (several that langdetect labels confidently as a neighbour).
OUT_OF_MODEL = {
    "is": "is", "ms": "ms", "yo": "yo", "ga": "ga", "eu": "eu", "gl": "gl", "eo": "eo", "be": "be",
    "kk": "kk", "ka": "ka", "hy": "hy", "am": "am", "si": "si", "km": "km", "az": "az", "sr": "sr",
    "bs": "bs", "mn": "mn", "uz": "uz", "xh": "xh", "zu": "zu",
}
# Catalogs whose package's copyright file names no clear licence for them (or that hold
# keyboard layout names rather than prose) are left out.
LEFT_OUT = {"xkeyboard-config", "shared-mime-info", "cups-pk-helper", "gtk20", "gtk20-properties"}
SHORT_PER_LANGUAGE = 40
LONG_PER_LANGUAGE = 12
MIXED = 120
LONG_CHARS = 600

_FORMAT = re.compile(r"%(\d+\$)?[-+ #0']*(\d+|\*)?(\.(\d+|\*))?(hh|h|ll|l|L|q|j|z|t|I64)?[diouxXeEfgGcsSpm%]"
                     r"|\{[^}]*\}|<[^>]*>|\$\{[^}]*\}|`[^`]*`|'[^']*'|\"[^\"]*\"|\S*[/\\=@]\S*")
_MNEMONIC = re.compile(r"(?<=\w)_(?=\w)|(?<!\w)_(?=\w)|&(?=\w)")


def _clean(message: str) -> list[str]:
    """The message's lines that are prose: no option tables, paths or format placeholders."""
    out = []
    for raw in message.split("\n"):
        if "--" in raw or raw.lstrip().startswith("-"):
            continue
        line = " ".join(_MNEMONIC.sub("", _FORMAT.sub(" ", raw)).split())
        visible = line.replace(" ", "")
        if not visible:
            continue
        letters = sum(map(str.isalpha, visible))
        # Vowel signs of Indic scripts are combining marks, not letters, but are words' parts.
        marks = sum(unicodedata.category(ch).startswith("M") for ch in visible)
        if letters >= 25 and (letters + marks) / len(visible) >= 0.85 and len(line) <= 200:
            out.append(line)
    return out


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _lines(folder: str) -> tuple[list[str], list[str]]:
    """(distinct prose lines in hash order, catalog domains) of one language folder."""
    seen: dict[str, None] = {}
    domains = []
    for mo in sorted((LOCALE / folder / "LC_MESSAGES").glob("*.mo")):
        if mo.stem.startswith("iso_") or mo.stem in LEFT_OUT:
            continue
        try:
            with mo.open("rb") as f:
                catalog = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
        except (UnicodeDecodeError, OSError, IndexError):
            continue  # an old catalog in a legacy encoding, or a broken header: left out
        found = False
        for key, value in catalog.items():
            source = key[0] if isinstance(key, tuple) else key
            if not source or value == source:
                continue  # the header, or a message left untranslated
            for line in _clean(value):
                seen.setdefault(line, None)
                found = True
        if found:
            domains.append(mo.stem)
    return sorted(seen, key=_digest), domains


def build() -> list[dict]:
    records: list[dict] = []
    pool: dict[str, list[str]] = {}
    used: dict[str, set[str]] = {}
    for folder, code in [*IN_MODEL.items(), *OUT_OF_MODEL.items()]:
        lines, domains = _lines(folder)
        if len(lines) < 10:
            print(f"{folder}: only {len(lines)} lines, left out", file=sys.stderr)
            continue
        in_model = folder in IN_MODEL
        print(f"{folder} ({code}): {len(lines)} lines from {len(domains)} catalogs", file=sys.stderr)
        pool[folder] = lines
        used[folder] = set(domains)
        short = lines[:SHORT_PER_LANGUAGE]
        rest = lines[SHORT_PER_LANGUAGE:]
        for text in short:
            records.append({"lang": code, "in_model": in_model, "kind": "short", "folder": folder, "text": text})
        for _ in range(LONG_PER_LANGUAGE):
            chunk: list[str] = []
            while rest and sum(map(len, chunk)) < LONG_CHARS:
                chunk.append(rest.pop(0))
            if sum(map(len, chunk)) < LONG_CHARS // 2:
                break
            records.append({"lang": code, "in_model": in_model, "kind": "long", "folder": folder,
                            "text": "\n".join(chunk)})
    # Mixed: a long in-model text with a third of its lines replaced by another language's.
    longs = [r for r in records if r["kind"] == "long" and r["in_model"]]
    longs.sort(key=lambda r: _digest(r["text"]))
    folders = sorted(pool)
    for k, base in enumerate(longs[:MIXED]):
        other = sorted((f for f in folders if IN_MODEL.get(f, OUT_OF_MODEL.get(f)) != base["lang"]),
                       key=lambda f: _digest(f + base["text"]))[0]
        lines = base["text"].split("\n")
        foreign = pool[other][-(k % 7 + 1) * 10:]
        mixed = [foreign[i % len(foreign)] if i % 3 == 2 else line for i, line in enumerate(lines)]
        records.append({"lang": base["lang"], "in_model": True, "kind": "mixed", "folder": base["folder"],
                        "other": IN_MODEL.get(other, OUT_OF_MODEL.get(other)), "text": "\n".join(mixed)})
    for record in records:
        record["id"] = f"{record['folder']}-{record['kind']}-{_digest(record['text'])[:10]}"
        # Half to fit the calibration and the `und` threshold on, half to report on.
        record["split"] = "fit" if int(_digest(record["id"]), 16) % 2 else "test"
    records.sort(key=lambda r: r["id"])
    print("catalogs used: " + " ".join(sorted(set().union(*used.values()))), file=sys.stderr)
    return records


def main() -> None:
    records = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    payload = b"".join(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) + b"\n" for r in records)
    OUT.write_bytes(gzip.compress(payload, mtime=0))
    print(f"{len(records)} records, {OUT.stat().st_size:,} bytes -> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
