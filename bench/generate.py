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

Two shapes (--shape): ``standard``, documents of about 2.9 kB with a lognormal number of
paragraphs (mean about 6.7) of about 420 bytes; and ``large``, documents of about 6 kB with
8 paragraphs (6 to 10) of about 750 bytes, issue 15's second corpus. Everything else
(copies, edits, boilerplate, mojibake, truth.tsv) is the same.

    python bench/generate.py --gb 10 --pieces --out bench/data/scale10gb

builds a large corpus from deterministic pieces of 100 MB, each generated with its own
seed (seed + piece number, document ids prefixed ``pNNNN-``) by two processes and
appended to OUT/corpus.jsonl as soon as it is done, so no process holds more than one
piece. Copies stay within a piece. Every piece after the first respells about half of its
words (``respell``, seeded by the piece): the sources hold only ~11,000 sentences, so
without it a 10 GB corpus would use each sentence ~7,500 times, and the short paragraphs
sharing one would form near-duplicate families (Jaccard 0.3-0.6, below the threshold, all
kept) that grow with the corpus. Each paragraph is verified against every kept member of
its family that shares a band, so dedup work per paragraph grew with the corpus: from 1 to
6 candidate pairs per paragraph between 200k and 1M paragraphs, and 158 s of index work
for 1 GB against 4.4 s for 100 MB. Real vocabularies grow with a corpus; with the
respelling the pieces share boilerplate but not content, and each behaves like the 100 MB
corpus. No truth.tsv: recomputing every copy's Jaccard is a third of the generator's time,
and quality is measured on the small corpora.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import re
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Shape:
    """How many paragraphs a document has and how many sentences a new paragraph has,
    each drawn from the generator's one random stream (so the draws are part of the bytes)."""

    paragraphs: Callable[[random.Random], int]
    sentences: Callable[[random.Random], int]


SHAPES = {
    # The first shape; its draws must never change, or every standard corpus changes.
    "standard": Shape(paragraphs=lambda rng: max(1, min(40, int(rng.lognormvariate(1.8, 0.6)))),
                      sentences=lambda rng: max(1, int(rng.lognormvariate(1.2, 0.5)))),
    # Issue 15's second shape: about 6 kB and 8 paragraphs of about 750 bytes per document.
    "large": Shape(paragraphs=lambda rng: max(2, min(20, round(rng.gauss(8, 2)))),
                   sentences=lambda rng: max(1, round(rng.lognormvariate(1.75, 0.35)))),
}
PIECE_MB = 100.0


def load_sentences() -> list[str]:
    sentences: set[str] = set()
    for folder in SOURCES:
        for path in sorted(folder.glob("*.txt")):
            for line in path.read_text(encoding="utf-8").splitlines():
                for s in _SENTENCE_END.split(line.strip()):
                    if len(s.split()) >= 8 and s[-1] in ".!?":
                        sentences.add(s)
    return sorted(sentences)


def respell(sentence: str, dialect: int) -> str:
    """The sentence with about half of its words changed by one letter, the same way for
    the same word and dialect (a piece's number), and differently in another dialect: two
    pieces then share a word 5-gram about once in a thousand."""
    words = []
    for word in sentence.split(" "):
        h = zlib.crc32(f"{dialect}:{word}".encode())
        if h & 1 and word:
            at = (h >> 1) % (len(word) + 1)
            word = word[:at] + "abdegiklmnorstu"[(h >> 8) % 15] + word[at:]
        words.append(word)
    return " ".join(words)


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


def generate(mb: float, out: Path, seed: int = SEED, shape: str = "standard", truth: bool = True,
             id_prefix: str = "", dialect: int = 0) -> dict:
    """Write OUT/corpus.jsonl (about ``mb`` MB), OUT/truth.tsv (unless ``truth`` is false)
    and OUT/meta.json; the same arguments always give the same bytes. A ``dialect`` other
    than 0 respells the source sentences (``respell``)."""
    form = SHAPES[shape]
    rng = random.Random(seed)
    sentences = load_sentences()
    if dialect:
        sentences = [respell(sentence, dialect) for sentence in sentences]
    vocabulary = sorted({w for s in sentences[:3000] for w in s.split() if w.isalpha()})
    target = int(mb * 1_000_000)
    out.mkdir(parents=True, exist_ok=True)
    paragraphs: list[str] = []  # every paragraph emitted so far, by global index
    locations: list[tuple[str, int]] = []  # (document id, line in its text) of each paragraph
    written = docs = 0
    truth_rows = []
    with open(out / "corpus.jsonl", "w", encoding="utf-8", newline="\n") as corpus:
        while written < target:
            n_paras = form.paragraphs(rng)
            doc_id = f"{id_prefix}doc-{docs:07d}"
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
                    jac = round(jaccard(paragraphs[src], text), 4) if truth else None
                    copies.append((len(paragraphs), src, rate, jac))
                else:
                    k = form.sentences(rng)
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
    if truth:
        with open(out / "truth.tsv", "w", encoding="utf-8") as f:
            f.write("copy_doc\tcopy_line\toriginal_doc\toriginal_line\tedit_rate\tjaccard\n")
            f.writelines("\t".join(map(str, row)) + "\n" for row in truth_rows)
    meta: dict[str, object] = {"mb": mb, "seed": seed, "documents": docs, "paragraphs": len(paragraphs),
                               "bytes": written, "copies": len(truth_rows)}
    if shape != "standard":  # the standard meta.json keeps its bytes too
        meta["shape"] = shape
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def _piece(job: tuple[int, float, int, str, Path]) -> Path:
    number, mb, seed, shape, folder = job
    out = folder / f"piece{number:04d}"
    generate(mb, out, seed + number, shape, truth=False, id_prefix=f"p{number:04d}-", dialect=number)
    return out


