"""The output folder's README.md: a dataset card whose YAML header tells Hugging Face
`datasets` (and the Hub's viewer, once the folder is uploaded) which files hold what.

Without it `load_dataset("output")` read every JSON Lines file of the folder as one table
and failed on their different columns (the corpus, removed.jsonl, quarantine.jsonl). With
it the folder loads as the corpus, and `load_dataset("output", "removed")` as the audit.

The card depends only on the corpus format and on which audit files hold records, so two
runs of the same inputs and settings write the same bytes. A README.md that does not start
with CARD_HEAD is the user's: an output folder holding one is not curate's (curate.outdir),
and nothing of curate's replaces it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

CARD = "README.md"
CARD_HEAD = "---\n# Written by curate"


def dataset_card(shard_suffix: str, audits: tuple[str, ...] = (), corpus: bool = True, against: bool = False) -> str:
    """The card of an output folder whose corpus shards end in ``shard_suffix``
    (".jsonl", ".jsonl.gz", ".parquet", ...). ``audits``: the audit files that hold
    records ("removed.jsonl", "quarantine.jsonl"), each a configuration of its own when the
    corpus is JSON Lines too: `datasets` reads every configuration of a folder with the
    builder of its first (so not Parquet's), and fails on an empty file. ``corpus``: the
    corpus has a shard; a configuration that matches no file fails every configuration of
    the folder, so a run that kept nothing declares only its audit files (the first the
    default), whatever the corpus format. ``against``: the run was given an earlier run's
    index, and a `duplicate_of` may say it names a paragraph of it (`against`)."""
    declared = corpus or not audits
    configs = [_config("corpus", f"corpus/*{shard_suffix}", default=True)] if declared else []
    audit_configs = [name.split(".")[0] for name in audits] \
        if shard_suffix.startswith(".jsonl") or not declared else []
    configs += [_config(name, f"{name}.jsonl", default=not configs) for name in audit_configs]
    audit_note = "" if audit_configs else _AUDIT_BY_JSON
    fields = {**AUDIT_FIELDS, "removed": AGAINST_REMOVED_FIELDS} if against else AUDIT_FIELDS
    columns = "".join(f"- config_name: {name}\n  features:\n{_features(fields[name])}"
                      for name in audit_configs)
    dataset_info = f"dataset_info:\n{columns}" if columns else ""
    return f"""{CARD_HEAD}: how Hugging Face datasets and the Hub read this output folder.
configs:
{"".join(configs)}{dataset_info}---

# A corpus cleaned by curate

- `corpus/`: the kept text, one record a document, in shards: `text`, its `id` and
  `source`, each kept line's input line and byte span (`lines`), its `language`, and the
  input record's other fields (`metadata`).
- `removed.jsonl`: every removed line: its document, line and bytes, the stage and the
  reason.
- `quarantine.jsonl`: every input that could not be read (a file, record or line), and
  what to do about it.
- `summary.json`: what was read, kept, removed and quarantined, every rule file and the
  run's settings.

```python
from datasets import load_dataset

{_load_corpus(declared)}{_load_removed("removed" in audit_configs)}```
{audit_note}{_TYPES_NOTE if shard_suffix.startswith(".jsonl") else ""}
The fields of each file are described in curate's `docs/output.md`.
"""


# JSON Lines readers type a field by its first shard (curate.summary.add_types); static
# text, so the card stays the same for the same format and audit files.
_TYPES_NOTE = """
A `metadata` field whose values have two JSON types (`4` in one document and `4.5` or
`"p-4"` in another) can make a corpus of several shards fail to load, as `datasets`,
polars and pyarrow type a field by its first shard; `summary.json` names such fields under
`warnings`. Run curate again with `--output-format parquet`, whose `metadata` is one JSON
text column, or make the field's values one type in the input.
"""


_AUDIT_BY_JSON = """
`removed.jsonl` and `quarantine.jsonl` are JSON Lines whatever the corpus format: read them
with `load_dataset("json", data_files="path/to/this/folder/removed.jsonl")`.
"""


# The columns of the audit files (docs/output.md, "The audit files"; curate.write's
# removal_record and problem_record), declared so that `datasets` reads a file whose later
# records hold fields its first ones lack (a duplicate's `duplicate_of`, a model's
# `noise_score`) instead of failing to cast them to the columns of its first block.
# (name, type): a dtype, "[int64]" for a list, or a tuple of fields for a struct.
Field = tuple[str, "str | tuple[Field, ...]"]
_SPAN: tuple[Field, ...] = (("doc", "string"), ("source", "string"), ("line", "int64"), ("bytes", "[int64]"))
AUDIT_FIELDS: dict[str, tuple[Field, ...]] = {
    "removed": (*_SPAN, ("stage", "string"), ("reason", "string"), ("detail", "string"), ("removed", "string"),
                ("duplicate_of", _SPAN), ("similarity", "float64"), ("noise_score", "float64")),
    "quarantine": (("source", "string"), ("line", "int64"), ("bytes", "[int64]"), ("problem", "string"),
                   ("action", "string"), ("lines", "int64"), ("preview", "string")),
}
# A run --against: a duplicate_of may also say that it names a paragraph of the earlier run.
AGAINST_REMOVED_FIELDS: tuple[Field, ...] = tuple(
    (name, (*_SPAN, ("against", "bool"))) if name == "duplicate_of" else (name, kind)
    for name, kind in AUDIT_FIELDS["removed"])


def _features(fields: tuple[Field, ...], indent: str = "  ") -> str:
    """``fields`` as the YAML of a card's `features` (a `sequence:` list, understood by old
    and new releases of `datasets`)."""
    out = []
    for name, kind in fields:
        out.append(f"{indent}- name: {name}\n")
        if isinstance(kind, tuple):
            out.append(f"{indent}  struct:\n{_features(kind, indent + '  ')}")
        elif kind.startswith("["):
            out.append(f"{indent}  sequence: {kind[1:-1]}\n")
        else:
            out.append(f"{indent}  dtype: {kind}\n")
    return "".join(out)


def _config(name: str, path: str, default: bool = False) -> str:
    first = "  default: true\n" if default else ""
    return f"- config_name: {name}\n{first}  data_files:\n  - split: train\n    path: {path}\n"


def _load_corpus(declared: bool) -> str:
    if declared:
        return 'corpus = load_dataset("path/to/this/folder", split="train")\n'
    return "# This run kept no document: corpus/ is empty, and the folder loads as its audit.\n"


def _load_removed(configured: bool) -> str:
    if configured:
        return 'removed = load_dataset("path/to/this/folder", "removed", split="train")\n'
    return 'removed = load_dataset("json", data_files="path/to/this/folder/removed.jsonl", split="train")\n'


def is_own_card(opener: Callable[[], BinaryIO]) -> bool:
    """Whether the README.md that ``opener`` opens (on disk or in a bucket) is curate's
    card; one that cannot be read is not known to be, so its folder is not taken."""
    head = CARD_HEAD.encode("utf-8")
    try:
        with opener() as f:
            return f.read(len(head)) == head
    except OSError:
        return False
