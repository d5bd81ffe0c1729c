"""`curate explain FILE` gives each line of FILE the verdict `curate run FILE` gives it,
whatever option of run that changes a verdict is given to both. explain had only the rule
options and built the rest of its config from defaults: `run de.txt --keep-lang en` removed
every line while explain kept 27, a cp1252 file read with --encoding cp1252 was kept by run
and quarantined by explain, --site off could not be given. Each case below is compared
through the real CLI, and each shows that its option changes the verdicts of the file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import FIXTURES, NEWS_SENTENCES, SEEDS, SITE_PROMO, invoke, read_corpus, read_jsonl

HEADER = re.compile(r"^== (.*): \d+ kept, \d+ dropped, \d+ quarantined$")

LINE = ("the harbour authority said on monday that the new container terminal would open in the spring two "
        "years late after a long dispute")
WORDS = LINE.split(" ")
ONE_WORD_OFF = " ".join([*WORDS[:10], "autumn", *WORDS[11:]])  # Jaccard 0.52 by 5-word shingles, 0.91 by words
LAST_WORD_OFF = " ".join([*WORDS[:-1], "settlement"])  # 0.89 by 5-word shingles
HAN = ["广州南沙区三十日召开高质量发展大会，会上透露，三区建设将突出最香港最岭南最未来的特色，加快打造一批产业集群。",
       "南沙区政府表示，将继续推进粤港澳全面合作，优化营商环境，吸引更多港澳青年来南沙创业就业，推动区域协调发展。",
       "会议还提出，要加快建设国际航运中心，完善港口基础设施，提升物流服务水平，打造面向世界的开放门户。"]
# HAN[0] with two characters changed: Jaccard under 0.8 by 5-character shingles, 0.94 by characters.
HAN_OFF = HAN[0][:10] + "北" + HAN[0][11:35] + "东" + HAN[0][36:]
ARTICLES = NEWS_SENTENCES[1:]
PROMO = SITE_PROMO


def _write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def _site_pages(folder: Path, promo_on: int) -> Path:
    """Five pages of one site, the promo on the first ``promo_on`` of them."""
    lines = [json.dumps({"id": f"p{k}", "url": f"https://gazette.example/{k}",
                         "text": (f"{PROMO}\n" if k < promo_on else "") + text}) + "\n"
             for k, text in enumerate(ARTICLES)]
    return _write(folder, "site.jsonl", "".join(lines))


def _pair(first: str, second: str, others: list[str] = ARTICLES) -> str:
    """A page where ``second`` follows ``first`` between other paragraphs (a page of two
    lines alone is mostly left out of its article region, before dedup sees them)."""
    return f"{others[1]}\n\n{first}\n\n{others[2]}\n\n{second}\n"


def _against(folder: Path) -> list[str]:
    """An earlier run's saved index that holds LINE."""
    earlier = _write(folder, "earlier.txt", f"{LINE}\n")
    result = invoke("run", earlier, "-o", folder / "earlier", "-q", "--save-index")
    assert result.exit_code == 0, result.output
    return ["--against", str(folder / "earlier")]


# (the option's name, how to make FILE in a folder, the options) for every option of run
# that changes a verdict; each option changes some verdict of its FILE.
CASES = [
    ("--keep-lang", lambda d: FIXTURES / "mixed" / "deutsch.txt", ["--keep-lang", "en"]),
    ("--encoding", lambda d: FIXTURES / "mixed" / "legacy-cp1252.txt", ["--encoding", "utf-8"]),
    ("--format", lambda d: _write(d, "page.dat", f"{LINE}\n"), ["--format", "txt"]),
    ("--text-field", lambda d: _write(d, "r.jsonl", json.dumps({"id": "a", "body": LINE}) + "\n"),
     ["--text-field", "body"]),
    ("--max-line-bytes", lambda d: _write(d, "long.txt", f"{LINE}\n{LINE} and more\n"), ["--max-line-bytes", "120"]),
    ("--max-doc-bytes", lambda d: _write(d, "big.txt", f"{LINE}\n"), ["--max-doc-bytes", "50"]),
    ("--max-doc-lines", lambda d: _write(d, "many.txt", f"{LINE}\n{ARTICLES[0]}\n{ARTICLES[1]}\n"),
     ["--max-doc-lines", "2"]),
    ("--site", lambda d: _site_pages(d, 5), ["--site", "off"]),
    ("--site-min-pages", lambda d: _site_pages(d, 5), ["--site-min-pages", "6"]),
    ("--site-min-share", lambda d: _site_pages(d, 3), ["--site-min-share", "0.7"]),
    ("--language-model", lambda d: _write(
        d, "eu.txt", "Euskal Herriko hiriburuetan egunero milaka lagunek erabiltzen dute garraio publikoa lanera "
                     "joateko.\nUdalak iragarri duenez, liburutegi nagusiak ordutegia luzatuko du azterketen "
                     "garaian ikasleentzat.\n"),
     ["--keep-lang", "und", "--language-model", "py3langid"]),
    ("--threshold", lambda d: _write(d, "dup.txt", _pair(LINE, LAST_WORD_OFF)), ["--threshold", "0.95"]),
    ("--num-perm", lambda d: _write(d, "dup.txt", _pair(LINE, LAST_WORD_OFF)), ["--num-perm", "16"]),
    ("--shingle-words", lambda d: _write(d, "dup.txt", _pair(LINE, ONE_WORD_OFF)), ["--shingle-words", "1"]),
    ("--shingle-chars", lambda d: _write(d, "han.txt", _pair(HAN[0], HAN_OFF, HAN)), ["--shingle-chars", "1"]),
    ("--min-words", lambda d: _write(d, "dup.txt", _pair(LINE, LINE)), ["--min-words", "30"]),
    ("--against", lambda d: _write(d, "later.txt", _pair(ARTICLES[0], LINE)), _against),
    ("--disable", lambda d: SEEDS / "003_42baa09dbcf2e687.txt", ["--disable", "byline"]),
    ("--enable", lambda d: _write(d, "short.txt", f"{ARTICLES[0]}\n"), ["--enable", "gopher-quality"]),
]


