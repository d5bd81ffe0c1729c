"""The report as one self-contained HTML page: inline CSS and SVG, no script, no link,
and a Content-Security-Policy that forbids loading anything, so it opens from disk
anywhere and shows the same thing offline."""

from __future__ import annotations

import json
from collections import Counter
from html import escape
from typing import Any

from curate.report import charts
from curate.report.clusters import cluster_records
from curate.report.figures import LENGTH_BINS, SIMILARITY_BINS, Figures
from curate.report.folder import OutputFolder

TOP_REASONS = 25
TOP_SOURCES = 20
TOP_LANGUAGES = 15
CLUSTERS_SHOWN = 50
COPIES_SHOWN = 3
CLUSTER_CHARS = 300
NOT_HERE = "(not in this output: a paragraph of the index the run was deduplicated --against)"

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1em 2em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { padding: 2px 8px; vertical-align: top; text-align: left; }
th { background: #f3f3f3; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafafa; }
.note { color: #666; font-style: italic; } .chart svg { max-width: 100%; height: auto; }
.pair { display: grid; grid-template-columns: 1fr 1fr 5em; gap: 4px 12px; margin: 0.5em 0 1.2em; }
.pair div { background: #f6f8fa; padding: 4px 8px; border-radius: 3px; white-space: pre-wrap; overflow-wrap: anywhere; }
.pair .kept { background: #e8f0f8; } .where { color: #666; font-size: 0.85em; }
code, .mono { font-family: ui-monospace, monospace; font-size: 0.9em; overflow-wrap: anywhere; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #ddd; border-radius: 4px; padding: 6px 12px; }
.card b { display: block; font-size: 1.4em; } summary { cursor: pointer; color: #444; }
nav { margin: 0.5em 0 1em; } a { color: #2a5d9f; } td:first-child > code { white-space: nowrap; }
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else escape(str(value))


def _get(data: Any, *path: str, default: Any = None) -> Any:
    """A field of summary.json, or default when an older or newer run wrote it otherwise."""
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def _top(counter: Counter, k: int) -> tuple[list[str], str]:
    """The k largest keys (ties by name) and a note of what was left out."""
    ranked = sorted(counter, key=lambda key: (-counter[key], key))
    shown = ranked[:k]
    rest = ranked[k:]
    note = (f"showing the {k} largest of {len(ranked):,}; the other {len(rest):,} together: "
            f"{sum(counter[r] for r in rest):,}") if rest else ""
    return shown, note


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>' if text else ""


def _table(head: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    out = ["<table><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _figures(what: str, shown: list[str], columns: list[tuple[str, Counter]]) -> str:
    """The numbers a chart draws, folded: its rows, and the rest summed in one row, so
    every column adds up to the run's total."""
    rows = [[escape(label), *(n(counter[label]) for _, counter in columns)] for label in shown]
    rest = {key for _, counter in columns for key in counter} - set(shown)
    if rest:
        rows.append([escape(f"(the other {len(rest):,})"),
                     *(n(sum(counter[key] for key in rest)) for _, counter in columns)])
    return (f"<details><summary>The figures, by {escape(what)}</summary>"
            + _table([what, *(name for name, _ in columns)], rows, set(range(1, len(columns) + 1))) + "</details>")


def _chart(name: str, svg: str) -> str:
    return f'<figure class="chart" id="chart-{name}">{svg}</figure>'


def render(folder: OutputFolder, fig: Figures) -> str:
    summary = folder.summary
    parts = [_overview(folder, fig), _reasons(summary, fig), _sources(fig), _languages(fig), _lengths(summary, fig),
             _clusters(folder, fig), _examples(fig), _settings(summary)]
    body = "\n".join(parts)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            f"<title>curate report: {escape(_name(folder))}</title><style>{_CSS}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")


def _name(folder: OutputFolder) -> str:
    """The folder's own name (of `.` too), not its path: the page is the same wherever the folder lies."""
    return folder.path.resolve().name or str(folder.path)


def _overview(folder: OutputFolder, fig: Figures) -> str:
    s = folder.summary
    cards = [("documents read", _get(s, "documents", "read")), ("documents written", _get(s, "documents", "written")),
             *([("documents quarantined", _get(s, "documents", "quarantined"))]
               if _get(s, "documents", "quarantined") is not None else []),
             ("lines read", _get(s, "lines", "read")), ("lines kept", _get(s, "lines", "kept")),
             ("lines removed", _get(s, "lines", "removed")), ("lines quarantined", _get(s, "lines", "quarantined")),
             ("problems", _get(s, "problem_counts", "total")),
             ("duplicate clusters", len(fig.clusters))]
    inputs = ", ".join(escape(str(_get(i, "root", default="?"))) for i in _get(s, "inputs", default=[]) or [])
    return (f"<h1>curate report: {escape(_name(folder))}</h1>"
            "<p class=\"where\">"
            + (f"inputs <code>{inputs}</code>" if inputs else "") + "</p>"
            + _contents() + '<section id="overview"><div class="cards">'
            + "".join(f'<div class="card" data-figure="{escape(label)}"><b>{n(value if value is not None else "?")}'
                      f"</b>{escape(label)}</div>" for label, value in cards)
            + "</div></section>")


CONTENTS = (("reasons", "removed, by reason"), ("sources", "by source and site"), ("languages", "languages"),
            ("lengths", "document lengths"), ("clusters", "near-duplicate clusters"),
            ("examples", "examples per reason"), ("settings", "settings"))


def _contents() -> str:
    return ('<nav class="where">' + " · ".join(f'<a href="#{anchor}">{escape(name)}</a>' for anchor, name in CONTENTS)
            + "</nav>")


def _reasons(summary: dict, fig: Figures) -> str:
    shown, note = _top(fig.removed_lines, TOP_REASONS)
    svg = charts.barh_panels("reasons", shown, [
        ("Lines removed, by reason", "lines", [("lines", [fig.removed_lines[r] for r in shown], charts.REMOVED)]),
        ("Characters removed", "characters", [("characters", [fig.removed_chars[r] for r in shown], charts.REMOVED)]),
    ])
    by_summary = _get(summary, "removed_by_reason", default={}) or {}
    rows = [[escape(r), n(fig.removed_lines[r]), n(fig.removed_chars[r]), n(by_summary.get(r, "?"))]
            for r in sorted(fig.removed_lines, key=lambda r: (-fig.removed_lines[r], r))]
    stages = [[escape(st), n(c)] for st, c in sorted(fig.by_stage.items(), key=lambda kv: (-kv[1], kv[0]))]
    return ('<section id="reasons"><h2>What was removed, and why</h2>'
            "<p>A reason <code>rule:NAME</code> is a noise rule (<code>curate rules list</code>), "
            "<code>duplicate</code> a near-duplicate paragraph, <code>site:repeated</code> a line repeated across "
            "a site's pages. Counted from removed.jsonl; the last column is summary.json's count.</p>"
            + _note(note) + _chart("reasons", svg)
            + "<details><summary>The figures, by reason and by stage</summary>"
            + _table(["reason", "lines", "characters", "summary.json"], rows, {1, 2, 3})
            + _table(["stage", "lines removed"], stages, {1}) + "</details></section>")


def _sources(fig: Figures) -> str:
    total = Counter(fig.source_kept)
    total.update(fig.source_removed)
    total.update(fig.source_quarantined)
    shown, note = _top(total, TOP_SOURCES)
    series = [("kept", [fig.source_kept[s] for s in shown], charts.KEPT),
              ("removed", [fig.source_removed[s] for s in shown], charts.REMOVED)]
    if fig.source_quarantined:
        series.append(("quarantined", [fig.source_quarantined[s] for s in shown], charts.QUARANTINED))
    svg = charts.barh("sources", "Lines kept, removed and quarantined, by source", shown, series, "lines",
                      stacked=True)
    out = ['<section id="sources"><h2>By source and site</h2><p>Each input file (its path under its input root). '
           "Its lines kept (the corpus), removed (removed.jsonl) and quarantined (quarantine.jsonl) add up to its "
           "lines read; a source with a problem that holds no line (an empty file) is listed with 0.</p>",
           _note(note), _chart("sources", svg),
           _figures("source", shown, [("lines kept", fig.source_kept), ("lines removed", fig.source_removed),
                                      ("lines quarantined", fig.source_quarantined)])]
    if fig.site_kept:
        sites = Counter(fig.site_kept)
        sites.update(fig.site_removed)
        shown, note = _top(sites, TOP_SOURCES)
        out += ["<p>Each site, as the run's <code>--site</code> setting told it (the host of a record's URL, or a "
                "page's folder); a removed line counts under its document's site.</p>", _note(note),
                _chart("sites", charts.barh("sites", "Lines kept and removed, by site", shown,
                                            [("kept", [fig.site_kept[s] for s in shown], charts.KEPT),
                                             ("removed", [fig.site_removed[s] for s in shown], charts.REMOVED)],
                                            "lines", stacked=True)),
                _figures("site", shown, [("lines kept", fig.site_kept), ("lines removed", fig.site_removed)])]
    return "".join(out) + "</section>"


def _languages(fig: Figures) -> str:
    total = Counter(fig.language_kept)
    total.update(fig.language_removed)
    shown, note = _top(total, TOP_LANGUAGES)
    svg = charts.barh("languages", "Lines kept and removed, by language", shown,
                      [("kept", [fig.language_kept[lang] for lang in shown], charts.KEPT),
                       ("removed", [fig.language_removed[lang] for lang in shown], charts.REMOVED)], "lines")
    return ('<section id="languages"><h2>Languages</h2><p>A kept line counts under its own language when it '
            "has one, else its document's; a removed line under its document's language (removed.jsonl names "
            "none), or <code>(document emptied)</code> when the document kept nothing; <code>(none)</code>: "
            "the language stage did not run or found no language.</p>"
            + _note(note) + _chart("languages", svg)
            + _figures("language", shown, [("lines kept", fig.language_kept), ("lines removed", fig.language_removed)])
            + "</section>")


def _lengths(summary: dict, fig: Figures) -> str:
    svg = charts.histogram("lengths", "Document length, before and after", LENGTH_BINS,
                           [("before (kept + removed)", fig.length_before, charts.REMOVED),
                            ("after (kept)", fig.length_after, charts.KEPT)], "characters (log scale)", log_x=True)
    quarantined = _get(summary, "documents", "quarantined")
    # Documents none of whose lines was kept or removed have no length to draw: summary.json
    # counts them (an older run's summary does not, and the page then says nothing of them).
    unmeasured = (f" The {n(quarantined)} document{'' if quarantined == 1 else 's'} quarantined (no line kept or "
                  "removed; quarantine.jsonl) are not drawn." if isinstance(quarantined, int) and quarantined else "")
    return ('<section id="lengths"><h2>Document lengths</h2>'
            f"<p>Characters of the non-blank lines of each document with a line kept or removed: {fig.documents:,} "
            f"documents before, {fig.documents - fig.emptied:,} after ({fig.emptied:,} emptied, not drawn after). "
            f"Every such document is counted, in 48 bins per axis.{unmeasured}</p>" + _chart("lengths", svg)
            + "</section>")


def _clusters(folder: OutputFolder, fig: Figures) -> str:
    clusters = fig.clusters
    head = ('<section id="clusters"><h2>Near-duplicate clusters</h2>'
            "<p>Each kept paragraph and the paragraphs removed as its copies, with the exact Jaccard similarity "
            "of their shingle sets (docs/output.md). All of them: <code>curate clusters OUT</code>.</p>")
    if not clusters:
        return head + "<p>No paragraph was removed as a near-duplicate.</p></section>"
    sizes = Counter(clusters.sizes().tolist())
    svg_sim = charts.histogram("similarity", "Similarity of each copy to its kept paragraph", SIMILARITY_BINS,
                               [("copies", fig.similarity, charts.REMOVED)], "Jaccard similarity")
    size_labels = sorted(sizes)[:20]
    svg_sizes = charts.barh("cluster-sizes", "Clusters by number of copies", [str(s) for s in size_labels],
                            [("clusters", [sizes[s] for s in size_labels], charts.KEPT)], "clusters")
    shown = list(clusters.clusters(CLUSTERS_SHOWN))
    copies = fig.clusters.total_copies
    note = (f"showing {len(shown):,} of {len(clusters):,} clusters ({copies:,} cop{'y' if copies == 1 else 'ies'}), "
            f"largest first, and at most {COPIES_SHOWN} copies of each")
    out = [head, _note(note), _chart("similarity", svg_sim), _chart("cluster-sizes", svg_sizes)]
    for record in cluster_records(folder, shown, COPIES_SHOWN):
        kept = record["kept"]
        kept_text = kept["text"] if kept["text"] is not None else NOT_HERE
        out.append(f'<h3 id="cluster-{record["cluster"]}">Cluster {record["cluster"]}: {record["size"] - 1:,} '
                   f"{'copy' if record['size'] == 2 else 'copies'}</h3><div class=\"pair\">"
                   '<div class="kept"><span class="where">kept: ' + _place(kept) + "</span>\n"
                   + escape(_cut(kept_text)) + "</div>")
        for number, copy in enumerate(record["copies"]):
            out.append(("<div></div>" if number else "")
                       + '<div><span class="where">copy: ' + _place(copy) + "</span>\n" + escape(_cut(copy["text"]))
                       + f'</div><div class="mono">{copy["similarity"]}</div>')
        more = record["size"] - 1 - len(record["copies"])
        out.append("</div>" + _note(f"and {more:,} more copies" if more > 0 else ""))
    out.append("</section>")
    return "".join(out)


def _place(where: dict) -> str:
    return escape(f"{where.get('source')}:{where.get('line')} [{where.get('bytes', ['?', '?'])[0]}, "
                  f"{where.get('bytes', ['?', '?'])[1]})")


def _cut(text: str) -> str:
    return text if len(text) <= CLUSTER_CHARS else text[:CLUSTER_CHARS] + "…"


def _examples(fig: Figures) -> str:
    from curate.report.figures import EXAMPLES_PER_REASON

    out = ['<section id="examples"><h2>Examples of what each reason removed</h2>',
           _note(f"up to {EXAMPLES_PER_REASON} lines per reason, spread over the run (the same lines on every "
                 "report of this output), in input order; long lines cut")]
    for reason in sorted(fig.examples, key=lambda r: (-fig.removed_lines[r], r)):
        examples = fig.examples[reason]
        out.append(f'<h3 class="mono">{escape(reason)} <span class="where">({len(examples)} of '
                   f"{fig.removed_lines[reason]:,})</span></h3>")
        out.append(_table(["where", "line removed", "detail"],
                          [[f'<span class="where">{escape(e.source)}:{e.line}</span>', escape(e.text),
                            escape(e.detail)] for e in examples]))
    out.append("</section>")
    return "".join(out)


def _settings(summary: dict) -> str:
    settings = _get(summary, "settings", default={}) or {}
    rows = [[f"<code>{escape(key)}</code>", f"<code>{escape(json.dumps(value, sort_keys=True, ensure_ascii=False))}"
             "</code>"] for key, value in _flat(settings)]
    rules = [[escape(str(_get(r, "file", default="?"))), escape(str(_get(r, "origin", default="?"))),
              n(_get(r, "rules", default="?"))] for r in _get(summary, "rules", default=[]) or []]
    problems = [[escape(k), n(v)] for k, v in (_get(summary, "problem_counts", "by_kind", default={}) or {}).items()]
    return ('<section id="settings"><h2>Settings of the run</h2><p>From summary.json: what shapes the output.</p>'
            + _table(["setting", "value"], rows) + f"<h3>Rule files loaded ({len(rules)})</h3>"
            + _table(["file", "origin", "rules"], rules, {2})
            + "<h3>Problems, by kind</h3><p>Each problem is one record of quarantine.jsonl: an input, a record or a "
              "line that could not be read.</p>" + (_table(["kind", "problems"], problems, {1}) if problems
                                               else "<p>None: every input was read.</p>")
            + "</section>")


def _flat(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested settings as dotted names (dedup.threshold); lists stay whole."""
    if isinstance(value, dict) and value:
        return [item for key in sorted(value) for item in _flat(value[key], f"{prefix}{key}.")]
    return [(prefix.rstrip("."), value)]

