"""The report's charts: matplotlib figures rendered to SVG text for inlining.

The same figures give the same bytes: no date in the metadata, a fixed hash salt for the
ids matplotlib makes, text kept as text (svg.fonttype 'none': no glyph outlines, so the
file stays small and the words stay searchable). Each chart's ids get a prefix of their
own, since several SVGs share one HTML page.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

INSTALL = "pip install 'curate-corpus[report]'"
KEPT = "#4c78a8"
REMOVED = "#e45756"
QUARANTINED = "#9d755d"
_RC: dict[Any, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "curate-report",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    # Labels are file names, sites and rule names: text, never TeX ("price_$5_and_$6.txt"
    # was parsed as a formula, and one that did not parse stopped the report).
    "text.parse_math": False,
}
_NAMESPACES = re.compile(r'\s+xmlns(:xlink)?="[^"]*"')


def require_matplotlib() -> None:
    """Fail with the install command when the report extra is missing."""
    try:
        import matplotlib  # noqa: F401 - only asked whether it is there
    except ImportError:
        from curate.errors import UsageError

        raise UsageError(f"curate report draws its charts with matplotlib, which is not installed; {INSTALL}") from None


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=72, layout="constrained")


def _svg(figure, prefix: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(_RC):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None,
                                                       "Type": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # no XML declaration or DOCTYPE (with its URL) inside HTML
    text = _NAMESPACES.sub("", text)  # HTML gives inline SVG its namespace; no URL left in the page
    text = re.sub(r'<metadata>.*?</metadata>\s*', "", text, flags=re.S)
    text = re.sub(r'\bid="', f'id="{prefix}-', text)
    text = re.sub(r'url\(#', f'url(#{prefix}-', text)
    text = re.sub(r'href="#', f'href="#{prefix}-', text)
    return text


Series = Sequence[tuple[str, Sequence[float], str]]  # (name, one value per label, colour)


def barh(prefix: str, title: str, labels: Sequence[str], series: Series, xlabel: str, stacked: bool = False) -> str:
    """Horizontal bars, first label on top; several series side by side or stacked."""
    return barh_panels(prefix, labels, [(title, xlabel, series)], stacked)


def barh_panels(prefix: str, labels: Sequence[str], panels: Sequence[tuple[str, str, Series]],
                stacked: bool = False) -> str:
    """One bar chart per panel (title, x label, series), side by side, sharing the labels."""
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    widest = max((len(series) for _, _, series in panels), default=1)
    with matplotlib.rc_context(_RC):
        fig = _figure(10, 0.9 + 0.24 * max(len(labels), 1) * (1 if stacked else max(widest, 1) ** 0.5))
        axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
        y = np.arange(len(labels))
        for ax, (title, xlabel, series) in zip(axes, panels, strict=True):
            height = 0.8 if stacked else 0.8 / max(len(series), 1)
            left = np.zeros(len(labels))
            for n, (name, values, color) in enumerate(series):
                offset = 0 if stacked else (n - (len(series) - 1) / 2) * height
                ax.barh(y + offset, values, height=height, left=left if stacked else None, label=name, color=color,
                        gid=f"bars-{n}")
                if stacked:
                    left = left + np.asarray(values, dtype=float)
            ax.set_xlabel(xlabel)
            ax.set_title(title, loc="left")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no tick at 0.25 of a line
        axes[0].set_yticks(y, [_short(label) for label in labels])
        axes[0].invert_yaxis()
        if widest > 1:
            fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", frameon=False)
        return _svg(fig, prefix)


def histogram(prefix: str, title: str, edges: np.ndarray, series: Sequence[tuple[str, np.ndarray, str]],
              xlabel: str, log_x: bool = False) -> str:
    """Counts per bin drawn as outlined steps, one per series, so they can overlap."""
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    with matplotlib.rc_context(_RC):
        fig = _figure(10, 3.2)
        ax = fig.add_subplot()
        edges = np.r_[edges[1] / 10 if log_x else edges[0], edges[1:]]  # a log axis has no 0: bin 0 drawn from 0.1
        # Only the bins from the first to the last that hold anything, and one either side.
        used = np.flatnonzero(np.sum([counts for _, counts, _ in series], axis=0))
        first, last = (max(used[0] - 1, 0), min(used[-1] + 2, len(edges) - 1)) if len(used) else (0, len(edges) - 1)
        for n, (name, counts, color) in enumerate(series):
            ax.stairs(counts[first:last].astype(float), edges[first:last + 1], label=name, color=color,
                      linewidth=1.5, fill=False, gid=f"steps-{n}")
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title, loc="left")
        if len(series) > 1:
            ax.legend(frameon=False)
        return _svg(fig, prefix)


def _short(label: str, limit: int = 48) -> str:
    return label if len(label) <= limit else "…" + label[-(limit - 1):]
