"""Site-level boilerplate: the census counts a site's lines across its pages, the site stage
removes those on many of them, and `curate rules suggest` turns what a run removed without
a rule into rules that pass `curate rules test`.

tests/fixtures/sites is bench/sites.py's crawl of 6 sites (2 to 20 pages each: site
templates around real article lines), with its truth."""

from __future__ import annotations

import json
import sys
import tomllib
from collections import Counter

import numpy as np
import pytest
from conftest import FIXTURES, ROOT, SEEDS, in_process, output_files, read_jsonl, run_process

from curate.document import Document, Line, Origin
from curate.stages.base import Batch
from curate.stages.site import REASON, SiteBoilerplate, page_key, page_keys, site_of
from curate.stages.site_census import Census
from curate.stages.site_host import bare_host, site_key

sys.path.insert(0, str(ROOT / "bench"))
from site_boilerplate import score
from sites import generate

SITES = FIXTURES / "sites"


def _doc(texts: list[str], url: str | None = None, source: str = "a/b/page.txt") -> Document:
    lines = [Line(i, t, t, Origin(i + 1, 0, len(t)), False) for i, t in enumerate(texts)]
    return Document(source, source, None, lines, metadata={"url": url} if url is not None else None)


@pytest.mark.unit
@pytest.mark.parametrize(("url", "site"), [
    ("https://www.example.org/a/b.html", "example.org"),
    ("http://News.Example.org:8080/x", "news.example.org"),
    ("  https://example.org  ", "example.org"),
    ("not a url", None),
    ("http://[::1", None),  # unparsable: no site, no crash
    ("", None),
])
def test_the_site_of_a_page_is_the_host_of_its_url(url, site):
    assert site_of(_doc(["x"], url), "url") == site


@pytest.mark.unit
def test_the_host_is_parsed_from_the_urls_start_as_from_the_whole_url():
    """site_of parses only the URL's start, up to its authority's end (cached per site):
    the same host as urlsplit finds in the whole URL, for URLs made of the pieces that
    move urlsplit's bounds (schemes, slashes, queries, fragments, ports, user info,
    brackets, tabs and newlines it drops, characters it refuses), and URLs without a
    scheme whose first segment is a host."""
    import random
    from urllib.parse import urlsplit

    def whole(url: str) -> str | None:
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            return None
        return site_key(parts.hostname if parts.netloc else bare_host(url.strip()))

    pieces = ["http:", "https:", "HTTP:", "", "mailto:", "//", "/", "?", "#", "www.", "Ex.ample", "user:pw@",
              ":8080", "[::1]", "[::1", "]", "a", "é", "\t", "\n", " ", "%41", "@", ":", ".", "\u2100", "\uff0f",
              "/path//x", "?q=//h", "#//h", "xn--bcher-kva", "ｅｘ", "\u3002", ".org", "index.html", "1.2.3.4"]
    rng = random.Random(5)
    for _ in range(20_000):
        url = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 7)))
        assert site_of(_doc(["x"], url), "url") == whole(url), url


@pytest.mark.unit
def test_a_page_without_a_url_has_no_site_and_folder_mode_uses_its_folder():
    assert site_of(_doc(["x"]), "url") is None
    assert site_of(_doc(["x"], "https://example.org/"), "off") is None
    assert site_of(_doc(["x"]), "folder") == "a/b"
    assert site_of(_doc(["x"], source="top.txt"), "folder") == "."


def _census_of(pages: list[tuple[str, list[str]]], budget: int, min_pages: int = 3, min_share: float = 0.0):
    census = Census(min_pages, min_share, budget=budget)
    census.limit = budget  # keys held before a spill: tiny here, so that the test spills
    for n, (site, texts) in enumerate(pages):
        doc = _doc(texts, f"https://{site}/{n}" if "/" not in site else f"https://{site}")
        site = site.split("/")[0]
        census.add((site, page_key(doc, "url"), page_keys(doc, site)))
    return census.table()


@pytest.mark.unit
def test_the_census_spilled_to_disk_gives_the_table_it_gives_in_memory():
    rng = np.random.default_rng(0)
    pages = []
    for n in range(300):
        site = f"site{n % 7}.example"
        texts = [f"menu {k}" for k in range(5)] + [f"line {rng.integers(0, 60)}" for _ in range(8)]
        pages.append((site, texts))
    in_memory = _census_of(pages, budget=1 << 30)
    spilled = _census_of(pages, budget=64)
    assert len(in_memory) > 35  # 5 menu lines per site, and the common random lines
    for field in ("keys", "counts", "pages"):
        assert np.array_equal(getattr(in_memory, field), getattr(spilled, field)), field
    assert np.all(np.diff(in_memory.keys.astype(np.float64)) > 0)  # sorted, for searchsorted


