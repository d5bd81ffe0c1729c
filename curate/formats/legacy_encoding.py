"""Which legacy encoding a ``.txt`` file that is not UTF-8 is in (curate.formats.txt).

charset-normalizer alone was not enough: it judges an encoding on a few 512-byte samples
of the file and drops one whose sample holds a character it finds odd, such as the soft
hyphen (0xAD in windows-1252, an invisible character German sites use a lot), so on real
pages it often did not list windows-1252 at all and returned Shift_JIS ("what痴 next"
for "what’s next"), cp852 ("fŘr" for "für") or nothing. So here its answers are only
candidates, beside the code pages the web uses most; every candidate that decodes the
whole file is judged on all of it by the same measure, the characters a real text would
hardly hold (below); the fewest wins, and on a tie the commoner code page. A rare code
page (cp852, mac-iceland, hp-roman8, ...) must beat the common ones by a margin: on
Western text they decode to letters too, and a difference of one odd character is more
likely an odd page than an odd code page.

The measure looks only at the characters the candidates disagree on (each decodes ASCII
as ASCII), with their neighbours: it depends on the bytes and on no locale, dict order or
sampling, so the answer is the same on every machine. The Unicode properties it asks are
those of characters older than any Python curate runs on.
"""

from __future__ import annotations

import bisect
import codecs
import functools
import re
import unicodedata

# The code pages of the web's pages that are not UTF-8, commonest first: a tie goes to the
# first (windows-1252 first, as browsers assume). Python's names; cp932, cp949 and gb18030
# are the supersets of Shift_JIS, EUC-KR and GB2312 that Windows and browsers decode with.
COMMON = ("cp1252", "cp1250", "cp1251", "cp932", "gb18030", "cp949", "big5", "euc_jp")

# How many odd characters fewer a code page outside COMMON must show to be chosen.
RARE_MARGIN = 2

# Invisible characters real pages carry (the soft hyphen of &shy;, zero-width spaces and
# joiners, direction marks, a stray byte order mark): not evidence of a wrong decoding.
INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060\ufeff]")

# Punctuation that sits between two letters in real text: apostrophes, hyphens, dashes, an
# ellipsis ("life…he") are in the blocks of _WORD_PUNCTUATION; these are the others (the
# middle dot of Catalan "l·l", the modifier apostrophe).
IN_WORD = frozenset("\u00b7\u02bc")

# The characters judged: enough for any page, and a bound on the time a file of tens of
# MB in a CJK encoding (every character non-ASCII) takes; the whole file must still decode.
JUDGED_CHARS = 1 << 18

# The letters of Latin-1 that no Central European alphabet (windows-1250) has: è, ø, ñ, ...
WESTERN_ONLY = frozenset(ch for ch in map(chr, range(0xC0, 0x100))
                         if ch.isalpha() and ch.encode("cp1250", "replace") == b"?")

# Punctuation blocks real text puts between letters: General Punctuation, and the CJK
# marks and full-width forms Chinese and Japanese write between characters ("、", "・", full-width brackets).
_WORD_PUNCTUATION = re.compile("[\u2000-\u206f\u3000-\u303f\u30fb\uff00-\uffef]")

NON_ASCII = re.compile(r"[^\x00-\x7f]")

# Scripts by code point ranges (start, script), sorted: a letter glued to a letter of
# another script is a sign of a wrong decoding ("what痴", "fЃr"). Kana and Han are one
# script here (Japanese mixes them), and Hangul may sit beside Han (Korean with Hanja).
_RANGES = (
    (0x0000, "latin"), (0x0250, "other"), (0x0370, "greek"), (0x0400, "cyrillic"), (0x0530, "other"),
    (0x0590, "hebrew"), (0x0600, "arabic"), (0x0700, "other"), (0x0E00, "thai"), (0x0E80, "other"),
    (0x1100, "hangul"), (0x1200, "other"), (0x1E00, "latin"), (0x1F00, "greek"), (0x2000, "other"),
    (0x3000, "cjk"), (0x3100, "other"), (0x3130, "hangul"), (0x3190, "other"), (0x3400, "cjk"),
    (0x4DC0, "other"), (0x4E00, "cjk"), (0xA000, "other"), (0xAC00, "hangul"), (0xD7B0, "other"),
    (0xF900, "cjk"), (0xFB00, "other"), (0xFF66, "cjk"), (0xFFA0, "hangul"), (0xFFE0, "other"),
    (0x20000, "cjk"), (0x30000, "other"),
)
_STARTS = tuple(start for start, _ in _RANGES)


@functools.lru_cache(maxsize=4096)
def _script(ch: str) -> str:
    return _RANGES[bisect.bisect_right(_STARTS, ord(ch)) - 1][1]


