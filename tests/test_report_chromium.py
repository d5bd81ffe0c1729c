"""The seeds report rendered by headless Chromium (Debian's `chromium`, installed by
.ci/run): the DOM holds every chart's SVG with its bars, and the screenshot shows them.

Chromium runs with no network services and a throwaway profile; the page is opened from
disk (file://), as a user opens it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import SEEDS, invoke

pytest.importorskip("matplotlib", reason="curate report needs the report extra: pip install -e '.[report]'")
PIL = pytest.importorskip("PIL.Image", reason="the screenshot is decoded with Pillow: pip install -e '.[test]'")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1200, 5000
REMOVED = (0xE4, 0x57, 0x56)  # curate/report/charts.py: the colours of removed and kept bars
KEPT = (0x4C, 0x78, 0xA8)
CHARTS_WITH_BARS = {"reasons": 32, "sources": 10, "languages": 2, "cluster-sizes": 1}

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium; .ci/run does)")


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run",
                           f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[str, Path]:
    tmp = tmp_path_factory.mktemp("chromium")
    out = tmp / "out"
    assert invoke("run", SEEDS, "-o", out, "--quiet").exit_code == 0
    assert invoke("report", out).exit_code == 0
    url = (out / "report.html").resolve().as_uri()
    dom = _chromium(tmp / "profile", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    shot = tmp / "report.png"
    screenshot = _chromium(tmp / "profile", f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}", url)
    assert screenshot.returncode == 0 and shot.exists(), screenshot.stderr[-2000:]
    return dom.stdout, shot


def test_the_dom_has_every_chart_with_its_bars(rendered):
    dom, _ = rendered
    for chart, bars in CHARTS_WITH_BARS.items():
        figure = re.search(rf'<figure class="chart" id="chart-{chart}">(.*?)</figure>', dom, re.S)
        assert figure, f"chart {chart} is not in the DOM Chromium built"
        drawn = re.findall(r'<path [^>]*style="[^"]*fill: #(?:e45756|4c78a8)', figure.group(1))
        assert len(drawn) >= bars, f"chart {chart}: {len(drawn)} bars drawn, expected {bars} or more"
    for chart in ("lengths", "similarity"):
        figure = re.search(rf'<figure class="chart" id="chart-{chart}">(.*?)</figure>', dom, re.S)
        assert figure and re.search(r'<path [^>]*d="M [^"]+L', figure.group(1)), f"chart {chart} has no steps"


def _rows_of(pixels: np.ndarray, colour: tuple[int, int, int]) -> set[int]:
    """The rows with at least 3 pixels of this colour (give or take antialiasing)."""
    near = (np.abs(pixels.astype(int) - np.array(colour)) <= 12).all(axis=2)
    return set(np.flatnonzero(near.sum(axis=1) >= 3).tolist())


def test_the_screenshot_shows_the_charts(rendered):
    _, shot = rendered
    image = PIL.open(shot).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    pixels = np.asarray(image.resize((WIDTH // 4, HEIGHT // 4), resample=0))  # nearest: colours stay exact
    rows_removed, rows_kept = _rows_of(pixels, REMOVED), _rows_of(pixels, KEPT)
    # Bars of removed lines in several separate charts (bands of rows apart), and kept ones.
    bands = [y for y in sorted(rows_removed) if y - 1 not in rows_removed]
    assert len(rows_removed) >= 40 and len(bands) >= 5, (len(rows_removed), bands)
    assert len(rows_kept) >= 10, len(rows_kept)
    # Not a blank page either: most of the page is white, but far from all of it.
    white = (pixels == 255).all(axis=2).mean()
    assert white < 0.97, white
