"""A generated crawl of many pages per site: site templates around real article text.

    python bench/sites.py OUT [--sites 20] [--seed 0]

Each site has a language (English or German), a name, a menu, a tagline, a cookie notice,
a footer, a pool of promos (newsletter, app, donation, subscription: sentences that read
as prose) of which each page shows two, and a pool of teaser headlines of which each page
shows three under a "most read" heading. Each page is one real page's content lines (the
lines holding a gold keep snippet in tests/fixtures/noise-dev and noise-train, each page's
lines used once in the whole crawl) inside its site's template, plus a byline of its own.
Sites have 2 to 40 pages, and the pages of all sites are interleaved, as a crawl would
list them. Written as JSON Lines shards (OUT/crawl/) with `id`, `url` and `text`, and OUT/truth.jsonl:
for every page, each line's kind (`template`, `page` or `article`).

The same arguments give the same bytes (a seeded random.Random; no set order, no clock).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curate.gold import fold

SETS = (ROOT / "tests/fixtures/noise-dev", ROOT / "tests/fixtures/noise-train")
LANGUAGES = {"English": "en", "German": "de"}
PAGES = (2, 3, 5, 8, 12, 20, 40)  # pages per site, cycled
SHARDS = 4

MENU = {
    "en": ["Home", "News", "Local", "Politics", "Business", "Sport", "Culture", "Food", "Travel", "Science",
           "Opinion", "Video", "Podcasts", "Weather", "Events", "Jobs", "Archive", "Contact us"],
    "de": ["Startseite", "Nachrichten", "Region", "Politik", "Wirtschaft", "Sport", "Kultur", "Essen",
           "Reise", "Wissen", "Meinung", "Video", "Podcasts", "Wetter", "Termine", "Jobs", "Archiv", "Kontakt"],
}
TAGLINE = {
    "en": ["{name}: news that matters to {place}", "Independent reporting from {place} since {year}",
           "The voice of {place}"],
    "de": ["{name} – Nachrichten aus {place}", "Unabhängig berichtet aus {place} seit {year}",
           "Die Stimme von {place}"],
}
COOKIE = {
    "en": ["We use cookies to make {name} work, to measure how it is used and to show you relevant offers.",
           "By continuing to browse {name} you agree to our use of cookies and similar technologies."],
    "de": ["Wir verwenden Cookies, damit {name} funktioniert, um die Nutzung zu messen und passende Angebote "
           "zu zeigen.", "Wenn Sie {name} weiter nutzen, stimmen Sie der Verwendung von Cookies zu."],
}
PROMOS = {
    "en": ["Get the best of {name} in your inbox every Friday: sign up for our free weekly newsletter.",
           "Download the {name} app and never miss a story from {place} again, wherever you are.",
           "Reporting like this costs money: support {name} with a monthly contribution of any size.",
           "Subscribe to {name} for less than the price of a coffee a week and read without limits.",
           "Got a tip about something happening in {place}? Our reporters want to hear from you.",
           "Join thousands of readers who start their morning with the {name} briefing."],
    "de": ["Das Beste von {name} jeden Freitag im Postfach: Melden Sie sich für unseren kostenlosen "
           "Newsletter an.", "Laden Sie die App von {name} herunter und verpassen Sie keine Nachricht "
           "aus {place} mehr.", "Guter Journalismus kostet Geld: Unterstützen Sie {name} mit einem "
           "monatlichen Beitrag.", "Lesen Sie {name} ohne Grenzen, für weniger als eine Tasse Kaffee pro "
           "Woche.", "Sie wissen etwas, das in {place} passiert? Unsere Redaktion freut sich über Hinweise.",
           "Tausende Leserinnen und Leser beginnen ihren Morgen mit dem Briefing von {name}."],
}
MOST_READ = {"en": "Most read", "de": "Meistgelesen"}
TEASER_PARTS = {
    "en": (["New", "Old", "Hidden", "Famous", "Quiet", "Busy", "Little", "Great"],
           ["bakery", "bridge", "market", "garden", "school", "harbour", "museum", "theatre", "station"],
           ["reopens after repairs", "celebrates its anniversary", "draws record crowds",
            "faces an uncertain future", "gets a new owner", "wins a national prize"]),
    "de": (["Neue", "Alte", "Versteckte", "Berühmte", "Stille", "Kleine", "Große"],
           ["Bäckerei", "Brücke", "Markthalle", "Gärtnerei", "Schule", "Hafenbar", "Galerie", "Bühne"],
           ["öffnet wieder", "feiert Jubiläum", "zieht Rekordpublikum an", "sucht neue Betreiber",
            "gewinnt einen Preis", "wird saniert"]),
}
FOOTER = {
    "en": ["© {year} {name}. All rights reserved.", "Imprint", "Privacy policy", "Terms of use",
           "Advertise with us", "{name} is published by {group} Media Ltd, {place}."],
    "de": ["© {year} {name}. Alle Rechte vorbehalten.", "Impressum", "Datenschutz", "Nutzungsbedingungen",
           "Werbung", "{name} ist ein Angebot der {group} Medien GmbH, {place}."],
}
BYLINE = {"en": "By {author}, {day} {month} {year}", "de": "Von {author}, {day}. {month} {year}"}
MONTHS = {"en": ["March", "April", "May", "June"], "de": ["März", "April", "Mai", "Juni"]}
AUTHORS = ["Anna Berg", "Tom Weiler", "Lena Fischer", "Sam Okafor", "Maria Costa", "Jonas Holm", "Ines Kraft"]
PLACES = ["Northbridge", "Elmsford", "Kaltenbach", "Lindenau", "Westhaven", "Rosenfeld", "Ashcombe", "Tannheim"]
SYLLABLES = ["ber", "lin", "tal", "ham", "ford", "ost", "wald", "mar", "kir", "ton", "dorf", "ley", "sen", "ring"]


def article_pages() -> dict[str, list[list[str]]]:
    """Real content lines, per page, by language: each line holds a gold keep snippet."""
    found: dict[str, list[list[str]]] = {"en": [], "de": []}
    seen: set[str] = set()
    for folder in SETS:
        manifest = {}
        for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            manifest[entry["name"]] = entry
        for path in sorted((folder / "input").glob("*.txt")):
            entry = manifest.get(path.stem, {})
            gold = json.loads((folder / "gold" / f"{path.stem}.json").read_text(encoding="utf-8"))
            snippets = [fold(s) for s in gold.get("keep", []) if fold(s)]
            lines = []
            for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
                text = " ".join(text.split())
                folded = fold(text)
                if text and text not in seen and any(s in folded for s in snippets):
                    lines.append(text)
            language = LANGUAGES.get(entry.get("language", "")) or stopword_language(lines)
            if language is None:
                continue
            if len(lines) >= 2:
                seen.update(lines)
                found[language].append(lines)
    return found


STOPWORDS = {"en": {"the", "and", "of", "to", "is", "in", "that", "with", "for", "you"},
             "de": {"der", "die", "und", "das", "ist", "nicht", "mit", "sich", "auf", "ein"}}


def stopword_language(lines: list[str]) -> str | None:
    """English or German, by their commonest words (noise-dev's manifest names no language)."""
    words = " ".join(lines).lower().split()
    counts = {lang: sum(w in stop for w in words) for lang, stop in STOPWORDS.items()}
    best = max(counts, key=lambda lang: counts[lang])
    return best if counts[best] >= 3 and counts[best] > 2 * min(counts.values()) else None


def site_template(rng: random.Random, number: int, language: str) -> dict:
    name = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize() + f" {['Post', 'Bote'][language == 'de']}"
    values = {"name": name, "place": rng.choice(PLACES), "year": rng.choice(range(1950, 2020)),
              "group": rng.choice(["Meridian", "Nordlicht", "Harbour", "Kompass"])}
    adjectives, nouns, ends = TEASER_PARTS[language]
    teasers = sorted({f"{rng.choice(adjectives)} {rng.choice(nouns)} {rng.choice(ends)}" for _ in range(10)})
    return {
        "domain": f"www.{name.split()[0].lower()}{number}.example",
        "language": language,
        "menu": rng.sample(MENU[language], rng.randint(6, 10)),
        "tagline": rng.choice(TAGLINE[language]).format(**values),
        "cookie": rng.choice(COOKIE[language]).format(**values),
        "promos": [p.format(**values) for p in rng.sample(PROMOS[language], 4)],
        "teasers": teasers[:8],
        "footer": [f.format(**{**values, "year": 2024}) for f in FOOTER[language]],
    }


def page_lines(rng: random.Random, site: dict, article: list[str]) -> list[tuple[str, str]]:
    """(kind, line) of one page, blank lines as ("", "")."""
    language = site["language"]
    byline = BYLINE[language].format(author=rng.choice(AUTHORS), day=rng.randint(1, 28),
                                     month=rng.choice(MONTHS[language]), year=2024)
    promos = rng.sample(site["promos"], 2)
    blank = ("", "")
    out = [("template", site["cookie"]), blank, *[("template", m) for m in site["menu"]], blank,
           ("template", site["tagline"]), blank, ("page", byline), blank]
    for i, line in enumerate(article):
        out += [("article", line), blank]
        if i == 1:
            out += [("template", promos[0]), blank]
    out += [("template", promos[1]), blank, ("template", MOST_READ[language])]
    out += [("template", t) for t in rng.sample(site["teasers"], 3)]
    out += [blank, *[("template", f) for f in site["footer"]]]
    return out


def generate(out: Path, sites: int = 20, seed: int = 0) -> dict:
    """Write the crawl into ``out`` (which must not hold one); returns its counts."""
    rng = random.Random(seed)
    articles = article_pages()
    for pages in articles.values():
        rng.shuffle(pages)
    crawl: list[tuple[str, str, list[tuple[str, str]]]] = []  # (id, url, lines)
    for number in range(sites):
        language = ("en", "de")[number % 2]
        site = site_template(rng, number, language)
        for page in range(PAGES[number % len(PAGES)]):
            if not articles[language]:
                break
            lines = page_lines(rng, site, articles[language].pop())
            crawl.append((f"s{number:02d}-p{page:02d}", f"https://{site['domain']}/{page}/story.html", lines))
    rng.shuffle(crawl)
    (out / "crawl").mkdir(parents=True, exist_ok=False)
    shards = [(out / "crawl" / f"part-{k}.jsonl").open("w", encoding="utf-8") for k in range(SHARDS)]
    with (out / "truth.jsonl").open("w", encoding="utf-8") as truth:
        for k, (doc_id, url, lines) in enumerate(crawl):
            text = "\n".join(line for _, line in lines)
            shards[k % SHARDS].write(json.dumps({"id": doc_id, "url": url, "text": text}, ensure_ascii=False) + "\n")
            truth.write(json.dumps({"id": doc_id, "lines": [[kind, line] for kind, line in lines if line]},
                                   ensure_ascii=False) + "\n")
    for shard in shards:
        shard.close()
    return {"pages": len(crawl), "sites": sites}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(generate(args.out, args.sites, args.seed))


if __name__ == "__main__":
    main()