def _glued(a: str, b: str) -> bool:
    """Two adjacent letters of scripts that real text does not run together."""
    sa, sb = _script(a), _script(b)
    return sa != sb and {sa, sb} != {"cjk", "hangul"}


def odd_characters(text: str) -> int:
    """How many non-ASCII characters of ``text`` a real text would hardly hold: one that is
    not printable (a C1 control, an unassigned or private code point); a letter glued to a
    letter of another script, alone; a case change inside a word at a non-ASCII letter ("fŘr",
    "timeůIn"); a Western-only letter of Latin-1 beside one of Latin Extended ("šø": Czech read as
    windows-1252; not "příliš"); a symbol, digit or punctuation mark glued between two letters ("gê¹l",
    "f╝r"), but for the general punctuation (’ – … ) that real text puts there."""
    text = INVISIBLE.sub("", text)
    count = 0
    last = len(text) - 1
    for match in NON_ASCII.finditer(text):
        at = match.start()
        ch = text[at]
        before = text[at - 1] if at else " "
        after = text[at + 1] if at < last else " "
        if not ch.isprintable():
            count += not ch.isspace()
        elif ch.isalpha():
            count += _odd_letter(ch, before, after)
        elif (before.isalpha() and after.isalpha() and not _WORD_PUNCTUATION.match(ch) and ch not in IN_WORD
              and unicodedata.category(ch)[0] in "PSN"):
            count += 1
    return count


def _odd_letter(ch: str, before: str, after: str) -> bool:
    # A one-letter island of a script glued to letters of another: "what痴 next", "fЃr"
    # (Japanese runs whole words of kana and Han into Latin ones: "LANを安全").
    if ((before.isalpha() and _glued(ch, before)) or (after.isalpha() and _glued(ch, after))) and \
            not (before.isalpha() and _script(before) == _script(ch)) and \
            not (after.isalpha() and _script(after) == _script(ch)):
        return True
    if (ch.isupper() and before.islower()) or (ch.islower() and after.isupper()):
        return True  # "fŘr", "timeůIn"
    # A Western-only letter beside a Latin Extended one ("šø", Czech read as windows-1252):
    # Central European words mix only the Latin-1 letters windows-1250 has (á, ó: "żółć").
    return ch in WESTERN_ONLY and ("\u0100" <= before <= "\u024f" or "\u0100" <= after <= "\u024f")


def ascii_compatible(encoding: str) -> bool:
    """Line breaks and ASCII letters are the same bytes as in ASCII (curate.formats.txt
    cuts a file into lines before it decodes them); UTF-7 spells some ASCII differently."""
    sample = "\r\n azAZ09.,;:!?'\"()[]{}<>/\\-_+=*&%$#@~^`|"
    try:
        return encoding != "utf-7" and sample.encode(encoding) == sample.encode("ascii")
    except (UnicodeError, LookupError):
        return False


def detect(data: bytes) -> str | None:
    """The legacy encoding ``data`` (not UTF-8) is most likely in, by Python's codec name,
    or None when no ASCII-compatible candidate decodes all of it."""
    from charset_normalizer import from_bytes

    # charset-normalizer's ranking (its matches, each with the code pages that decode the
    # bytes the same) breaks a tie of odd characters: it knows which letters a language
    # uses, which tells Russian in windows-1251 from the same bytes read as accented Latin,
    # and Korean in cp949 from Chinese in gb18030.
    # Windows-1252 ranks with the best when it is about as good (within 0.1 of its chaos):
    # on short Western text the ranking cannot tell it from its Central European cousins.
    listed: dict[str, int] = {}
    matches = list(from_bytes(data))
    for place, match in enumerate(matches):
        for name in (match.encoding, *match.could_be_from_charset):
            near_best = name == "cp1252" and match.chaos <= matches[0].chaos + 0.1
            listed.setdefault(codecs.lookup(name).name, 0 if near_best else place)
    candidates = list(dict.fromkeys([codecs.lookup(name).name for name in COMMON] + list(listed)))
    unlisted = len(listed)
    best: tuple[int, int, int] | None = None
    chosen = None
    scores: dict[str, int] = {}  # candidates that decode to the same text score the same
    for rank, name in enumerate(candidates):
        if name in ("utf-8", "ascii") or not ascii_compatible(name):
            continue
        try:
            text = data.decode(name)[:JUDGED_CHARS]
        except UnicodeDecodeError:
            continue
        odd = scores.get(text)
        if odd is None:
            odd = scores[text] = odd_characters(text)
        # Odd characters (a rare code page pays the margin), then charset-normalizer's
        # ranking, then the order above.
        key = (odd + (RARE_MARGIN if rank >= len(COMMON) else 0), listed.get(name, unlisted), rank)
        if best is None or key < best:
            best, chosen = key, name
    return chosen
