"""Text-only boilerplate cleaners that curate is measured against in bench/noise.py.

- C4's line filter, as described in the C4 paper (Raffel et al. 2020, section 2.2) and
  its reference code (tensorflow_datasets c4_utils): keep lines that end in terminal
  punctuation and have at least 5 words; drop lines mentioning javascript or the
  policy phrases; drop citation markers; drop the page if it has "lorem ipsum" or a
  curly brace, or fewer than 3 sentences. Written here from that description.
- jusText (pip install 'curate[bench]'), fed each line as an HTML paragraph, with the
  stoplist that covers the most words of the page.
"""

from __future__ import annotations

import html
import re

_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]", re.IGNORECASE)
_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_TERMINAL = ('.', '?', '!', '"')
_SENTENCE = re.compile(r"[^.!?]+[.!?]+")


def c4_line_filter(text: str, min_words: int = 5, min_sentences: int = 3) -> str:
    kept = []
    for line in text.splitlines():
        line = _CITATION.sub("", line.strip())
        if not line.endswith(_TERMINAL) or line.endswith("..."):
            continue
        if len(line.split()) < min_words:
            continue
        lowered = line.lower()
        if "javascript" in lowered or any(p in lowered for p in _POLICY):
            continue
        kept.append(line)
    page = "\n".join(kept)
    lowered = page.lower()
    if "lorem ipsum" in lowered or "{" in page or len(_SENTENCE.findall(page)) < min_sentences:
        return ""
    return page


class JusText:
    def __init__(self):
        import justext

        self.justext = justext
        self.stoplists = {name: frozenset(justext.get_stoplist(name)) for name in justext.get_stoplists()}

    def best_stoplist(self, text: str) -> frozenset:
        words = [w.lower() for w in re.findall(r"\w+", text)]
        return max(self.stoplists.values(), key=lambda stop: sum(w in stop for w in words))

    def __call__(self, text: str) -> str:
        lines = [line for line in text.splitlines() if line.strip()]
        page = "<html><body>" + "".join(f"<p>{html.escape(line)}</p>" for line in lines) + "</body></html>"
        paragraphs = self.justext.justext(page.encode("utf-8"), self.best_stoplist(text), encoding="utf-8")
        return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)
