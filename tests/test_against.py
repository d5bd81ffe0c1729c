"""Dedup against an earlier run (--save-index, then --against): a corpus grown crawl by
crawl gets, for the new crawl, exactly what one run over both crawls would have given it."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, in_process, output_files, read_corpus, read_jsonl, run_process

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def crawls(tmp_path_factory) -> Path:
    """Two crawls cut from one generated corpus: the second copies paragraphs of the first
    (and of itself), with edits, as the generator makes copies of earlier paragraphs."""
    data = tmp_path_factory.mktemp("crawls")
    generate(0.8, data / "gen")
    records = (data / "gen" / "corpus.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    half = len(records) // 2
    for name, part in (("A", records[:half]), ("B", records[half:])):
        (data / name).mkdir()
        (data / name / f"{name.lower()}.jsonl").write_text("".join(part), encoding="utf-8")
    return data


def _unlabelled(value: object) -> object:
    """A record with the input-root label ("A/", "B/") taken off every source: one run over
    both crawls names its sources by root, a run over one crawl does not."""
    if isinstance(value, dict):
        return {k: (v.split("/", 1)[1] if k == "source" and v[:2] in ("A/", "B/") else _unlabelled(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_unlabelled(v) for v in value]
    return value


def test_a_run_against_an_earlier_one_equals_its_part_of_one_run_over_both(crawls, tmp_path):
    out_a, out_b, both = tmp_path / "a", tmp_path / "b", tmp_path / "both"
    for args in ((crawls / "A", "-o", out_a, "--save-index"),
                 (crawls / "B", "-o", out_b, "--against", out_a, "--save-index"),
                 (crawls / "A", crawls / "B", "-o", both)):
        done = in_process("run", *args, "-q", "--no-project-rules")
        assert done.returncode == 0, done.stderr

    kept_b = [_unlabelled(r) for r in read_corpus(both) if r["source"].startswith("B/")]
    removed_b = [_unlabelled(r) for r in read_jsonl(both / "removed.jsonl") if r["source"].startswith("B/")]
    assert read_corpus(out_b) == kept_b
    # The one difference: a copy of a paragraph of A says it is one of the index's.
    removed_against = read_jsonl(out_b / "removed.jsonl")
    for record in removed_against:
        if "duplicate_of" in record:
            assert record["duplicate_of"].pop("against", False) is (record["duplicate_of"]["source"] == "a.jsonl")
    assert removed_against == removed_b
    # The test means something only if B copies A: some of B's removals point into A.
    into_a = [r for r in removed_b if r["reason"] == "duplicate" and r["duplicate_of"]["source"] == "a.jsonl"]
    assert len(into_a) > 10, len(into_a)

    summary_a = json.loads((out_a / "summary.json").read_text())
    summary_b = json.loads((out_b / "summary.json").read_text())
    saved_a = json.loads((out_a / "index" / "index.json").read_text())
    assert summary_b["against"] == {"index": str(out_a / "index"), "paragraphs": saved_a["paragraphs"]}
    assert "against" not in summary_a
    # B's index holds A's kept paragraphs and B's: a third crawl can run against both at once.
    saved_b = json.loads((out_b / "index" / "index.json").read_text())
    kept_by_dedup_b = saved_b["paragraphs"] - saved_a["paragraphs"]
    assert 0 < kept_by_dedup_b < summary_b["lines"]["kept"]


def test_against_refuses_what_it_cannot_use(crawls, tmp_path):
    out_a = tmp_path / "a"
    assert in_process("run", crawls / "A", "-o", out_a, "-q", "--no-project-rules").returncode == 0
    no_index = in_process("run", crawls / "B", "-o", tmp_path / "b", "--against", out_a, "-q")
    assert no_index.returncode == 1
    assert "no dedup index there" in no_index.stderr and "--save-index" in no_index.stderr
    assert "Traceback" not in no_index.stderr

    assert in_process("run", crawls / "A", "-o", out_a, "-q", "--no-project-rules", "--save-index",
                       "--overwrite").returncode == 0
    other = in_process("run", crawls / "B", "-o", tmp_path / "b", "--against", out_a, "--threshold", "0.9", "-q")
    assert other.returncode == 1
    assert "other dedup settings (threshold 0.8 there, 0.9 here" in other.stderr
    assert not (tmp_path / "b").exists()


def test_the_ray_engine_runs_against_a_saved_index_as_the_local_engine(crawls, tmp_path, ray_cluster):
    ray_options, env = ray_cluster
    out_a = tmp_path / "a"
    assert run_process("run", crawls / "A", "-o", out_a, "-q", "--no-project-rules", "--save-index").returncode == 0
    outputs = {}
    for name, engine in (("local", ()), ("ray", ray_options)):
        done = run_process("run", crawls / "B", "-o", tmp_path / name, "--against", out_a, "--save-index", "-q",
                           "--no-project-rules", *engine, env=env)
        assert done.returncode == 0, done.stderr
        outputs[name] = output_files(tmp_path / name)  # the saved index/ included
    assert "index/shingles.u32" in outputs["ray"]
    assert outputs["ray"] == outputs["local"]
    assert json.loads(outputs["ray"]["summary.json"])["against"]["paragraphs"] > 0


@pytest.fixture(scope="module")
def earlier(crawls, tmp_path_factory) -> Path:
    """A finished run of crawl A with its index saved, which the refusals must leave as it is."""
    out = tmp_path_factory.mktemp("earlier") / "a"
    assert in_process("dedup", crawls / "A", "-o", out, "-q", "--save-index").returncode == 0
    return out


def _everything(folder: Path) -> dict[str, bytes | None]:
    """Every entry of a folder, hidden ones too (a .partial/ left behind), files with their bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize(("against", "options", "said"), [
    ("a", ["--overwrite"], "--against {a} and -o {a} are the same folder"),
    ("a/index", ["--overwrite"], "-o {a} holds the index --against {a}/index reads"),
    ("a/../a", ["--overwrite"], "--against {a}/../a and -o {a} are the same folder"),  # `..` folded
    ("a", ["--resume"], "--against {a} and -o {a} are the same folder"),
    ("a", [], "--against {a} and -o {a} are the same folder"),
])
def test_against_the_output_folder_is_refused_before_anything_is_deleted(crawls, earlier, against, options, said):
    # --overwrite deleted the folder, index and all, before the run opened the index's
    # shingle file: a traceback, and the earlier run gone.
    before = _everything(earlier)
    given = str(earlier.parent / against)
    refused = in_process("dedup", crawls / "B", "-o", earlier, "--against", given, "-q", *options)
    assert refused.returncode == 2, refused.stderr
    assert said.format(a=earlier) in refused.stderr
    assert "this run would delete or write over" in refused.stderr and "give another -o DIR" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert _everything(earlier) == before


