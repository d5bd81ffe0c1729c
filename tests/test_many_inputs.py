"""Many inputs (a shell's expansion of a crawl's files): the labels and overlap checks of
discover.py, which look each root's suffixes and folders up instead of comparing every
pair, against the pairwise versions they replaced (kept here as the reference)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_process
from hypothesis import given, settings
from hypothesis import strategies as st

from curate import discover
from curate.errors import UsageError
from curate.paths import inside, spellings

# -- the pairwise reference --------------------------------------------------------------------


def _labels_pairwise(roots: list[str]) -> list[str]:
    if len(roots) <= 1:
        return [""] * len(roots)
    parts = [discover._components(root) for root in roots]
    labels = []
    for i, own in enumerate(parts):
        others = parts[:i] + parts[i + 1:]
        unique = [k for k in range(1, len(own) + 1) if all(own[-k:] != other[-k:] for other in others)]
        if not unique:
            return discover._by_position(roots)
        labels.append("/".join(own[-unique[0]:]))
    ambiguous = any(a == b or b.startswith(a + "/") or a.startswith(b + "/")
                    for i, a in enumerate(labels) for b in labels[i + 1:])
    return discover._by_position(roots) if ambiguous else labels


def _overlap_pairwise(roots: list[Path]) -> str | None:
    spelled = [(root, spellings(root), root.is_dir()) for root in roots]
    for i, (a, a_paths, a_dir) in enumerate(spelled):
        for b, b_paths, b_dir in spelled[i + 1:]:
            if any(x == y for x, y in zip(a_paths, b_paths, strict=True)):
                return f"{a} and {b} are the same {'folder' if a_dir else 'file'}; give it once"
            for outer, outer_paths, outer_dir, inner, inner_paths in ((a, a_paths, a_dir, b, b_paths),
                                                                      (b, b_paths, b_dir, a, a_paths)):
                if outer_dir and any(inside(x, y) for x, y in zip(inner_paths, outer_paths, strict=True)):
                    return (f"{inner} is inside {outer}, so its files would be read twice; give only {outer}, "
                            f"or only {inner}")
    return None


def _url_overlap_pairwise(urls: list[str]) -> str | None:
    for i, a in enumerate(urls):
        for b in urls[i + 1:]:
            if inside(a, b, "/") or inside(b, a, "/"):
                return f"{a} and {b} overlap, so files would be read twice; give each input once"
    return None


def _error(check, *args) -> str | None:
    try:
        check(*args)
    except UsageError as err:
        return str(err)
    return None


# -- equality ------------------------------------------------------------------------------------

_NAMES = st.sampled_from(["a", "b", "crawl", "x.jsonl", "d1", "d2"])
_RELATIVE = st.lists(_NAMES, min_size=1, max_size=4).map("/".join)


@pytest.mark.unit
@settings(max_examples=400, deadline=None)
@given(roots=st.lists(st.tuples(st.sampled_from(["", "/data/", "s3://bucket/", "./"]), _RELATIVE,
                                st.sampled_from(["", "/"])).map("".join), max_size=7))
def test_labels_are_the_pairwise_labels(roots):
    assert discover.root_labels(roots) == _labels_pairwise(roots)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """Folders and files for every relative path the next test draws: a path's last name
    that ends in .jsonl is a file, any other a folder; a link leads to a folder."""
    root = tmp_path_factory.mktemp("roots")
    for depth in range(1, 4):
        for parts in _combinations(depth):
            path = root.joinpath(*parts)
            if parts[-1].endswith(".jsonl"):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
            else:
                path.mkdir(parents=True, exist_ok=True)
    (root / "link").symlink_to(root / "a" / "b")
    return root


def _combinations(depth: int) -> list[tuple[str, ...]]:
    names = ["a", "b", "x.jsonl"]
    found: list[tuple[str, ...]] = [()]
    for _ in range(depth):
        found = [(*path, name) for path in found if not (path and path[-1].endswith(".jsonl")) for name in names]
    return found


@pytest.mark.unit
@settings(max_examples=400, deadline=None)
@given(picked=st.lists(st.lists(st.sampled_from(["a", "b", "x.jsonl", "link"]), min_size=1, max_size=3),
                       min_size=1, max_size=6))
def test_overlap_checks_say_what_the_pairwise_checks_said(tree, picked):
    roots = [tree.joinpath(*parts) for parts in picked
             if not any(part.endswith(".jsonl") for part in parts[:-1]) and "link" not in parts[1:]]
    assert _error(discover._refuse_overlapping_roots, roots) == _overlap_pairwise(roots)
    urls = ["s3://bucket/" + "/".join(parts) + ("/" if len(parts) % 2 else "") for parts in picked]
    assert _error(discover._refuse_overlapping_urls, urls, None) == _url_overlap_pairwise(urls)


def test_thirty_thousand_files_named_on_the_command_line_start_at_once(tmp_path):
    """A shell's expansion of a crawl's files. Comparing every pair took 4.4 s for 3,000
    inputs here, so about 7 minutes for these (it grows with the square)."""
    folder = tmp_path / "many"
    folder.mkdir()
    names = [f"part-{k:05d}.txt" for k in range(30_000)]
    for name in names:
        (folder / name).write_text("x\n")
    out = tmp_path / "out"
    result = run_process("run", *names, "-o", out, "-q", cwd=folder, timeout=120)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["files"] == 30_000 and len(summary["inputs"]) == 30_000
