"""The line rules' filter with a user's very large rule: sharing a part, or alone.

    python bench/rule_filter_parts.py [--names 3000] [--reps 7]

Writes a rule file of --names made-up brand names (one case-insensitive alternation, as
a user's list would be), loads it beside the built-in rules, and times RE2's filters over
the lines of bench's 20 MB generated corpus (its first 1,500 documents) grouped four
ways: the built-in rules' two parts with the big rule in the second (as before
PART_ALONE_CHARS), the big rule in a part of its own (curate's grouping now), three even
parts, and the built-in rules alone. Rounds interleave the groupings; the best of --reps
is printed, in µs a line.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from curate.rule_filter import PART_ALONE_CHARS, _compiled_filter, filtered_rules, line_filter
from curate.rules import load_rules

CORPUS = Path(__file__).resolve().parent / "data" / "corpus20" / "corpus.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=3000, help="names in the user's rule")
    parser.add_argument("--reps", type=int, default=7, help="interleaved rounds; the best of each is printed")
    args = parser.parse_args()
    rng = random.Random(5)
    names = sorted({"".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(6, 11)))
                    for _ in range(args.names)})
    with tempfile.TemporaryDirectory() as folder:
        quote = "'" * 3
        (Path(folder) / "brands.toml").write_text(
            '[[rule]]\nname = "brand-list"\nreason = "brand names"\n'
            f'pattern = {quote}(?i)\\b({"|".join(names)})\\b{quote}\n'
            f'examples.match = ["Buy {names[0]} now"]\nexamples.keep = ["an ordinary sentence"]\n', encoding="utf-8")
        ruleset = load_rules([Path(folder)])
    sources = [rule.regex.re2 for rule in filtered_rules(ruleset)]  # type: ignore[union-attr]
    big = len(sources) - 1
    flt = line_filter(ruleset)
    assert flt is not None and len(sources[big]) > PART_ALONE_CHARS
    now = [group for group, _ in flt._parts]
    builtin = [[k for k in group if k != big] for group in now if group != [big]]
    half = len(builtin[0])
    groupings = {"big rule shares a part (before)": [list(range(half)), list(range(half, big + 1))],
                 "big rule alone (now)": now,
                 "three even parts": [list(range(k, min(k + (big + 3) // 3, big + 1)))
                                      for k in range(0, big + 1, (big + 3) // 3)],
                 "built-in rules alone": builtin}
    filters = {label: [_compiled_filter(tuple(sources[k] for k in group)) for group in groups]
               for label, groups in groupings.items()}
    lines = [line.encode() for record in map(json.loads, CORPUS.open(encoding="utf-8").readlines()[:1500])
             for line in record["text"].split("\n") if line.strip() and len(line.encode()) <= 2048]
    best = dict.fromkeys(filters, float("inf"))
    for _ in range(args.reps):
        for label, parts in filters.items():
            start = time.perf_counter()
            for data in lines:
                for part in parts:
                    part.Match(data, False)
            best[label] = min(best[label], time.perf_counter() - start)
    print(f"{len(lines):,} lines; user rule of {len(names):,} names, {len(sources[big]):,} characters in RE2's "
          f"form; best of {args.reps}")
    for label, seconds in best.items():
        print(f"{label:<34} {len(groupings[label])} filters  {seconds / len(lines) * 1e6:5.1f} µs a line")


if __name__ == "__main__":
    main()