def test_against_through_a_symlink_to_the_output_folder_is_refused(crawls, earlier, tmp_path):
    before = _everything(earlier)
    (tmp_path / "link").symlink_to(earlier)  # -o names the folder through a link: the same folder on disk
    via_link = in_process("dedup", crawls / "B", "-o", tmp_path / "link", "--against", earlier, "-q", "--overwrite")
    assert via_link.returncode == 2 and "are the same folder" in via_link.stderr, via_link.stderr
    # The index reached through a link inside -o: deleting -o removes the link the run reads through.
    outside = tmp_path / "kept"
    outside.mkdir()
    (outside / "index").symlink_to(earlier / "index")
    via_index_link = in_process("dedup", crawls / "B", "-o", outside, "--against", outside, "-q", "--overwrite")
    assert via_index_link.returncode == 2 and "are the same folder" in via_index_link.stderr, via_index_link.stderr
    inside = in_process("dedup", crawls / "B", "-o", earlier / "index" / "new", "--against", earlier, "-q")
    assert inside.returncode == 2 and f"-o {earlier}/index/new is inside the index" in inside.stderr, inside.stderr
    assert all("Traceback" not in run.stderr for run in (via_link, via_index_link, inside))
    assert _everything(earlier) == before
    assert not (earlier / "index" / "new").exists()


