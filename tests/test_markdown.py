"""Markdown: fenced code blocks found exactly, kept whole with their spacing, and no rule
or model takes a line out of one; inline marks (links, images, headings, bold) read as
rendered text by the stages and written as they were (units and the real CLI)."""

from __future__ import annotations

import json

import pytest
from conftest import corpus_shards, in_process, read_jsonl

from curate.document import Line, Origin
from curate.stages.fences import fenced_blocks
from curate.stages.markdown import rendered_marks
from curate.stages.normalise import code_text, normalise


def _lines(text: str) -> list[Line]:
    raws = [raw for raw in text.split("\n") if raw.strip()]
    return [Line(k, raw, raw, Origin(k + 1, 0, len(raw)), False) for k, raw in enumerate(raws)]


@pytest.mark.unit
@pytest.mark.parametrize(("text", "blocks"), [
    ("intro\n```\ncode\n```\nafter", [(1, 3)]),
    ("```yaml\na: 1\n```\n~~~\nb\n~~~", [(0, 2), (3, 5)]),
    # A fence closes on the same character, at least as long, and nothing else on the line.
    ("````\n```\nstill code\n````", [(0, 3)]),
    ("~~~\n```\n~~~", [(0, 2)]),
    ("```\ncode\n``` not a fence\n```", [(0, 3)]),
    # An opening fence that nothing closes opens nothing: the rest of the page is not code.
    ("```\nMenu\nFooter", []),
    ("text\n```\nclosed\n```\n```\nunclosed", [(1, 3)]),
    # Inside a list item, indented; and "``` a ` b" is inline code, not a fence.
    ("- step one:\n    ```sh\n    make\n    ```", [(1, 3)]),
    ("``` a ` b\nx\n```", []),
    ("No fences here, only prose with `code` and ~approximately~ nothing.", []),
])
def test_fenced_blocks(text, blocks):
    assert fenced_blocks(_lines(text)) == blocks


@pytest.mark.unit
def test_a_line_of_code_keeps_its_spacing():
    assert code_text("        return {'a':  1}\t# two spaces   ") == "        return {'a':  1}\t# two spaces"
    assert code_text("\u00a0\u00a0x = caf\u00c3\u00a9") == "  x = caf\u00e9"  # NBSP indentation, mojibake
    assert code_text("\tgo func() {}\x07") == "\tgo func() {}"
    assert code_text(" \u200b ") == ""


PAGE = """Sign in
Docs
Pricing

Configuring retention

Retention decides how long the server keeps each artifact before the cleanup job removes it for good.

Create a file with the policy:

```yaml
rules:
  - action: retain
    tag_selectors:
      - kind: doublestar
        pattern: "release-*"
# Copyright 2024 Example Inc. All rights reserved.
login(user)
Share
```

| Field | Meaning |
|---|---|
| action | what to do with matching artifacts |
| tag_selectors | which tags the rule applies to |
| schedule | a cron expression for when the policy runs |

The policy runs every night at midnight and keeps the ten most recent release images.

Privacy policy
© 2024 Example Inc.
"""