def run_verdicts(file: Path, out: Path, options: list[str]) -> list[tuple]:
    """(document, line, verdict, reason) of every line of FILE, as `curate run FILE` writes them."""
    result = invoke("run", file, "-o", out, "-q", *options)
    assert result.exit_code == 0, result.output
    rows = [(rec["id"], entry["line"], "keep", "") for rec in read_corpus(out) for entry in rec["lines"]]
    for r in read_jsonl(out / "removed.jsonl"):
        ref = r.get("duplicate_of")
        reason = f"duplicate of {ref['source']}:{ref['line']}" if ref else r["reason"]
        rows.append((r["doc"], r["line"], "drop", reason))
    rows += [("", q["line"], "quarantine", q["problem"]) for q in read_jsonl(out / "quarantine.jsonl")]
    return sorted(rows, key=lambda row: (row[0], row[1] or 0, row[2]))


def explain_verdicts(file: Path, options: list[str]) -> list[tuple]:
    """The same rows as `curate explain FILE` prints them (a reason is followed by the text)."""
    result = invoke("explain", file, "--width", "20", *options)
    assert result.exit_code == 0, result.output
    rows, doc = [], None
    for line in result.output.splitlines():
        header = HEADER.match(line)
        if header:
            doc = header.group(1)
            continue
        verdict = line[7:17].strip()
        where = int(line[:5]) if line[:5].strip() else None
        rows.append(("" if verdict == "quarantine" else doc, where, verdict, line[19:] if verdict != "keep" else ""))
    return sorted(rows, key=lambda row: (row[0], row[1] or 0, row[2]))


def assert_same(ran: list[tuple], explained: list[tuple]) -> None:
    assert [row[:3] for row in explained] == [row[:3] for row in ran]
    for (*_, reason), (*_, shown) in zip(ran, explained, strict=True):
        assert shown.startswith(reason), (reason, shown)


@pytest.mark.parametrize("option,make,options", CASES, ids=[case[0] for case in CASES])
def test_explain_gives_the_verdicts_of_run_with_each_option(tmp_path, option, make, options):
    file = make(tmp_path)
    if callable(options):
        options = options(tmp_path)
    assert option in options
    with_it = run_verdicts(file, tmp_path / "with", options)
    assert_same(with_it, explain_verdicts(file, options))
    if option not in ("--format", "--num-perm", "--against"):
        # The option changes the file's verdicts, so explain is not matching run by chance.
        # (--format: without it explain refuses the name; --num-perm finds the same pairs
        # here; --against: run refuses a second run without it, so its own case checks.)
        at = options.index(option)
        without = run_verdicts(file, tmp_path / "without", options[:at] + options[at + 2:])
        assert without != with_it, f"{option} changes nothing in this file; the case proves nothing"


def test_against_drops_the_earlier_runs_paragraph_in_explain(tmp_path):
    file = _write(tmp_path, "later.txt", _pair(ARTICLES[0], LINE))
    explained = explain_verdicts(file, _against(tmp_path))
    assert [row[2] for row in explained] == ["keep", "keep", "keep", "drop"]
    assert explained[3][1] == 7 and explained[3][3].startswith("duplicate of earlier.txt:1")
    assert all(row[2] == "keep" for row in explain_verdicts(file, []))


def test_explain_lists_a_quarantined_line_in_its_place(tmp_path):
    """A line that is not valid UTF-8 was listed after every other line of its document."""
    file = _write(tmp_path, "mixed.txt", "Grüße aus Köln, sagte der Bürgermeister am Montag in einer langen Rede.\n"
                  .encode() + b"Dies ist eine M\xfcll Zeile.\n" + f"{ARTICLES[1]}\n".encode())
    result = invoke("explain", file, "--width", "20")
    assert result.exit_code == 0, result.output
    rows = result.output.splitlines()[1:]
    assert [(int(row[:5]), row[7:17].strip()) for row in rows] == [(1, "keep"), (2, "quarantine"), (3, "keep")]
    # --only quarantine shows that line alone, under its document's header; a file with none says so.
    only = invoke("explain", file, "--width", "20", "--only", "quarantine")
    assert only.exit_code == 0, only.output
    assert only.output.splitlines()[0].endswith(": 2 kept, 0 dropped, 1 quarantined")
    assert [(int(row[:5]), row[7:17].strip()) for row in only.output.splitlines()[1:]] == [(2, "quarantine")]
    clean = _write(tmp_path, "clean.txt", f"{ARTICLES[1]}\n".encode())
    none = invoke("explain", clean, "--only", "quarantine")
    assert none.exit_code == 0 and none.stdout == "" and none.stderr == f"no line of {clean} is quarantined\n"


def test_rules_list_lists_the_rule_keep_lang_makes():
    result = invoke("rules", "list", "--keep-lang", "en,de")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("keep-lang "))
    assert row.split()[1:3] == ["document", "on"] and "--keep-lang de,en" in row
    assert not any(line.startswith("keep-lang ") for line in invoke("rules", "list").output.splitlines())