def _cut(path: Path, size: int | None = None) -> None:
    """The file cut to ``size`` bytes (half of it by default), as a copy broken off leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2 if size is None else size])


def _nudge(path: Path) -> None:
    """The second record's end moved by half a shingle hash: the last end, the file's size, as it was."""
    ends = np.load(path)
    ends[1] += 2
    np.save(path, ends)


def _meta_with(folder: Path, **fields: object) -> None:
    meta = json.loads((folder / "index.json").read_text())
    (folder / "index.json").write_text(json.dumps({**meta, **fields}))


@pytest.mark.parametrize(("damage", "said"), [
    # Each was a traceback once the run reached that part, or an AttributeError at once.
    (lambda ix: _cut(ix / "shingles.u32", 100_000), "shingles.u32 holds 100000 bytes, its ends say "),
    (lambda ix: _cut(ix / "refs.jsonl"), "refs.jsonl holds "),
    (lambda ix: (ix / "index.json").write_text("[1]\n"), "index.json holds list, not an object"),
    (lambda ix: _meta_with(ix, dedup="x"), "index.json: \"dedup\" is 'x', not an object of settings"),
    (lambda ix: _meta_with(ix, paragraphs="12"), "index.json: \"paragraphs\" is '12', not a count"),
    (lambda ix: _meta_with(ix, paragraphs=12), "index.json says 12 paragraphs, shingle_ends.npy has "),
    (lambda ix: (ix / "refs.jsonl").unlink(), "No such file or directory"),
    (lambda ix: _cut(ix / "keys.npy"), "cannot read the index ("),  # np.load's own words
    (lambda ix: np.save(ix / "ids.npy", np.load(ix / "ids.npy").astype(np.int64)),
     "ids.npy holds int64 "),
    (lambda ix: np.save(ix / "ids.npy", np.load(ix / "ids.npy")[:-1]), "keys.npy has "),
    (lambda ix: np.save(ix / "ref_ends.npy", np.load(ix / "ref_ends.npy")[::-1].copy()), "refs.jsonl holds "),
    (lambda ix: _nudge(ix / "shingle_ends.npy"), "the ends of shingles.u32's records go back, or cut its values "
                                                  "(from record 1)"),
])
def test_a_damaged_index_is_refused_before_the_run_starts(crawls, earlier, tmp_path, damage, said):
    ix = tmp_path / "ix"
    shutil.copytree(earlier / "index", ix)
    damage(ix)
    refused = in_process("dedup", crawls / "B", "-o", tmp_path / "out", "--against", ix, "-q")
    assert refused.returncode == 1, refused.stderr
    assert f"--against {ix}: cannot read the index (" in refused.stderr and said in refused.stderr
    assert "save it again with --save-index" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "out").exists()  # said before the run started: no .partial/ left


def test_references_scrambled_in_place_stop_the_run_with_what_to_do(crawls, earlier, tmp_path):
    """refs.jsonl overwritten with bytes of the same length passes the size checks; the
    first duplicate that points into it stops the run cleanly, not with a traceback."""
    ix = tmp_path / "ix"
    shutil.copytree(earlier / "index", ix)
    refs = ix / "refs.jsonl"
    refs.write_bytes(bytes(b if b == ord("\n") else ord("x") for b in refs.read_bytes()))
    stopped = in_process("dedup", crawls / "B", "-o", tmp_path / "out", "--against", ix, "-q")
    assert stopped.returncode == 1, stopped.stderr
    assert "refs.jsonl: reference " in stopped.stderr and "is not [doc, source, line, start, end]" in stopped.stderr
    assert f"if the index --against {ix} is damaged, save it again with --save-index" in stopped.stderr
    assert "Traceback" not in stopped.stderr


def _ids_set(path: Path, value: int, every: int = 1) -> None:
    """Every ``every``-th paragraph id of ids.npy set to ``value``: the header and the
    file's size as they were, so every check made at open passes."""
    ids = np.load(path)
    ids[::every] = value
    np.save(path, ids)


def _flip_past_header(path: Path) -> None:
    """Bytes of ids.npy's data flipped in place, as a failing disk or a stray write leaves them."""
    data = bytearray(path.read_bytes())
    start = len(data) - 4 * len(np.load(path, mmap_mode="r"))  # past the .npy header
    for at in range(start + 3, len(data), 97):
        data[at] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("options", [[], ["--memory", "4kB"], ["--dedup-parts"], ["--dedup-parts", "--memory", "4kB"]],
                         ids=["index", "spilled", "parts", "parts-spilled"])
@pytest.mark.parametrize("damage", [lambda ix: _ids_set(ix / "ids.npy", 0xFFFF0000, every=7),
                                    lambda ix: _flip_past_header(ix / "ids.npy")], ids=["set", "flipped"])
def test_paragraph_ids_damaged_in_place_stop_the_run_with_what_to_do(crawls, earlier, tmp_path, damage, options):
    """An id past the saved paragraphs passes every check made at open; the run read it as
    an offset into its record ends (an IndexError traceback), or under --dedup-parts as a
    paragraph of this run. Each lookup's ids are checked, and the run stops in one line."""
    ix = tmp_path / "ix"
    shutil.copytree(earlier / "index", ix)
    damage(ix)
    stopped = in_process("dedup", crawls / "B", "-o", tmp_path / "out", "--against", ix, "-q", *options)
    assert stopped.returncode == 1, stopped.stderr
    assert "Traceback" not in stopped.stderr and len(stopped.stderr.strip().splitlines()) == 1, stopped.stderr
    paragraphs = json.loads((ix / "index.json").read_text())["paragraphs"]
    assert "cannot read the dedup index (ids.npy: paragraph id " in stopped.stderr
    assert f", but the index holds {paragraphs} paragraphs)" in stopped.stderr
    assert f"if the index --against {ix} is damaged, save it again with --save-index" in stopped.stderr


