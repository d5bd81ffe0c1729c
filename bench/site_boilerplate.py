"""Site-level boilerplate on a generated crawl with truth (bench/sites.py).

    python bench/site_boilerplate.py [--sites 20] [--workers 1]

Generates the crawl (many pages per site, site templates around real article text), runs
the real `curate run` on it with the site pass (`--site url`, the default) and without
(`--site off`), and prints for each:

- template lines removed by the site pass (`site:repeated`) and by anything, of the
  template lines of sites with at least --site-min-pages pages (a site of two pages has no
  template to find: shown apart);
- article lines removed by the site pass (the target is none) and by anything;

then runs `curate rules suggest` on the first run's output and `curate rules test` on what
it wrote. Every command runs in OUT, so that no ./rules/ folder of the caller joins in.
Writes bench/results/site-boilerplate.json. Targets (issue 16): at least 95% of the
repeated template lines caught, no article line removed by the site pass.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sites import generate

OUT = HERE / "out" / "sites"
RESULTS = HERE / "results" / "site-boilerplate.json"
MIN_PAGES = 3
CATCH_TARGET = 0.95


def curate(*args: str) -> subprocess.CompletedProcess:
    OUT.mkdir(parents=True, exist_ok=True)
    return subprocess.run([sys.executable, "-m", "curate", *args], capture_output=True, text=True, check=False,
                          cwd=OUT)


def fates(out: Path) -> dict[str, dict[str, list[str]]]:
    """doc id -> removed text -> the reasons it was removed for (one per occurrence)."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    with (out / "removed.jsonl").open(encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            found[record["doc"]][record["removed"]].append(record["reason"])
    return found


def score(crawl: Path, out: Path) -> dict:
    """Counts of template, page and article lines by what became of them."""
    truth = [json.loads(line) for line in (crawl / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    pages_of = Counter(page["id"].split("-")[0] for page in truth)
    removed = fates(out)
    counts: Counter = Counter()
    for page in truth:
        small = pages_of[page["id"].split("-")[0]] < MIN_PAGES
        gone = removed.get(page["id"], {})
        for kind, text in page["lines"]:
            reasons = gone.get(text)
            reason = reasons.pop(0) if reasons else None
            group = f"{kind}{' (sites of <3 pages)' if small and kind == 'template' else ''}"
            counts[(group, "lines")] += 1
            counts[(group, "removed")] += reason is not None
            counts[(group, "by site")] += reason == "site:repeated"
    table: dict[str, dict[str, float]] = {}
    for (group, what), n in sorted(counts.items()):
        table.setdefault(group, {})[what] = n
    for row in table.values():
        row["removed share"] = round(row["removed"] / row["lines"], 4)
        row["by site share"] = round(row["by site"] / row["lines"], 4)
    return table


def run(crawl: Path, out: Path, workers: int, *extra: str) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    done = curate("run", str(crawl / "crawl"), "-o", str(out), "-q", "--workers", str(workers), *extra)
    if done.returncode:
        sys.exit(done.stderr)
    return score(crawl, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    crawl = OUT / "generated"
    made = generate(crawl, args.sites)
    print(f"generated crawl: {made['pages']} pages of {made['sites']} sites in {crawl}")
    results: dict = {"crawl": made}
    for label, extra in (("site pass", ()), ("site off", ("--site", "off"))):
        table = run(crawl, OUT / label.replace(" ", "-"), args.workers, *extra)
        results[label] = table
        print(f"\n{label}:")
        print(f"  {'lines':<32} {'count':>7} {'removed':>8} {'by site':>8}")
        for group, row in table.items():
            print(f"  {group:<32} {row['lines']:>7} {row['removed share']:>8.3f} {row['by site share']:>8.3f}")
    site = results["site pass"]
    caught = site["template"]["by site share"]
    article_by_site = site["article"]["by site"]
    verdict = "PASS" if caught >= CATCH_TARGET and article_by_site == 0 else "FAIL"
    print(f"\n{verdict}: site pass caught {caught:.3f} of repeated template lines (target {CATCH_TARGET}), "
          f"removed {article_by_site} article lines (target 0)")
    rules = OUT / "suggested" / "site.toml"
    suggested = curate("rules", "suggest", str(OUT / "site-pass"), "-o", str(rules))
    tested = curate("rules", "test", str(rules.parent), "--no-builtin-rules")
    n_rules = sum(line.startswith("[[rule]]") for line in rules.read_text(encoding="utf-8").splitlines()) \
        if rules.exists() else 0
    said = suggested.stderr.strip().splitlines()
    print(f"curate rules suggest: {n_rules} rules ({said[-1] if said else 'nothing said'})")
    print(f"curate rules test on them: exit {tested.returncode}; {tested.stdout.strip().splitlines()[-1]}")
    results["suggest"] = {"rules": n_rules, "rules_test_exit": tested.returncode}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
