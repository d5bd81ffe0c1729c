"""Write what the package ships about its built-in rules, after changing one of them (or
the translation in curate/patterns.py, or the line model):

    python tools/translate_patterns.py

- curate/rules/translated.json.gz: the built-in rules' patterns, translated ahead of
  time (curate/pattern_table.py says why);
- curate/rules/verified.json: the SHA-256 of each built-in rule file, of the line model
  file and the pattern engines' versions, once every built-in rule has passed its own
  examples here (curate/rules_verified.py says why). Nothing is written if one fails.
  Engine versions proved before for the same files and model are kept: run it again
  with a new release of google-re2 or regex installed to add that release.

tests/test_pattern_table.py and tests/test_rules_verified.py fail until both files match
the rules and the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from curate.pattern_table import TABLE_FILE, build_table
from curate.rules import builtin_rule_files, example_failures, load_rules
from curate.rules_verified import RECORD_FILE, record_bytes, shipped_record

if __name__ == "__main__":
    folder = Path(__file__).resolve().parent.parent / "curate" / "rules"
    failures = [f"{rule.source}: rule {rule.name!r}: {failure}"
                for rule in load_rules(check_examples=False).rules for failure in example_failures(rule)]
    if failures:
        sys.exit("built-in rules fail their examples, nothing written:\n" + "\n".join(failures))
    earlier = shipped_record()
    for name, data in ((TABLE_FILE, build_table()),
                       (RECORD_FILE, record_bytes({f.relative: f.data for f in builtin_rule_files()}, earlier))):
        (folder / name).write_bytes(data)
        print(f"wrote {folder / name} ({len(data):,} bytes)")
