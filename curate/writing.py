"""What a word and the end of a sentence are, in the scripts of the web beyond Latin.

Python's ``\\w`` leaves out combining marks (Unicode categories Mn and Mc), and in the
Brahmic scripts most syllables carry one: "पढ़ें" (Hindi, "read") is three ``\\w`` runs,
and a Thai or Hindi line counted twice its words or more. A word here is ``\\w`` or a mark
of those scripts. Thai, Lao, Khmer and Myanmar are written without spaces between words,
as Chinese and Japanese are: their words are counted from their characters. And sentences
end in marks other than ".!?": the danda (Hindi, Bengali...), the Arabic question mark
and full stop, the full-width marks of Chinese and Japanese, and others below.

The detectors (curate/detectors.py) and the line model's features
(curate/linemodel/features.py) read words and sentence ends from here, so both see a page
the same way.
"""

from __future__ import annotations

import re

# Combining marks that Python's \w leaves out: Latin's combining diacritics (text not in
# NFC), Cyrillic's, Hebrew points, Arabic harakat, and the Brahmic scripts' blocks
# (Devanagari to Sinhala) whole but their dandas, and Thai, Lao, Myanmar and Khmer. And
# the zero-width non-joiner, which Persian writes inside a word ("می\u200cشود", "it
# becomes"; Python's \w made it two), as do Kurdish and the Brahmic scripts now and then.
MARK_RANGES = ("\u200c\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u0610-\u061a"
               "\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
               "\u0900-\u0963\u0966-\u0dff\u0e00-\u0e4e\u0e50-\u0e59\u0e80-\u0eff\u1000-\u1049\u1050-\u109f"
               "\u1780-\u17d3\u17d7\u17dc\u17dd\u17e0-\u17e9")
WORD_CHAR = f"[\\w{MARK_RANGES}]"
WORD = re.compile(f"{WORD_CHAR}+")

# Scripts written without spaces between words: Chinese and Japanese, counted two
# characters a word (Korean spaces its words: its syllables are \w, counted as any word)...
CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
HANGUL_RANGE = "\uac00-\ud7af"
# ...and Thai, Lao, Myanmar and Khmer, whose words run to about five characters with
# their marks ("เทศบาล", "เมือง", "เริ่ม").
UNSPACED_RANGES = "\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff"
UNSPACED_CHARS_PER_WORD = 5

# Marks that end a sentence besides ".!?…": the ideographic full stop and the full-width
# marks, the danda and double danda, the Arabic question mark and full stop (Urdu), the
# Ethiopic and Armenian full stops, Myanmar's and Khmer's.
# (Written as escapes: several look like ASCII punctuation.)
STOPS = ".!?\u3002\uff01\uff1f\uff0e\u0964\u0965\u061f\u06d4\u1362\u0589\u104b\u17d4"
SENTENCE_MARKS = STOPS + "\u2026"  # and an ellipsis, which ends a sentence but not a short one
# The ideographic full stop parts sentences wherever it stands: no space follows it. (The
# full-width "!" and "?" end a sentence, but inside a line they are as often a teaser
# headline's, "...reaches its peak! Hospitals overwhelmed".)
IDEOGRAPHIC_BREAKS = "\u3002"
# Closing brackets that may follow the mark that ends a sentence in Chinese and Japanese
# ("...と言った。」").
FULL_WIDTH_CLOSERS = "\u300d\u300f\uff09"
# Letters that may open a sentence after one: capitals of Latin, Greek and Cyrillic, and
# any letter of the scripts that have no capitals (Hebrew, Arabic, the Brahmic scripts).
SENTENCE_OPENERS = "A-ZÄÖÜÀ-Ý0-9\u0391-\u03a9\u0400-\u042f\u05d0-\u05ea\u0620-\u064a\u0900-\u0dff"
# Thai and Lao write no full stop: a space parts their sentences and clauses (words are
# not spaced), so a space between two of their letters is a break, as ". " is in English;
# and a line of them that runs to NO_STOP_PROSE_WORDS words (about 60 characters, longer
# than a headline) reads as prose without one.
NO_STOP_RANGES = "\u0e00-\u0eff"
UNSPACED_BREAK = "[\u0e01-\u0e4e\u0e81-\u0ece] [\u0e01-\u0e4e\u0e81-\u0ece]"
NO_STOP_PROSE_WORDS = 12
