"""The language codes each --language-model writes, and what a code it never writes was
probably meant to be.

A language rule (--keep-lang, or `languages = [...]` in a document rule) compares a
document's label with its codes. A code the model never writes matches nothing, so
`--keep-lang eng` (ISO 639-3, as GlotLID and fastText's lid.218 write it) or
`--keep-lang eu` under langdetect, which has no Basque profile, would drop every document
without a word. The driver refuses such a rule before the run starts (stages.documents),
and says which code to write instead.
"""

from __future__ import annotations

import re
from functools import cache

from curate.errors import UsageError
from curate.stages.language import UNDETERMINED

# Other spellings of the codes the models write: ISO 639-2/T and /B and 639-3 codes, and
# English names, for langdetect's 55 languages and the larger languages py3langid adds.
# Used only to suggest a code in an error message.
_OTHER_NAMES: dict[str, tuple[str, ...]] = {
    "af": ("afr", "afrikaans"), "am": ("amh", "amharic"), "ar": ("ara", "arb", "arabic"),
    "az": ("aze", "azj", "azerbaijani"), "be": ("bel", "belarusian"), "bg": ("bul", "bulgarian"),
    "bn": ("ben", "bengali", "bangla"), "bs": ("bos", "bosnian"), "ca": ("cat", "catalan"),
    "cs": ("ces", "cze", "czech"), "cy": ("cym", "wel", "welsh"), "da": ("dan", "danish"),
    "de": ("deu", "ger", "german", "deutsch"), "el": ("ell", "gre", "greek"), "en": ("eng", "english"),
    "eo": ("epo", "esperanto"), "es": ("spa", "spanish", "espanol", "español", "castilian"),
    "et": ("est", "ekk", "estonian"), "eu": ("eus", "baq", "basque"), "fa": ("fas", "per", "pes", "persian", "farsi"),
    "fi": ("fin", "finnish"), "fr": ("fra", "fre", "french", "francais", "français"),
    "ga": ("gle", "irish"), "gl": ("glg", "galician"), "gu": ("guj", "gujarati"), "ha": ("hau", "hausa"),
    "he": ("heb", "hebrew", "iw"), "hi": ("hin", "hindi"), "hr": ("hrv", "croatian"),
    "hu": ("hun", "hungarian"), "hy": ("hye", "arm", "armenian"), "id": ("ind", "indonesian", "in"),
    "is": ("isl", "ice", "icelandic"), "it": ("ita", "italian", "italiano"), "ja": ("jpn", "japanese"),
    "jv": ("jav", "javanese"), "ka": ("kat", "geo", "georgian"), "kk": ("kaz", "kazakh"),
    "km": ("khm", "khmer"), "kn": ("kan", "kannada"), "ko": ("kor", "korean"), "ku": ("kur", "kurdish"),
    "ky": ("kir", "kyrgyz"), "la": ("lat", "latin"), "lb": ("ltz", "luxembourgish"), "lo": ("lao",),
    "lt": ("lit", "lithuanian"), "lv": ("lav", "lvs", "latvian"), "mg": ("mlg", "plt", "malagasy"),
    "mk": ("mkd", "mac", "macedonian"), "ml": ("mal", "malayalam"), "mn": ("mon", "khk", "mongolian"),
    "mr": ("mar", "marathi"), "ms": ("msa", "may", "zsm", "malay"), "mt": ("mlt", "maltese"),
    "my": ("mya", "bur", "burmese"), "ne": ("nep", "npi", "nepali"), "nl": ("nld", "dut", "dutch", "flemish"),
    "no": ("nor", "nob", "nno", "nb", "nn", "norwegian", "bokmal", "bokmål", "nynorsk"),
    "pa": ("pan", "punjabi"), "pl": ("pol", "polish", "polski"), "ps": ("pus", "pbt", "pashto"),
    "pt": ("por", "portuguese", "portugues", "português"), "ro": ("ron", "rum", "romanian", "moldovan"),
    "ru": ("rus", "russian"), "si": ("sin", "sinhala"), "sk": ("slk", "slo", "slovak"),
    "sl": ("slv", "slovenian", "slovene"), "so": ("som", "somali"), "sq": ("sqi", "alb", "als", "albanian"),
    "sr": ("srp", "serbian"), "sv": ("swe", "swedish"), "sw": ("swa", "swh", "swahili"),
    "ta": ("tam", "tamil"), "te": ("tel", "telugu"), "tg": ("tgk", "tajik"), "th": ("tha", "thai"),
    "tl": ("tgl", "fil", "tagalog", "filipino"), "tr": ("tur", "turkish"), "uk": ("ukr", "ukrainian"),
    "ur": ("urd", "urdu"), "uz": ("uzb", "uzn", "uzbek"), "vi": ("vie", "vietnamese"), "xh": ("xho", "xhosa"),
    "yo": ("yor", "yoruba"), "zh": ("zho", "chi", "cmn", "chinese", "mandarin"), "zu": ("zul", "zulu"),
}
_TO_CODE = {name: code for code, names in _OTHER_NAMES.items() for name in names}


@cache
def written_codes(language_model: str) -> frozenset[str]:
    """Every code the language stage can label a document with under ``language_model``,
    ``und`` included."""
    if language_model == "py3langid":
        from curate.stages.language_py3langid import _NO_LANGUAGE, identifier

        return frozenset(identifier().nb_classes) - _NO_LANGUAGE | {UNDETERMINED}
    from curate.stages.language import ISO_639_1, profile_names

    return frozenset(ISO_639_1.get(name, name) for name in profile_names()) | {UNDETERMINED}


def meant(code: str, language_model: str) -> str | None:
    """The code ``language_model`` writes that ``code`` most likely means: the same
    language under another standard or spelling (eng, english, en-US, eng_Latn,
    __label__en, zh-cn as langdetect itself names a profile). None when none is known."""
    written = written_codes(language_model)
    text = code.strip().lower().removeprefix("__label__")
    parts = re.split(r"[-_]", text)
    base = _TO_CODE.get(parts[0], parts[0])
    return base if base in written and base != code else None


def did_you_mean(code: str, language_model: str) -> str:
    """"; did you mean 'en'?" after an error about ``code``, when `meant` knows; else ""."""
    guess = meant(code, language_model)
    return f"; did you mean {guess!r}?" if guess else ""


def unknown_code_message(code: str, language_model: str) -> str:
    """Why ``code`` cannot be kept, and what to write instead."""
    hint = did_you_mean(code, language_model)
    other = "py3langid" if language_model == "langdetect" else "langdetect"
    elsewhere = ""
    if not hint and _known_to(other, code):
        elsewhere = f"; --language-model {other} writes it"
    codes = ", ".join(sorted(written_codes(language_model)))
    return (f"{language_model} never labels a document {code!r}, so the rule keeps no document for it"
            f"{hint}{elsewhere} (the codes {language_model} writes: {codes})")


def _known_to(language_model: str, code: str) -> bool:
    try:
        return code in written_codes(language_model)
    except UsageError:  # the other model is an extra that is not installed: no hint then
        return False