@pytest.mark.unit
def test_a_line_must_be_on_min_pages_and_min_share_of_its_sites_pages():
    pages = [("a.example", ["menu", f"story {n}"] + (["promo"] if n < 3 else [])) for n in range(10)]
    table = _census_of(pages, budget=1 << 30, min_pages=3, min_share=0.0)
    stage = SiteBoilerplate(table=table)
    batch = stage(Batch(0, [_doc(["menu", "promo", "story 0"], "https://a.example/")]))
    doc = batch.items[0]
    assert [line.text for line in doc.lines] == ["story 0"]
    assert {r.line.text: r.why.detail for r in doc.removed} == {
        "menu": "repeated on 10 of 10 pages of a.example", "promo": "repeated on 3 of 10 pages of a.example"}
    assert all(r.reason == REASON for r in doc.removed)
    # With a share of 0.5 a line on 3 of 10 pages is no longer the site's template.
    table = _census_of(pages, budget=1 << 30, min_pages=3, min_share=0.5)
    assert len(table) == 1


@pytest.mark.unit
def test_a_page_read_twice_counts_once():
    # The same URL in two shards of a dump is one page of its site, not two.
    pages = [("a.example/1", ["menu", "story"]), ("a.example/1", ["menu", "story"]), ("a.example/2", ["menu"])]
    assert len(_census_of(pages, budget=1 << 30, min_pages=3)) == 0
    table = _census_of(pages, budget=1 << 30, min_pages=2)
    assert len(table) == 1 and table.counts.tolist() == [2] and table.pages.tolist() == [2]


@pytest.mark.unit
def test_another_sites_page_keeps_the_same_lines():
    table = _census_of([("a.example", ["menu", f"story {n}"]) for n in range(5)], budget=1 << 30)
    doc = SiteBoilerplate(table=table)(Batch(0, [_doc(["menu", "story 9"], "https://b.example/")])).items[0]
    assert not doc.removed


def test_the_generator_writes_the_committed_crawl(tmp_path):
    generate(tmp_path / "sites", sites=6)
    for name in ("truth.jsonl", *(f"crawl/part-{k}.jsonl" for k in range(4))):
        assert (tmp_path / "sites" / name).read_bytes() == (SITES / name).read_bytes(), name


@pytest.fixture(scope="module")
def site_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "out"
    result = run_process("run", SITES / "crawl", "-o", out, "-q", "--timings", out.parent / "t.json")
    assert result.returncode == 0, result.stderr
    return out


def test_the_site_pass_removes_the_templates_and_no_article_line(site_run):
    table = score(SITES, site_run)
    template, article = table["template"], table["article"]
    assert template["lines"] > 1000
    assert template["by site share"] >= 0.95, template
    assert article["by site"] == 0, article
    # A two-page site has no template to find: the site pass leaves it to the rules.
    assert table["template (sites of <3 pages)"]["by site"] == 0
    summary = json.loads((site_run / "summary.json").read_text())
    assert summary["settings"]["site"] == {"from": "url", "min_pages": 3, "min_share": 0.02}
    assert summary["removed_by_reason"][REASON] == template["by site"]
    assert "census" in json.loads((site_run.parent / "t.json").read_text())["seconds"]


