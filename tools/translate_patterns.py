"""Write curate/rules/translated.json.gz: the built-in rules' patterns, translated ahead of
time (curate/pattern_table.py says why). Run it after changing a built-in rule's pattern
or phrases, or the translation in curate/patterns.py:

    python tools/translate_patterns.py

tests/test_pattern_table.py fails until the file matches the rules and the code.
"""

from __future__ import annotations

from pathlib import Path

from curate.pattern_table import TABLE_FILE, build_table

if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "curate" / "rules" / TABLE_FILE
    data = build_table()
    target.write_bytes(data)
    print(f"wrote {target} ({len(data):,} bytes)")