def generate_pieces(mb: float, out: Path, seed: int = SEED, shape: str = "standard", piece_mb: float = PIECE_MB,
                    processes: int = 2) -> dict:
    """OUT/corpus.jsonl of about ``mb`` MB, the concatenation of pieces of ``piece_mb`` MB, each
    ``generate``d with seed + its number; the pieces are made in parallel, appended in order
    and deleted, so the disk holds at most ``processes`` pieces besides the corpus."""
    out.mkdir(parents=True, exist_ok=True)
    count = max(1, round(mb / piece_mb))
    jobs = [(n, mb / count, seed, shape, out) for n in range(count)]
    totals = {"mb": mb, "seed": seed, "shape": shape, "pieces": count, "piece_mb": round(mb / count, 3),
              "documents": 0, "paragraphs": 0, "bytes": 0, "copies": 0, "respelled": True}
    with open(out / "corpus.jsonl", "wb") as corpus, multiprocessing.Pool(processes) as pool:
        for folder in pool.imap(_piece, jobs):  # imap keeps the pieces' order
            with open(folder / "corpus.jsonl", "rb") as part:
                shutil.copyfileobj(part, corpus, 1 << 20)
            piece = json.loads((folder / "meta.json").read_text())
            for key in ("documents", "paragraphs", "bytes", "copies"):
                totals[key] += piece[key]
            shutil.rmtree(folder)
    (out / "meta.json").write_text(json.dumps(totals, indent=2) + "\n")
    return totals


def ensure_corpus(mb: float, shape: str = "standard") -> Path:
    """bench/data/corpus<MB>/ (corpus-large<MB>/ for the large shape), generated the first
    time it is asked for (deterministic)."""
    name = f"corpus{mb:g}" if shape == "standard" else f"corpus-{shape}{mb:g}"
    data = Path(__file__).resolve().parent / "data" / name
    if not (data / "meta.json").exists():  # written last: an interrupted generation starts again
        print(f"generating {mb:g} MB ({shape} shape) in {data} ...", flush=True)
        generate(mb, data, shape=shape)
    return data


def ensure_pieces(mb: float, shape: str = "standard") -> Path:
    """bench/data/pieces<MB>/ (pieces-<shape><MB>/): ``generate_pieces``, the first time."""
    name = f"pieces{mb:g}" if shape == "standard" else f"pieces-{shape}{mb:g}"
    data = Path(__file__).resolve().parent / "data" / name
    meta = data / "meta.json"  # written last; pieces made before respelling are made again
    if not meta.exists() or not json.loads(meta.read_text()).get("respelled"):
        print(f"generating {mb:g} MB ({shape} shape) in pieces in {data} ...", flush=True)
        generate_pieces(mb, data, shape=shape)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=50.0, help="size of corpus.jsonl in MB (default 50)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "data" / "corpus50")
    parser.add_argument("--gb", type=float, help="size in GB instead of --mb")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="standard",
                        help="standard (default) or large (about 6 kB, 8 paragraphs per document)")
    parser.add_argument("--pieces", action="store_true",
                        help=f"concatenate re-seeded pieces of {PIECE_MB:g} MB made by two processes (no truth.tsv)")
    args = parser.parse_args()
    mb = args.gb * 1000 if args.gb is not None else args.mb
    if args.pieces:
        print(json.dumps(generate_pieces(mb, args.out, args.seed, args.shape)))
    else:
        print(json.dumps(generate(mb, args.out, args.seed, args.shape)))


if __name__ == "__main__":
    main()