def test_the_site_pass_writes_the_same_bytes_with_two_workers(tmp_path, site_run):
    result = in_process("run", SITES / "crawl", "-o", tmp_path / "w2", "-q", "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert output_files(tmp_path / "w2") == output_files(site_run)


def test_site_off_and_pages_without_urls_run_no_census(tmp_path):
    result = in_process("run", SITES / "crawl", "-o", tmp_path / "off", "-q", "--site", "off")
    assert result.returncode == 0, result.stderr
    assert all(r["reason"] != REASON for r in read_jsonl(tmp_path / "off" / "removed.jsonl"))
    # .txt pages carry no URL: no first read of the input at all.
    result = in_process("run", SEEDS, "-o", tmp_path / "seeds", "-q", "--timings", tmp_path / "t.json")
    assert result.returncode == 0, result.stderr
    assert "census" not in json.loads((tmp_path / "t.json").read_text())["seconds"]


def test_site_folder_mode_finds_the_template_of_pages_in_one_folder(tmp_path):
    pages = tmp_path / "pages" / "gazette"
    pages.mkdir(parents=True)
    for n in range(4):
        (pages / f"{n}.txt").write_text(f"Home\nSport\n\nStory {n} is about a quiet bakery that reopened on the "
                                        "corner of the market square after two years.\n\n© 2024 Gazette\n")
    result = in_process("run", tmp_path / "pages", "-o", tmp_path / "out", "-q", "--site", "folder")
    assert result.returncode == 0, result.stderr
    by_site = {r["removed"] for r in read_jsonl(tmp_path / "out" / "removed.jsonl") if r["reason"] == REASON}
    assert by_site == {"Home", "Sport", "© 2024 Gazette"}


def test_rules_suggest_writes_rules_that_rules_test_accepts(tmp_path, site_run):
    target = tmp_path / "mine" / "site.toml"
    result = run_process("rules", "suggest", site_run, "-o", target, "--top", "12", cwd=tmp_path)  # end to end
    assert result.returncode == 0, result.stderr
    text = target.read_text(encoding="utf-8")
    assert text.count("[[rule]]") == 12
    assert "site:repeated" in text
    tested = in_process("rules", "test", target.parent, "--no-builtin-rules", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout
    assert "12 of 12 rules pass their examples" in tested.stdout
    # The rules remove, on their own, the lines they were made from.
    out = tmp_path / "with-rules"
    result = in_process("run", SITES / "crawl", "-o", out, "-q", "--site", "off", "--no-builtin-rules",
                         "--rules", target.parent, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reasons = {r["reason"] for r in read_jsonl(out / "removed.jsonl")}
    assert sum(reason.startswith("rule:suggested-") for reason in reasons) == 12


# A site's template as a scraper writes it: Markdown marks, spacing runs, an entity, NBSPs,
# a zero-width space, a tab, trailing spaces. The rules read each line otherwise than the
# audit holds it ("**Bold promo line** for ..." is "Bold promo line for ..." to them).
TEMPLATE = [
    "**Bold promo line** for subscribers only",
    "# Heading line that repeats",
    "[Sign up](/join) for the morning briefing",
    "![Gazette logo](/logo.png) The Gazette",
    "Call  us   at 555-1234 now",
    "Fish &amp; chips every Friday at the pier",
    "Read\u00a0more\u00a0stories here today",
    "Share\u200b this story with a friend",
    "Footer\tcontact  desk",
    "Letters to the editor welcome   ",
]
# No rule can be made of these, and rules suggest says why.
UNSUGGESTABLE = {"  # Indented heading here": "a Markdown heading after spaces",
                 "word " * 70: "longer than 300 characters"}
TOPICS = ["boats", "gulls", "tides", "ferries"]


def _gazette(folder):
    folder.mkdir()
    with open(folder / "pages.jsonl", "w", encoding="utf-8") as f:
        for n, topic in enumerate(TOPICS):
            lines = [f"The harbour master said the {topic} had come back early this year, before the spring fair.",
                     *TEMPLATE, *UNSUGGESTABLE,
                     f"Page {n} ends on a sentence of its own about the {topic} and the old town walls."]
            f.write(json.dumps({"url": f"https://gazette.example/{topic}", "text": "\n".join(lines)}) + "\n")


def test_suggested_rules_remove_exactly_what_the_site_pass_removed(tmp_path):
    """End to end: a run removes a site's template, `rules suggest` turns it into rules,
    `rules test` passes them, and a run with --site off and only those rules removes the
    same lines, each by the rule made from it, as many times: the rules match the lines as
    a run reads them (Markdown rendered, normalised), not as the audit holds them."""
    _gazette(tmp_path / "crawl")
    plain = ("-q", "--no-project-rules", "--no-builtin-rules")
    result = in_process("run", tmp_path / "crawl", "-o", tmp_path / "site", *plain, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    by_site = Counter(r["removed"] for r in read_jsonl(tmp_path / "site" / "removed.jsonl") if r["reason"] == REASON)
    assert by_site == Counter({line: len(TOPICS) for line in [*TEMPLATE, *UNSUGGESTABLE]})

    target = tmp_path / "mine" / "site.toml"
    result = in_process("rules", "suggest", tmp_path / "site", "-o", target, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # Nothing is left out silently: the lines without a rule are counted, with why.
    assert f"{len(UNSUGGESTABLE) * len(TOPICS)} removed lines could not be made into a rule" in result.stderr
    for why in UNSUGGESTABLE.values():
        assert f"{len(TOPICS)} {why}" in result.stderr
    assert f"{len(TEMPLATE)} rules written" in result.stderr
    tested = in_process("rules", "test", target.parent, "--no-builtin-rules", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout
    assert f"{len(TEMPLATE)} of {len(TEMPLATE)} rules pass their examples" in tested.stdout

    made_from = {rule["name"]: rule["examples"]["match"]
                 for rule in tomllib.loads(target.read_text(encoding="utf-8"))["rule"]}
    assert sorted(line for lines in made_from.values() for line in lines) == sorted(line.strip() for line in TEMPLATE)
    result = in_process("run", tmp_path / "crawl", "-o", tmp_path / "rules", *plain, "--site", "off",
                         "--rules", target.parent, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    by_rule = Counter((r["reason"].removeprefix("rule:"), r["removed"].strip())
                      for r in read_jsonl(tmp_path / "rules" / "removed.jsonl") if r["reason"].startswith("rule:"))
    assert by_rule == Counter({(name, line): by_site[raw] for name, lines in made_from.items()
                               for line in lines for raw in TEMPLATE if raw.strip() == line})


def test_rules_suggest_never_overwrites_and_says_what_is_wrong(tmp_path, site_run):
    target = tmp_path / "site.toml"
    target.write_text("# mine\n")
    result = in_process("rules", "suggest", site_run, "-o", target, cwd=tmp_path)
    assert result.returncode != 0 and "exists" in result.stderr
    assert target.read_text() == "# mine\n"
    result = in_process("rules", "suggest", tmp_path, "-o", tmp_path / "new.toml", cwd=tmp_path)
    assert result.returncode != 0 and "removed.jsonl" in result.stderr and "Traceback" not in result.stderr


# One host spelled several ways is one site: the census must count its pages together.
REPEATED = "Our weekly print edition reaches forty thousand homes across the valley."
SENTENCES = [
    "The council voted on Tuesday to repair the old stone bridge before the spring floods arrive.",
    "Local farmers say the late frost damaged nearly half of this year's apple blossoms in the valley.",
    "A new library branch will open next month with longer evening hours and a small reading garden.",
    "Volunteers cleaned the river banks over the weekend and collected more than two hundred bags of litter.",
    "The school choir won the regional contest with a program of folk songs from the northern hills.",
    "Road works on the main street will close one lane for three weeks starting on Monday morning.",
]


@pytest.mark.parametrize(("urls", "site"), [
    (["https://example.org/1", "https://example.org/2", "https://example.org/3"], "example.org"),
    (["http://EXAMPLE.org:8080/1", "https://example.org/2", "http://Example.Org:80/3"], "example.org"),
    (["https://example.org/1", "https://example.org./2", "https://example.org/3"], "example.org"),
    (["https://bücher.example/1", "https://xn--bcher-kva.example/2", "https://bücher.example/3"], "bücher.example"),
    (["http://[::1]/a", "http://[0:0:0:0:0:0:0:1]/b", "http://[::1]/c"], "::1"),
    (["https://ｅｘａｍｐｌｅ.org/1", "https://example.org/2", "https://ＥＸＡＭＰＬＥ．org/3"], "example.org"),
    (["example.org/1", "example.org/2", "example.org/3"], "example.org"),
    (["www.example.org/1", "https://example.org/2", "example.org:8080/3"], "example.org"),
], ids=["control", "case-and-ports", "trailing-dot", "idn", "ipv6", "full-width", "no-scheme", "no-scheme-www"])
def test_one_host_spelled_several_ways_is_one_site(tmp_path, urls, site):
    pages = [{"id": str(n), "url": url, "text": "\n\n".join([SENTENCES[2 * n], REPEATED, SENTENCES[2 * n + 1]])}
             for n, url in enumerate(urls)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pages),
                                       encoding="utf-8")
    out = tmp_path / "out"
    result = in_process("run", tmp_path / "in.jsonl", "-o", out, "-q")
    assert result.returncode == 0, result.stderr
    by_site = [r for r in read_jsonl(out / "removed.jsonl") if r["reason"] == REASON]
    assert sorted(r["doc"] for r in by_site) == ["0", "1", "2"]
    assert {r["removed"] for r in by_site} == {REPEATED}
    assert {r["detail"] for r in by_site} == {f"repeated on 3 of 3 pages of {site}"}
    kept = {doc["id"]: doc["text"] for doc in read_jsonl(out / "corpus" / "part-00000.jsonl")}
    assert kept == {p["id"]: "\n\n".join(SENTENCES[2 * n:2 * n + 2]) for n, p in enumerate(pages)}


def test_pages_whose_urls_are_relative_paths_get_no_site(tmp_path):
    # "news/1" or "index.html" is a path on some site, not a host: pages whose url fields
    # are such paths are left alone, as pages without a url are.
    urls = ["news/1", "/a/b", "index.html?page=3"]
    pages = [{"id": str(n), "url": url, "text": "\n\n".join([SENTENCES[2 * n], REPEATED, SENTENCES[2 * n + 1]])}
             for n, url in enumerate(urls)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pages), encoding="utf-8")
    result = in_process("run", tmp_path / "in.jsonl", "-o", tmp_path / "out", "-q")
    assert result.returncode == 0, result.stderr
    assert all(r["reason"] != REASON for r in read_jsonl(tmp_path / "out" / "removed.jsonl"))


@pytest.mark.unit
@pytest.mark.parametrize(("host", "key"), [
    (None, None), ("", None), (".", None),
    ("example.org", "example.org"), ("www.example.org", "example.org"), ("example.org.", "example.org"),
    ("www.example.org.", "example.org"), ("news.example.org", "news.example.org"),
    ("localhost", "localhost"), ("localhost.", "localhost"), ("www", "www"), ("my_host.example", "my_host.example"),
    ("bücher.example", "bücher.example"), ("xn--bcher-kva.example", "bücher.example"),
    ("ｅｘａｍｐｌｅ.org", "example.org"), ("ｅｘａｍｐｌｅ．org", "example.org"),
    ("ｅｘａｍｐｌｅ。org", "example.org"),
    ("ｗｗｗ.example.org", "example.org"), ("ｘｎ－－ｂｃｈｅｒ－ｋｖａ.example", "bücher.example"),
    ("faß.de", "fass.de"), ("xn--fa-hia.de", "fass.de"),  # nameprep (IDNA 2003) maps ß to ss
    # No valid IDN: kept as written, not merged with another host or dropped.
    ("xn--zzz-.example", "xn--zzz-.example"), ("xn--a.example", "xn--a.example"), ("xn--.example", "xn--.example"),
    ("a\u200eb.example", "a\u200eb.example"),
    ("127.0.0.1", "127.0.0.1"), ("::1", "::1"), ("0:0:0:0:0:0:0:1", "::1"), ("2001:db8:0:0:0:0:0:1", "2001:db8::1"),
    ("::ffff:1.2.3.4", "::ffff:1.2.3.4"), ("::ffff:102:304", "::ffff:1.2.3.4"), ("::zz", "::zz"),
])
def test_the_site_key_of_a_host(host, key):
    assert site_key(host) == key


@pytest.mark.unit
@pytest.mark.parametrize(("url", "host"), [
    ("example.org/1", "example.org"), ("Example.ORG", "example.org"), ("www.example.org/x", "www.example.org"),
    ("example.org:8080/x?q=1", "example.org"), ("example.org.", "example.org."), ("example.org#top", "example.org"),
    ("bücher.example/1", "bücher.example"), ("xn--bcher-kva.example/1", "xn--bcher-kva.example"),
    ("192.168.0.1/admin", "192.168.0.1"), ("docs.rs/serde", "docs.rs"),
    # Relative paths, files, and what else is no host.
    ("news/1", None), ("/a/b", None), ("./x", None), ("../x", None), ("", None), (".", None), (".org/x", None),
    ("localhost/x", None), ("localhost:8080/x", None), ("index.html", None), ("page.php?id=3", None),
    ("v1.2/x", None), ("3.14", None), ("a.b/x", None), ("-a.example/x", None), ("a_b.example/x", None),
    ("mailto:a@b.org", None), ("user@example.org/x", None), ("example.org:http/x", None), ("C:/x.y/z", None),
    ("c:\\x.y\\z", None), ("[::1]/x", None), ("a..example/x", None), ("a b.example/x", None),
])
def test_a_url_without_a_scheme_has_a_host_only_when_its_first_segment_is_one(url, host):
    assert bare_host(url) == host