def test_a_code_block_goes_through_whole_with_its_indentation(tmp_path):
    """Through `curate run`: the block and its fences are in the output, indented as
    written, though rules hit three of its lines (a copyright line, a login link, a share
    button); the table after it and the paragraph after the table stay with the article,
    and the page's chrome goes."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "page.txt").write_text(PAGE, encoding="utf-8")
    out = tmp_path / "out"
    result = in_process("run", tmp_path / "in", "-o", out, "-q", "--no-project-rules")
    assert result.returncode == 0, result.stderr
    [record] = [r for shard in corpus_shards(out) for r in read_jsonl(shard)]
    block = PAGE[PAGE.index("```yaml"):PAGE.index("```\n\n|") + 3]
    assert block in record["text"]
    assert "| schedule | a cron expression for when the policy runs |" in record["text"]
    assert record["text"].endswith("keeps the ten most recent release images.")
    assert "Privacy policy" not in record["text"] and "Sign in" not in record["text"]
    removed = [json.loads(line)["removed"] for line in (out / "removed.jsonl").read_text().splitlines()]
    assert "Privacy policy" in removed and not [text for text in removed if text in block]


BLOCK = ("```bash\npython3 -m venv .venv && .venv/bin/pip install --upgrade the-tool-with-a-long-name\n"
         "{middle}\n.venv/bin/the-tool-with-a-long-name run --input data/ --output cleaned/ --workers 4\n```")
FIRST = BLOCK.format(middle='echo "done with the first batch of files in the data folder"')


@pytest.mark.parametrize("workers", ["1", "2"])
def test_dedup_removes_a_code_block_whole_or_not_at_all(tmp_path, workers):
    """A fenced block is one paragraph to dedup: a page that copies another's block loses
    it whole, fences included, each line pointing at the kept block's bytes; a page whose
    block shares two of its three lines keeps it whole (line by line, the two had gone and
    left a broken block: "```bash", a blank, the crontab line, a blank, "```")."""
    pages = {
        "a.txt": f"# Installing the tool\n\nThe tool runs on any machine with Python and a shell.\n\n{FIRST}\n",
        "b.txt": "# Running it nightly\n\nA second page explains how to run the same tool every night.\n\n"
                 + BLOCK.format(middle="crontab -e   # add a line that runs the command below at two") + "\n",
        "c.txt": f"# Installing it again\n\nA third page copies the block of the first page as it is.\n\n{FIRST}\n",
    }
    (tmp_path / "in").mkdir()
    for name, text in pages.items():
        (tmp_path / "in" / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = in_process("run", tmp_path / "in", "-o", out, "-q", "--no-project-rules", "--workers", workers)
    assert result.returncode == 0, result.stderr
    texts = {r["source"]: r["text"] for shard in corpus_shards(out) for r in read_jsonl(shard)}
    assert FIRST in texts["a.txt"]
    assert BLOCK.format(middle="crontab -e   # add a line that runs the command below at two") in texts["b.txt"]
    assert "```" not in texts["c.txt"] and "A third page copies" in texts["c.txt"]
    removed = [r for r in read_jsonl(out / "removed.jsonl") if r["reason"] == "duplicate"]
    assert [r["removed"] for r in removed] == FIRST.split("\n")
    start = len(pages["a.txt"].encode()) - len(FIRST.encode()) - 1
    assert {(r["duplicate_of"]["doc"], tuple(r["duplicate_of"]["bytes"])) for r in removed} == {
        ("a.txt", (start, start + len(FIRST.encode())))}


@pytest.mark.unit
@pytest.mark.parametrize(("text", "read"), [
    ("- [Sign in](/login)", "- Sign in"),
    ("[Skip to main content](#main)", "Skip to main content"),
    ("[![Tidepool](/logo.svg)](/)", "Tidepool"),
    ('See [the film](/wiki/Tide_(film) "Tide") and ![a map](map.png).', "See the film and a map."),
    ("## Related articles", "Related articles"),
    ("**Note:** the bucket must exist.", "Note: the bucket must exist."),
    # Not Markdown's, or not a mark: left as they are.
    ("# include <stdio.h>", "# include <stdio.h>"),
    ("# 10", "# 10"),
    ("[Symbol.iterator]()", "[Symbol.iterator]()"),
    (">>> print(comments[2]['user'])", ">>> print(comments[2]['user'])"),
    ("** STOP HERE **", "** STOP HERE **"),
    ("![](/spacer.gif)", "![](/spacer.gif)"),  # nothing left once rendered: the mark is the line
])
def test_inline_marks_render_as_a_reader_sees_them(text, read):
    assert rendered_marks(text) == read


@pytest.mark.unit
def test_the_stages_read_the_rendered_line_and_the_output_writes_the_markdown():
    from curate.document import Document
    from curate.write import document_record

    raws = ["## Sources", "- [Sign in](/login)", "Plain text stays as it is.", "Tokyo\tJapan\t37,400,000"]
    lines = [Line(k, raw, raw, Origin(k + 1, 0, len(raw)), False) for k, raw in enumerate(raws)]
    doc = normalise(Document("d", "d.txt", None, lines))
    assert [line.text for line in doc.lines] == ["Sources", "- Sign in", "Plain text stays as it is.",
                                                 "Tokyo Japan 37,400,000"]
    assert [line.shown for line in doc.lines] == ["## Sources", "- [Sign in](/login)", None,
                                                  "Tokyo\tJapan\t37,400,000"]
    assert document_record(doc)["text"] == "\n".join(raws)


@pytest.mark.unit
def test_a_nested_list_keeps_its_nesting_and_a_templates_indentation_goes():
    from curate.document import Document
    from curate.write import document_record

    def written(raws: list[str]) -> str:
        lines = [Line(k, raw, raw, Origin(k + 1, 0, len(raw)), False) for k, raw in enumerate(raws)]
        return document_record(normalise(Document("d", "d.txt", None, lines)))["text"]

    nested = ["- Clothes", "  - a warm layer", "    - with a hood", "- Food", "\t- lunch"]
    assert written(nested) == "\n".join(nested)
    # Every item indented alike (an HTML template's indentation): flush left, as the stages read them.
    assert written(["        - [Home](/)", "        - [News](/news)"]) == "- [Home](/)\n- [News](/news)"
    # Not a list: indentation goes, as before.
    assert written(["    An indented sentence on its own.", "  - a lone item"]) == \
        "An indented sentence on its own.\n- a lone item"


def test_a_line_of_unclosed_bold_marks_takes_linear_time(tmp_path):
    """An 800 kB line of "**a ": each "**" had been looked past to the end of the line, some
    twenty minutes for this page. The run must finish within the hostile-input limit, with
    every line judged and the page's code block found."""
    from conftest import run_process

    page = ["Intro sentence of the page that says what the code below does for the reader.",
            "```sh", "make install", "```", "**a " * 200_000,
            "A closing sentence of the page, long enough to read as the page's own text."]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "hostile.txt").write_text("\n".join(page) + "\n", encoding="utf-8")
    result = run_process("run", tmp_path / "in", "-o", tmp_path / "out", "-q", "--no-project-rules", timeout=90)
    assert result.returncode == 0, result.stderr
    [record] = [r for shard in corpus_shards(tmp_path / "out") for r in read_jsonl(shard)]
    assert "```sh\nmake install\n```" in record["text"]
    removed = read_jsonl(tmp_path / "out" / "removed.jsonl")
    assert len(record["lines"]) + len(removed) == len(page)


@pytest.mark.unit
def test_fences_that_nothing_closes_are_never_scanned_past(monkeypatch):
    """A hundred thousand opening fences that nothing closes had cost a scan to the end of
    the page each (quadratic). Now the scan forward runs only where a closing fence is
    there: the lines it looks at, over the page, are fewer than the page's lines."""
    from curate.stages import fences

    looked = []
    real = fences._closes
    monkeypatch.setattr(fences, "_closes", lambda raw, fence: looked.append(raw) or real(raw, fence))
    page = ["```x"] * 100_000 + ["~~~", "code", "~~~"] + ["````y"] * 1000 + ["``"]
    assert fenced_blocks(_lines("\n".join(page))) == [(100_000, 100_002)]
    assert len(looked) <= len(page)
