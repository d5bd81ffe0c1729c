"""Generate a deterministic benchmark corpus of scraped-looking documents.

    python bench/generate.py --mb 50 --out bench/data/corpus50

writes OUT/corpus.jsonl (one document per line, a ``text`` and an ``id`` field) and
OUT/truth.tsv (which paragraph copies which, as document id and line of the text,
with the edit rate and the true word 5-gram Jaccard). The same arguments always give the same bytes.

Sentences come from the real pages in tests/fixtures/noise-dev (mostly German and
English, some Spanish, French and Polish) and the seeds, so the text has real words,
real lengths and real scripts. On top of them:

- 20% of paragraphs copy an earlier paragraph: a quarter exactly, the rest with
  word substitutions, deletions and insertions at rates of 1, 2, 5, 10, 20 and 35%;
- 40% of documents get boilerplate lines (cookie banners, share bars, bylines,
  "see also" links, comment widgets, dates) at the top and the bottom;
- 3% of documents get mojibake (UTF-8 read as cp1252), 3% HTML entities.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "tests" / "fixtures" / "noise-dev" / "input", ROOT / "seeds"]
SEED = 20261123
EDIT_RATES = (0.01, 0.02, 0.05, 0.10, 0.20, 0.35)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

BOILERPLATE_TOP = [
    "Home » News » {topic}",
    "Startseite > {topic} > Aktuelles",
    "By admin",
    "Posted by {name} | {date}",
    "Release time: {date} 12:51 PM",
    "{date}",
    "Share this:",
    "Facebook Twitter LinkedIn WhatsApp",
]
BOILERPLATE_BOTTOM = [
    "See also  {headline}",
    "You may also like",
    "Leave a Comment",
    "No comments:",
    "Post a Comment",
    "This site uses Akismet to reduce spam. Learn how your comment data is processed.",
    ("This website uses cookies to improve your experience. We'll assume you're ok with this, "
     "but you can opt-out if you wish. Accept Read More"),
    "Privacy & Cookies Policy",
    "Diese Website verwendet Cookies. Wenn Sie die Website weiter nutzen, gehen wir von Ihrem Einverständnis aus.",
    "Photo by {name}",
    "(Finish)",
    "Lesen Sie auch: {headline}",
    "Impressum | Datenschutz | Kontakt",
]
TOPICS = ["Politics", "Economy", "Sports", "Culture", "Science", "Region", "Wirtschaft", "Kultur"]
NAMES = ["Anna Müller", "John Smith", "Wang Jian", "Marie Dupont", "Jan Kowalski", "Lucía García"]
MONTHS = ["January", "March", "May", "July", "September", "November"]


def load_sentences() -> list[str]:
    sentences: set[str] = set()
    for folder in SOURCES:
        for path in sorted(folder.glob("*.txt")):
            for line in path.read_text(encoding="utf-8").splitlines():
                for s in _SENTENCE_END.split(line.strip()):
                    if len(s.split()) >= 8 and s[-1] in ".!?":
                        sentences.add(s)
    return sorted(sentences)


def shingles(text: str, n: int = 5) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def edit(text: str, rate: float, rng: random.Random, vocabulary: list[str]) -> str:
    words = text.split(" ")
    out = []
    for word in words:
        r = rng.random()
        if r < rate / 3:
            continue  # delete
        if r < 2 * rate / 3:
            out.append(rng.choice(vocabulary))  # substitute
            continue
        out.append(word)
        if r < rate:
            out.append(rng.choice(vocabulary))  # insert
    return " ".join(out)


def fill(template: str, rng: random.Random, sentences: list[str]) -> str:
    return template.format(
        topic=rng.choice(TOPICS), name=rng.choice(NAMES),
        date=f"{rng.choice(MONTHS)} {rng.randint(1, 28)}, {rng.randint(2015, 2025)}",
        headline=rng.choice(sentences)[:90].rstrip(" .,"),
    )


def generate(mb: float, out: Path, seed: int = SEED) -> dict:
    rng = random.Random(seed)
    sentences = load_sentences()
    vocabulary = sorted({w for s in sentences[:3000] for w in s.split() if w.isalpha()})
    target = int(mb * 1_000_000)
    out.mkdir(parents=True, exist_ok=True)
    paragraphs: list[str] = []  # every paragraph emitted so far, by global index
    locations: list[tuple[str, int]] = []  # (document id, line in its text) of each paragraph
    written = docs = 0
    truth_rows = []
    with open(out / "corpus.jsonl", "w", encoding="utf-8", newline="\n") as corpus:
        while written < target:
            n_paras = max(1, min(40, int(rng.lognormvariate(1.8, 0.6))))
            doc_id = f"doc-{docs:07d}"
            body = []
            copies = []
            for _ in range(n_paras):
                if paragraphs and rng.random() < 0.20:
                    src = rng.randrange(len(paragraphs))
                    if rng.random() < 0.25:
                        text, rate = paragraphs[src], 0.0
                    else:
                        rate = rng.choice(EDIT_RATES)
                        text = edit(paragraphs[src], rate, rng, vocabulary)
                    copies.append((len(paragraphs), src, rate, round(jaccard(paragraphs[src], text), 4)))
                else:
                    k = max(1, int(rng.lognormvariate(1.2, 0.5)))
                    text = " ".join(rng.choice(sentences) for _ in range(k))
                paragraphs.append(text)
                body.append(text)
            lines = []
            if rng.random() < 0.40:
                lines += [fill(t, rng, sentences) for t in rng.sample(BOILERPLATE_TOP, rng.randint(1, 3))]
            first_body_line = len(lines)
            lines += body
            # Paragraphs are separated by one blank line, so list position i is text line 2i+1.
            locations.extend((doc_id, 2 * (first_body_line + k) + 1) for k in range(len(body)))
            for copy, src, rate, jac in copies:
                truth_rows.append((*locations[copy], *locations[src], rate, jac))
            if rng.random() < 0.40:
                lines += [fill(t, rng, sentences) for t in rng.sample(BOILERPLATE_BOTTOM, rng.randint(1, 4))]
            text = "\n\n".join(lines)
            r = rng.random()
            if r < 0.03:
                text = text.encode("utf-8").decode("cp1252", errors="replace")
            elif r < 0.06:
                text = text.replace("&", "&amp;").replace("'", "&#39;")
            record = json.dumps({"id": doc_id, "text": text}, ensure_ascii=False)
            corpus.write(record + "\n")
            written += len(record.encode("utf-8")) + 1
            docs += 1
    with open(out / "truth.tsv", "w", encoding="utf-8") as f:
        f.write("copy_doc\tcopy_line\toriginal_doc\toriginal_line\tedit_rate\tjaccard\n")
        f.writelines("\t".join(map(str, row)) + "\n" for row in truth_rows)
    meta = {"mb": mb, "seed": seed, "documents": docs, "paragraphs": len(paragraphs), "bytes": written,
            "copies": len(truth_rows)}
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def ensure_corpus(mb: float) -> Path:
    """bench/data/corpus<MB>/, generated the first time it is asked for (deterministic)."""
    data = Path(__file__).resolve().parent / "data" / f"corpus{mb:g}"
    if not (data / "corpus.jsonl").exists():
        print(f"generating {mb:g} MB in {data} ...", flush=True)
        generate(mb, data)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=50.0, help="size of corpus.jsonl in MB (default 50)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "data" / "corpus50")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    print(json.dumps(generate(args.mb, args.out, args.seed)))


if __name__ == "__main__":
    main()