@pytest.mark.parametrize(("options", "doing"), [([], "save"), (["--dedup-parts"], "read")], ids=["index", "parts"])
def test_a_damaged_id_no_lookup_meets_is_not_saved_into_the_next_index(earlier, tmp_path, options, doing):
    """Text that copies nothing of the earlier run looks up no saved id; --save-index copies
    them all into this run's index, and refuses to carry a damaged one on (--dedup-parts
    reads every saved id before that, and stops there)."""
    ix = tmp_path / "ix"
    shutil.copytree(earlier / "index", ix)
    _ids_set(ix / "ids.npy", 0xFFFF0000, every=1000)
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "page.txt").write_text("A paragraph of its own that no earlier crawl has seen, written "
                                               "for this test alone, with words enough to be indexed.\n")
    stopped = in_process("dedup", tmp_path / "new", "-o", tmp_path / "out", "--against", ix, "--save-index", "-q",
                          *options)
    assert stopped.returncode == 1, stopped.stderr
    assert f"cannot {doing} the dedup index (ids.npy: paragraph id 4294901760, but the index holds " in stopped.stderr
    assert f"if the index --against {ix} is damaged, save it again with --save-index" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert not (tmp_path / "out" / "index").exists()


def test_references_scrambled_in_place_stop_a_run_in_parts_with_what_to_do(crawls, earlier, tmp_path):
    """As above, under --dedup-parts, whose replays read the references apart from the
    one index (a JSONDecodeError traceback)."""
    ix = tmp_path / "ix"
    shutil.copytree(earlier / "index", ix)
    refs = ix / "refs.jsonl"
    refs.write_bytes(bytes(b if b == ord("\n") else ord("x") for b in refs.read_bytes()))
    stopped = in_process("dedup", crawls / "B", "-o", tmp_path / "out", "--against", ix, "-q", "--dedup-parts")
    assert stopped.returncode == 1, stopped.stderr
    assert "cannot read the dedup index (refs.jsonl: reference " in stopped.stderr
    assert f"if the index --against {ix} is damaged, save it again with --save-index" in stopped.stderr
    assert "Traceback" not in stopped.stderr


@pytest.mark.parametrize("options", [[], ["--dedup-parts"]], ids=["index", "parts"])
def test_paragraph_ids_damaged_in_place_stop_a_run_on_ray_in_one_line(crawls, earlier, tmp_path, ray_cluster,
                                                                      options):
    """On Ray the damage is met in the decider or in a part task: it said the task's
    traceback as its cause, or advised the --resume a Ray run cannot do."""
    ray_options, env = ray_cluster
    ix = tmp_path / "ix"
    shutil.copytree(earlier / "index", ix)
    _ids_set(ix / "ids.npy", 0xFFFF0000, every=7)
    stopped = run_process("dedup", crawls / "B", "-o", tmp_path / "out", "--against", ix, "-q", *options,
                          *ray_options, env=env)
    assert stopped.returncode == 1, stopped.stderr
    assert "Traceback" not in stopped.stderr and len(stopped.stderr.strip().splitlines()) == 1, stopped.stderr
    assert "cannot read the dedup index (ids.npy: paragraph id 4294901760, but the index holds " in stopped.stderr
    assert f"if the index --against {ix} is damaged, save it again with --save-index" in stopped.stderr
    assert "with --resume" not in stopped.stderr and "--overwrite to start again" in stopped.stderr


@pytest.mark.parametrize("command", ["run", "dedup"])
def test_against_given_twice_is_refused_before_anything_is_read(crawls, earlier, tmp_path, command):
    """click kept the last --against and the run deduplicated against it alone, without a
    word. The latest index of a chain holds every one before it: one is all a run takes."""
    b_out = tmp_path / "b"
    done = in_process("dedup", crawls / "B", "-o", b_out, "--against", earlier, "--save-index", "-q")
    assert done.returncode == 0, done.stderr
    refused = in_process(command, crawls / "B", "-o", tmp_path / "c", "--against", earlier, "--against", b_out, "-q")
    assert refused.returncode == 2, refused.stderr
    said = refused.stderr.strip().splitlines()[-1]
    assert said == (f"Error: Invalid value for '--against': 2 indexes given ({earlier}, {b_out}); a run takes one: "
                    "the index of a run made with --against X --save-index already holds X's paragraphs, so give "
                    "the latest index alone")
    assert "Traceback" not in refused.stderr and not (tmp_path / "c").exists()
    # The latest alone holds both: copies point at A's paragraphs and at B's, all in the index.
    latest = in_process(command, crawls / "B", "-o", tmp_path / "c", "--against", b_out, "-q")
    assert latest.returncode == 0, latest.stderr
    kept = {r["duplicate_of"]["source"] for r in read_jsonl(tmp_path / "c" / "removed.jsonl")
            if r["reason"] == "duplicate" and r["duplicate_of"].get("against") is True}
    assert kept == {"a.jsonl", "b.jsonl"}
