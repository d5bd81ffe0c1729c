"""Real pages saved in a legacy encoding are read back in it through the CLI
(curate.formats.legacy_encoding): windows-1252 pages that charset-normalizer took for
Shift_JIS, cp852 or nothing (a soft hyphen, a curly quote), and pages in the other
common code pages, which must still read right."""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURES, read_corpus, read_jsonl, run_process

PAGES = FIXTURES / "noise-train" / "input"
DEV = FIXTURES / "noise-dev" / "input"


def _encodable(text: str, encoding: str) -> bytes:
    """The page's lines that ``encoding`` can hold, in it (the page would have been written so)."""
    kept = []
    for line in text.splitlines():
        try:
            line.encode(encoding)
        except UnicodeEncodeError:
            continue
        kept.append(line)
    return "\n".join(kept).encode(encoding) + b"\n"


def _run(tmp_path: Path, files: dict[str, bytes]) -> tuple[dict, list]:
    src = tmp_path / "in"
    src.mkdir()
    for name, data in files.items():
        (src / name).write_bytes(data)
    out = tmp_path / "out"
    # dedup: read and normalise only (no rule or language filter drops a page).
    result = run_process("dedup", src, "-o", out, "-q", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return {r["source"]: r for r in read_corpus(out)}, read_jsonl(out / "quarantine.jsonl")


def test_windows_1252_pages_with_soft_hyphens_and_curly_quotes_are_read_as_such(tmp_path):
    pages = {
        "aws.txt": PAGES / "wcxb-test-4974-aws-amazon-com.txt",  # "what’s next": was cp932, "what痴 next"
        "mkecowork.txt": PAGES / "wcxb-test-5263-mkecowork-com.txt",  # also cp932
        "bmz.txt": DEV / "bmz-de-schulze-3f0d2a.txt",  # soft hyphens, umlauts: was cp852, "fŘr"
        "bafa.txt": DEV / "bafa-de-mineraloelabsatz-790fd2.txt",  # no guess: 194 of 245 lines quarantined
        "bundespolizei.txt": DEV / "bundespolizei-de-belarus-3cd0ba.txt",  # was hp-roman8
    }
    files = {name: path.read_text(encoding="utf-8").encode("cp1252") for name, path in pages.items()}
    # Five lines of the BMZ page: a title with soft hyphens, "für", a line of ASCII.
    files["bmz5.txt"] = ("Schulze: Deutsch\u00adland steht fest an der Seite des "
                         "Welt\u00adern\u00e4hrungs\u00adprogramms | BMZ\n\n"
                         "Startseite des Bundesministeriums f\u00fcr wirtschaftliche Zusammenarbeit und "
                         "Entwicklung\n\nEnglish\n").encode("cp1252")
    records, quarantine = _run(tmp_path, files)
    assert quarantine == []
    for name in files:
        assert records[name]["encoding"] == "cp1252", name
    assert "what\u2019s next" in records["aws.txt"]["text"] or "what's next" in records["aws.txt"]["text"]
    assert "Welt\u00adern\u00e4hrungs\u00adprogramms" in records["bmz5.txt"]["text"]  # not cp852's "ern\u201eh"


def test_pages_in_other_code_pages_still_read_right(tmp_path):
    chinese = (PAGES / "cwced-0ef8393b04.txt").read_text(encoding="utf-8")
    japanese = (PAGES / "readability-yahoo-4.txt").read_text(encoding="utf-8")
    czech = (PAGES / "readability-aktualne.txt").read_text(encoding="utf-8")
    russian = ("Привет, как дела? Это тестовый текст на русском языке, взятый для проверки.\n"
               "Второй абзац: «кавычки» и тире — всё как на настоящей странице.\n")
    files = {
        "chinese.txt": (_encodable(chinese, "gb18030"), "gb18030"),
        "japanese.txt": (_encodable(japanese, "shift_jis"), "shift_jis"),
        "czech.txt": (_encodable(czech, "cp1250"), "cp1250"),
        "polish.txt": ("Zażółć gęślą jaźń, mówi pan Źdźbło. Właśnie tak.\n".encode("cp1250"), "cp1250"),
        "polish-iso.txt": ("Zażółć gęślą jaźń, mówi pan Źdźbło.\n".encode("iso8859-2"), "iso8859-2"),
        "russian.txt": (russian.encode("cp1251"), "cp1251"),
        "korean.txt": ("한국어 텍스트입니다. 인코딩 테스트입니다.\n".encode("euc-kr"), "euc-kr"),
        "french.txt": ("Le château se trouve près de la forêt.\nÇa coûte 10 € — «très cher».\n".encode("cp1252"),
                       "cp1252"),
    }
    records, quarantine = _run(tmp_path, {name: data for name, (data, _) in files.items()})
    assert quarantine == []
    for name, (data, encoding) in files.items():
        # The encoding read (cp932 for Shift_JIS, cp949 for EUC-KR: supersets) gives the same text.
        assert data.decode(records[name]["encoding"]) == data.decode(encoding), (name, records[name]["encoding"])
