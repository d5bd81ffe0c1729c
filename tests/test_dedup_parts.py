"""--dedup-parts: the near-duplicates found in parts between two passes give the very
output of the one index, byte for byte, for `curate run` and `curate dedup`, on one
process or several, on the local engine and on Ray, against an earlier run and saving
its index; and a run stopped anywhere (the first pass, the parts, the pass that writes)
resumes where it stopped, to the same bytes."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SEEDS, in_process, killed_at_open, needs_strace, output_files, run_process, traced_env

from curate.document import ParagraphRef
from curate.stages.base import Batch
from curate.stages.dedup.apply import duplicate_reason
from curate.stages.dedup.index import CANDIDATES_PER_KEY, DedupIndex
from curate.stages.dedup.parts import RowStore, StoredRows, Verdicts, settle
from curate.stages.dedup.saved import open_saved
from curate.stages.dedup.sign import SignedRows, shingle_sets
from curate.stages.dedup.signature import DedupConfig, Signer

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A generated corpus with copies and near-copies, in two files, and a text file with
    a fenced code block copied whole (a block is one paragraph: removed whole)."""
    data = tmp_path_factory.mktemp("parts")
    generate(0.4, data / "gen")
    records = (data / "gen" / "corpus.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    folder = data / "in"
    folder.mkdir()
    half = len(records) // 2
    (folder / "a.jsonl").write_text("".join(records[:half]), encoding="utf-8")
    (folder / "b.jsonl").write_text("".join(records[half:]), encoding="utf-8")
    block = "```\nfor item in items:\n    print(item, 'is one of the items we print here')\n```\n"
    prose = "A paragraph of plain prose that names what the code below does, at enough length to be signed.\n"
    (folder / "c.txt").write_text(prose + block + "\n" + prose + block, encoding="utf-8")
    return folder


def _output(tmp_path, name: str, *args) -> dict[str, bytes]:
    out = tmp_path / name
    rules = ("--no-project-rules",) if args[0] == "run" else ()  # `dedup` reads no rules
    done = in_process(*args, "-o", out, "-q", *rules)
    assert done.returncode == 0, done.stderr
    return output_files(out)


@pytest.mark.parametrize("command", ["run", "dedup"])
def test_parts_give_the_output_of_one_index(corpus, tmp_path, command):
    one = _output(tmp_path, "one", command, corpus)
    removed = one["removed.jsonl"].count(b'"reason":"duplicate"')
    assert removed > 50, "the generated corpus should hold copies"
    for workers in ("1", "2"):
        parts = _output(tmp_path, f"parts{workers}", command, corpus, "--dedup-parts", "--workers", workers)
        assert parts.keys() == one.keys()
        for name in one:
            assert parts[name] == one[name], f"{name} differs with --dedup-parts --workers {workers}"


def test_parts_on_the_seed_pages_and_with_a_site_census(tmp_path):
    # The seeds carry no URL: --site folder makes a census pass, so the run reads its input
    # three times (census, rows, output).
    one = _output(tmp_path, "one", "run", SEEDS, "--site", "folder")
    assert _output(tmp_path, "parts", "run", SEEDS, "--site", "folder", "--dedup-parts") == one


def test_parts_save_the_index_the_one_index_run_saves(corpus, tmp_path):
    # The saved index a later run goes --against: the rows the parts kept, added in input
    # order, make the very files the one index leaves.
    one = _output(tmp_path, "one", "dedup", corpus, "--save-index")
    parts = _output(tmp_path, "parts", "dedup", corpus, "--save-index", "--dedup-parts", "--workers", "2")
    assert parts == one
    assert any(name.startswith("index/") for name in one)


def _parts_against_an_earlier_run(tmp_path, corpus, *engine_options, env=None) -> None:
    # Crawl A, then crawl B against A's saved index: the parts take A's kept paragraphs
    # first, as the one index does, and remove B's copies of them, pointing at A. B's own
    # saved index (A's paragraphs, then B's kept) is the one index's too.
    earlier = tmp_path / "a"
    earlier.mkdir()
    (earlier / "a.jsonl").write_bytes((corpus / "a.jsonl").read_bytes())
    later = tmp_path / "b"
    later.mkdir()
    for name in ("b.jsonl", "c.txt"):
        (later / name).write_bytes((corpus / name).read_bytes())
    _output(tmp_path, "out-a", "dedup", earlier, "--save-index")
    against = ("--against", tmp_path / "out-a", "--save-index")
    one = _output(tmp_path, "one", "dedup", later, *against)
    out = tmp_path / "parts"
    command = ("dedup", later, "-o", out, "-q", "--dedup-parts", *against, *engine_options)
    done = in_process(*command) if env is None else run_process(*command, env=env)  # Ray's run: a process
    assert done.returncode == 0, done.stderr
    assert output_files(out) == one
    assert "a.jsonl" in one["removed.jsonl"].decode(), "some paragraphs of B should point at copies in A"


def test_parts_against_an_earlier_run_give_the_one_index_output(tmp_path, corpus):
    _parts_against_an_earlier_run(tmp_path, corpus, "--workers", "2")


def test_parts_against_an_earlier_run_on_ray_give_the_one_index_output(tmp_path, corpus, ray_cluster):
    ray_options, env = ray_cluster
    _parts_against_an_earlier_run(tmp_path, corpus, *ray_options, env=env)


@pytest.mark.parametrize("later", ["empty", "short lines"])
def test_parts_against_an_earlier_run_with_no_paragraph_to_sign_give_the_one_index_output(tmp_path, corpus, later):
    # A later crawl that signs no paragraph (an empty file, or lines all under
    # --min-words) stores no row: the earlier index's pairs were cut into rows of the
    # rows' band count, 0 then, and the run died with a traceback (range() arg 3 must not
    # be zero). Its output and saved index are the one index's: the earlier paragraphs,
    # with the band keys of the same settings.
    earlier = tmp_path / "a"
    earlier.mkdir()
    (earlier / "a.jsonl").write_bytes((corpus / "a.jsonl").read_bytes())
    _output(tmp_path, "out-a", "run", earlier, "--save-index")
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "b.txt").write_text("" if later == "empty" else "Short line.\nAnother short one here.\n")
    against = ("--against", tmp_path / "out-a", "--save-index")
    one = _output(tmp_path, "one", "run", folder, *against)
    saved = json.loads((tmp_path / "out-a" / "index" / "index.json").read_text())
    mine = json.loads(one["index/index.json"])
    assert mine["dedup"]["bands"] == saved["dedup"]["bands"] and mine["paragraphs"] == saved["paragraphs"] > 0
    assert one["index/keys.npy"] == (tmp_path / "out-a" / "index" / "keys.npy").read_bytes()
    for workers in ("1", "2"):
        parts = _output(tmp_path, f"parts{workers}", "run", folder, *against, "--dedup-parts", "--workers", workers)
        assert parts == one, f"--dedup-parts --workers {workers} differs from the one index"


def test_parts_on_the_ray_engine_give_the_local_output(corpus, tmp_path, ray_cluster):
    # The rows, the parts and the verdicts live with the decider, on the driver's node,
    # which spawns the part processes (two: --workers 2); the actors read, sign and apply
    # in both passes.
    ray_options, env = ray_cluster
    local = _output(tmp_path, "local", "dedup", corpus)
    out = tmp_path / "ray"
    done = run_process("dedup", corpus, "-o", out, "-q", "--dedup-parts", "--workers", "2", *ray_options, env=env)
    assert done.returncode == 0, done.stderr
    assert output_files(out) == local


def _parts_on_ray_give_the_local_output(corpus, tmp_path, ray_options, env, **test_env) -> Path:
    """`curate dedup --dedup-parts` on Ray with the test settings ``test_env`` (each value
    "MARKS" is the folder where the run leaves its marks), whose bytes must be the local
    engine's; returns that folder."""
    local = _output(tmp_path, "local", "dedup", corpus)
    marks = tmp_path / "marks"
    marks.mkdir()
    out = tmp_path / "ray"
    done = run_process("dedup", corpus, "-o", out, "-q", "--dedup-parts", *ray_options,
                       env={**env, **{name: str(marks) if value == "MARKS" else value
                                      for name, value in test_env.items()}})
    assert done.returncode == 0, done.stderr
    assert output_files(out) == local
    return marks


def test_parts_run_as_tasks_on_two_ray_nodes_and_give_the_local_output(corpus, tmp_path, two_nodes):
    # Two nodes of one CPU each, on this machine, so both see the rows' folder: the part
    # tasks (two key partitions' edges, then two groups' replays) go to both, one a node
    # at a time; each leaves a mark naming its node.
    address, env = two_nodes
    marks = _parts_on_ray_give_the_local_output(corpus, tmp_path, ("--engine", "ray", "--address", address), env,
                                                CURATE_TEST_RAY_PARTS_MARKS="MARKS")
    assert len([mark for mark in marks.iterdir() if mark.name.startswith("part-on-")]) == 2, \
        "the parts should have run on both nodes"


def test_a_part_task_whose_worker_dies_runs_again_and_changes_no_byte(corpus, tmp_path, ray_cluster):
    ray_options, env = ray_cluster
    marks = _parts_on_ray_give_the_local_output(corpus, tmp_path, ray_options, env,
                                                CURATE_TEST_RAY_FAIL_ONCE="MARKS", CURATE_TEST_RAY_FAIL_PHASE="part")
    assert (marks / "failed-once").exists(), "the first part task should have died once"


@pytest.mark.unit
def test_rows_and_verdicts_round_trip_through_their_files(tmp_path, monkeypatch):
    cfg = DedupConfig(threshold=0.7, num_perm=32)
    rng = np.random.default_rng(3)
    base = [rng.choice(1 << 30, 40, replace=False).tolist() for _ in range(5)]
    groups = [*base, base[0][:-1], base[3][1:], base[0]]  # rows 5, 6 and 7 copy 0, 3 and 0
    flat, offsets = shingle_sets(np.array([h for g in groups for h in g], dtype=np.uint32), [len(g) for g in groups])
    signer = Signer(cfg)
    keys = signer.band_keys_matrix(signer.signatures_of_hashes(flat, np.diff(offsets).tolist()))
    refs = [(f"doc{k}", "src", k + 1, 10 * k, 10 * k + 9) for k in range(len(groups))]
    store = RowStore(tmp_path / "rows")
    for start, end in ((0, 3), (3, 3), (3, 8)):  # an empty batch between two
        part_flat = flat[offsets[start]:offsets[end]]
        rows = SignedRows([(k, 0) for k in range(end - start)], keys[start:end], part_flat,
                          offsets[start:end + 1] - offsets[start], refs[start:end])
        store.append(rows)
    store.close()
    read = StoredRows(tmp_path / "rows", keys.shape[1])
    back = read(np.array([7, 0, 5]))
    assert back.refs == [refs[7], refs[0], refs[5]]
    assert np.array_equal(back.keys, keys[[7, 0, 5]])
    assert np.array_equal(back.shingle_set(1), flat[offsets[0]:offsets[1]])
    settle(tmp_path / "rows", keys.shape[1], cfg, processes=1)
    verdicts = Verdicts(tmp_path / "rows")
    found = (verdicts.removed.tolist(), verdicts.similarity.tolist(), bytes(verdicts.refs))  # before they are rewritten
    assert found[0] == [5, 6, 7]
    assert _settled_again_in_small_parts(tmp_path / "rows", keys.shape[1], cfg, monkeypatch) == found
    first = verdicts.decide(SignedRows([(0, 0)] * 6, keys[:6], flat, offsets[:7], refs[:6]))
    rest = verdicts.decide(SignedRows([(0, 0)] * 2, keys[6:], flat, offsets[:3], refs[6:]))
    expected = {5: (0, 39 / 40), 6: (3, 39 / 40), 7: (0, 1.0)}
    got = {k: v for k, v in enumerate(first + rest) if v is not None}
    assert got == {k: duplicate_reason(ParagraphRef(*refs[i]), s) for k, (i, s) in expected.items()}


def _recording(kind) -> tuple:
    """A pool that runs the parts in this process, one at a time, and the list it records
    the tasks of ``kind`` (a part's function) in."""
    import curate.stages.dedup.parts as parts

    recorded: list = []

    class Recording(parts._InProcess):
        slots = 1

        def map(self, function, tasks):
            tasks = list(tasks)
            if function is kind:
                recorded.extend(tasks)
            return map(function, tasks)

    return Recording(), recorded


def test_parts_against_a_saved_index_meet_its_crowded_key_as_the_one_index_does(tmp_path, monkeypatch):
    # An earlier run kept 104 paragraphs that all have one band key in common (a
    # template's band): the one index run against it verifies a paragraph under that key
    # only against the key's first CANDIDATES_PER_KEY of them. Copies of 0-9 and 70-79
    # share only that key with their originals, copies of 60-69 their other keys too; so
    # the copies of 70-79 stay. The parts, with the saved index's paragraphs first, must
    # meet the same quota.
    rng = np.random.default_rng(5)
    cfg = DedupConfig(threshold=0.7, num_perm=32)
    uniques = [rng.choice(1 << 30, 30, replace=False).tolist() for _ in range(CANDIDATES_PER_KEY + 40)]
    originals = [*range(0, 10), *range(60, 70), *range(70, 80)]
    copies = [uniques[k][:-1] for k in originals]  # 29/30 similar
    keys = np.column_stack([np.full(len(uniques) + len(copies), 12345, dtype=np.uint64),
                            rng.integers(1 << 40, 1 << 62, (len(uniques) + len(copies), 3)).astype(np.uint64)])
    keys[len(uniques) + 10:len(uniques) + 20, 1:] = keys[60:70, 1:]

    def rows_of(groups, first):
        flat, offsets = shingle_sets(np.array([h for g in groups for h in g], dtype=np.uint32),
                                     [len(g) for g in groups])
        refs = [(f"doc{first + k}", "src", first + k + 1, 0, 9) for k in range(len(groups))]
        return SignedRows([(k, 0) for k in range(len(groups))], keys[first:first + len(groups)], flat, offsets, refs)

    earlier = DedupIndex(cfg, tmp_path / "scratch")
    assert earlier.decide(Batch(0, [], 0, rows_of(uniques, 0))) == [None] * len(uniques)
    earlier.save(tmp_path / "earlier")
    earlier.close()
    later = rows_of(copies, len(uniques))
    one = DedupIndex(cfg, tmp_path / "scratch", open_saved(tmp_path / "earlier", cfg))
    expected = one.decide(Batch(0, [], 0, later))
    one.close()
    assert [k for k, v in enumerate(expected) if v is not None] == list(range(20))
    for name in ("rows", "small"):
        store = RowStore(tmp_path / name)
        store.append(later)
        store.close()
    settle(tmp_path / "rows", keys.shape[1], cfg, processes=1, earlier=(tmp_path / "earlier", len(uniques)))
    assert Verdicts(tmp_path / "rows").decide(later) == expected
    # Cut small, the saved index's pairs and this run's rows are scattered a few at a time
    # into many partitions, each read from every scatter's files: the same verdicts.
    import curate.stages.dedup.parts as parts

    pool, scattered = _recording(parts._scatter)
    monkeypatch.setattr(parts, "MIN_SHARE", 1)
    bands = keys.shape[1]
    settle(tmp_path / "small", bands, cfg, processes=1, memory=4 * 3 * bands * parts.SCATTER_BYTES,
           earlier=(tmp_path / "earlier", len(uniques)), pool=pool)
    own = [task for task in scattered if task[5] is None]
    assert len(own) == 10 and len(scattered) == 10 + -(-len(uniques) // 3)  # three rows, or their pairs, each
    assert Verdicts(tmp_path / "small").decide(later) == expected


@pytest.mark.unit
def test_each_group_replays_in_a_scratch_folder_of_its_own(tmp_path):
    # An index opening in a folder deletes the indexes it finds there (a killed run's):
    # two groups' replays sharing one folder deleted each other's files mid-way, which
    # a loaded machine showed as a part's process dying.
    import curate.stages.dedup.parts as parts

    class Recording:
        slots = 2

        def __init__(self):
            self.tasks: list = []

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def map(self, function, tasks):
            tasks = list(tasks)
            if function is parts._replay:
                self.tasks += tasks
            return map(function, tasks)

    cfg = DedupConfig(num_perm=16)
    flat, offsets = shingle_sets(np.arange(80, dtype=np.uint32), [40, 40])
    store = RowStore(tmp_path / "rows")
    store.append(SignedRows([(0, 0), (1, 0)], np.ones((2, 4), dtype=np.uint64), flat, offsets,
                            [("d", "s", 1, 0, 9), ("d", "s", 2, 0, 9)]))
    store.close()
    pool = Recording()
    settle(tmp_path / "rows", 4, cfg, processes=1, pool=pool)
    folders = [task[4] for task in pool.tasks]
    assert len(folders) == 2 and len(set(folders)) == 2


@pytest.mark.unit
def test_a_stopped_run_raised_in_a_part_process_comes_back_as_itself():
    import pickle

    from curate.errors import RunStopped

    err = pickle.loads(pickle.dumps(RunStopped("out", "cannot write out/x: No space left on device")))
    assert isinstance(err, RunStopped) and err.cause.startswith("cannot write") and "--resume" in str(err)


@pytest.mark.unit
def test_settled_in_many_groups_and_merged_a_few_at_a_time_the_verdicts_are_the_same(tmp_path, monkeypatch):
    """A budget that cuts the paragraphs into many replay groups (each group's paragraphs
    read from a file of their own), and a merge of their verdicts that takes one from
    each group at a time: the verdict files are those of one group merged at once."""
    import curate.stages.dedup.parts as parts

    cfg = DedupConfig(threshold=0.7, num_perm=32)
    rng = np.random.default_rng(5)
    base = [rng.choice(1 << 30, 40, replace=False).tolist() for _ in range(60)]
    groups = base + [base[int(k)][int(k) % 3:] for k in rng.integers(0, 60, 240)]  # 240 copies and near-copies
    flat, offsets = shingle_sets(np.array([h for g in groups for h in g], dtype=np.uint32), [len(g) for g in groups])
    signer = Signer(cfg)
    keys = signer.band_keys_matrix(signer.signatures_of_hashes(flat, np.diff(offsets).tolist()))
    refs = [(f"doc{k}", "src", k + 1, 10 * k, 10 * k + 9) for k in range(len(groups))]
    for name in ("whole", "cut"):
        store = RowStore(tmp_path / name)
        store.append(SignedRows([(k, 0) for k in range(len(groups))], keys, flat, offsets, refs))
        store.close()
    settle(tmp_path / "whole", keys.shape[1], cfg, processes=1)

    pool, replays = _recording(parts._replay)
    monkeypatch.setattr(parts, "MIN_SHARE", 1)
    monkeypatch.setattr(parts, "MERGE_ROWS", 1)
    settle(tmp_path / "cut", keys.shape[1], cfg, processes=1, memory=4 * 300 * parts.GROUP_BYTES // 12, pool=pool)
    assert len(replays) == 12  # a group per 25 paragraphs
    whole, cut = Verdicts(tmp_path / "whole"), Verdicts(tmp_path / "cut")
    assert len(whole.removed) > 100
    assert cut.removed.tolist() == whole.removed.tolist() and cut.similarity.tolist() == whole.similarity.tolist()
    assert bytes(cut.refs) == bytes(whole.refs) and cut.ends.tolist() == whole.ends.tolist()


@pytest.mark.unit
def test_each_partitions_pairs_scattered_in_one_pass_give_the_edges_of_all_its_pairs(tmp_path):
    """The scatter (parts._scatter) is a speed-up only: a partition's edges read from
    every scatter task's files are those of its pairs picked from all the rows at once
    (with keys crowded into a few values, so that partitions hold many pairs a key)."""
    import curate.stages.dedup.parts as parts
    from curate.stages.dedup.components import key_partition, star_edges

    rng = np.random.default_rng(11)
    bands, count, first_uid = 3, 50, 7
    keys = (rng.integers(0, 12, (count, bands)).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    store = RowStore(tmp_path / "rows")
    store.append(SignedRows([(k, 0) for k in range(count)], keys, np.zeros(count, dtype=np.uint32),
                            np.arange(count + 1), [("d", "s", k, 0, 1) for k in range(count)]))
    store.close()
    into = tmp_path / "settle"
    tasks, bases = parts._scatter_tasks(tmp_path / "rows", bands, 4, count, 16, None, into)
    assert len(tasks) == 4 and bases == [0, 16, 32, 48]
    for task in tasks:
        parts._scatter(task)
    flat, uids = keys.ravel(), np.repeat(np.arange(count), bands)
    part_of = key_partition(flat, 4)
    assert sorted(set(part_of.tolist())) == [0, 1, 2, 3]
    for p in range(4):
        got = parts._edges((into, tuple(b + first_uid for b in bases), p))
        want = star_edges(flat[part_of == p], uids[part_of == p] + first_uid)
        assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist() and len(want[0])


@pytest.mark.unit
def test_a_replays_verdicts_packed_a_few_at_a_time_come_back_whole_and_in_order(monkeypatch):
    import curate.stages.dedup.parts as parts

    monkeypatch.setattr(parts, "REPLAY_ROWS", 3)
    found = parts._Found()
    refs = [bytes([k]) * (k % 4 + 1) for k in range(8)]  # sizes 1 to 4, a zero byte first
    for k in range(8):
        found.add(10 + k, k / 8, refs[k])
    uids, similarity, blob, sizes = found.arrays()
    assert uids.tolist() == list(range(10, 18)) and similarity.tolist() == [k / 8 for k in range(8)]
    assert blob.tobytes() == b"".join(refs) and sizes.tolist() == [len(r) for r in refs]
    assert [len(a) for a in parts._Found().arrays()] == [0, 0, 0, 0]


def _settled_again_in_small_parts(folder, bands, cfg, monkeypatch) -> tuple[list, list, bytes]:
    """The verdicts settled again with a budget that cuts the keys into a partition per
    few rows, read two rows at a time: the same files."""
    import curate.stages.dedup.parts as parts

    monkeypatch.setattr(parts, "READ_ROWS", 2)
    monkeypatch.setattr(parts, "MIN_SHARE", 1)
    settle(folder, bands, cfg, processes=1, memory=4 * bands * parts.PARTITION_BYTES * 3)  # three rows a partition
    again = Verdicts(folder)
    return again.removed.tolist(), again.similarity.tolist(), bytes(again.refs)


@pytest.mark.parametrize("when", ["gathering", "writing"])
def test_an_interrupted_run_says_to_resume_and_resumes_to_the_one_index_bytes(tmp_path, when):
    # Ctrl-C in the first pass: the resumed run gathers the rows again. Once the parts
    # have found the verdicts (their folder's mark is written), it takes them up and goes
    # straight to the pass that writes: no first pass, no parts (--timings says so).
    import signal
    import subprocess
    import time

    from curate.stages.dedup.barrier import PARTS_FOLDER, SETTLED

    generate(3.0, tmp_path / "gen")
    corpus = tmp_path / "gen" / "corpus.jsonl"
    one = _output(tmp_path, "one", "dedup", corpus)
    out = tmp_path / "out"
    command = [str(Path(sys.executable).parent / "curate"), "dedup", str(corpus), "-o", str(out), "--dedup-parts",
               "--workers", "2"]
    # Ctrl-C as a terminal sends it: SIGINT at its default (a test run in the background
    # may have it ignored, which the child would inherit), to the whole process group.
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # (Its folder, made once the output folder is set up: a Ctrl-C while .partial/ is still
    # being made stops a run that had not begun, and says so.)
    parts_folder = out / ".partial" / "index" / PARTS_FOLDER
    wait_for = parts_folder if when == "gathering" else parts_folder / SETTLED
    deadline = time.monotonic() + 60
    while not wait_for.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGINT, err  # ends by the signal, after its message
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    assert not (out / "summary.json").exists()
    # Where the Ctrl-C landed, as the resumed run finds it: on a quiet machine a run may
    # gather its 3 MB and settle the parts in the moments between the folder's appearance
    # and the signal (a fresh clone's run did), and it then rightly goes straight on to the
    # pass that writes. What holds either way is that the resumed run settles exactly when
    # the verdicts were not kept.
    settled = (parts_folder / SETTLED).exists()
    assert settled or when == "gathering"
    timings = tmp_path / "timings.json"
    resumed = in_process(*command[1:], "-q", "--resume", "--timings", timings)
    assert resumed.returncode == 0, resumed.stderr
    assert output_files(out) == one
    seconds = json.loads(timings.read_text())["seconds"]
    assert ("dedup-settle" in seconds) == (not settled)
    if not settled:  # each step of the settle timed, and within it
        steps = {name: t for name, t in seconds.items() if name.startswith("dedup-settle-")}
        assert set(steps) == {f"dedup-settle-{name}" for name in ("scatter", "edges", "components", "replay", "merge")}
        assert sum(steps.values()) <= seconds["dedup-settle"]
    assert not (out / ".partial").exists()


@pytest.mark.slow
@needs_strace
@pytest.mark.parametrize("when", ["gathering", "writing"])
def test_a_run_killed_while_it_writes_resumes_to_the_one_index_bytes(tmp_path, when):
    # Killed in the pass that writes, after three chunks of 20 documents: the resumed run
    # takes the verdicts up, at the uid where the last finished chunk ended (a chunk ends
    # inside a batch, so inside its rows). Killed in the first pass once it has kept the
    # rows of some chunks' worth of documents: the resumed run goes on gathering from there.
    # strace kills it as it marks the fourth chunk finished, or as it begins to keep what
    # it gathered a second time (the first time, a batch's worth: about 100 documents):
    # waiting for the markers to appear and then killing it raced the run, which could
    # end, or go on to another step, first.
    from curate.stages.dedup.barrier import GATHERED, PARTS_FOLDER

    generate(1.0, tmp_path / "gen")
    corpus = tmp_path / "gen" / "corpus.jsonl"
    one = _output(tmp_path, "one", "run", corpus, "--chunk-docs", "20")
    out = tmp_path / "out"
    args = ["run", str(corpus), "-o", str(out), "-q", "--no-project-rules", "--chunk-docs", "20", "--dedup-parts",
            "--workers", "2"]
    gathered = out / ".partial" / "index" / PARTS_FOLDER / GATHERED
    exe = Path(sys.executable).parent / "curate"
    if when == "writing":
        killed_at_open(out / ".partial" / "000003.done", exe, *args, cwd=ROOT)
    else:  # written to a temporary file, then renamed: its second one (by the driver's thread)
        killed_at_open(gathered.with_name(GATHERED + ".tmp"), exe, *args, nth=2, cwd=ROOT)
    assert not (out / "summary.json").exists()
    markers = sorted(path.name for path in (out / ".partial").glob("*.done"))
    if when == "writing":
        assert markers == ["000000.done", "000001.done", "000002.done"]
    else:
        assert not markers  # killed before the pass that writes
        record = json.loads(gathered.read_text())
        assert record["items"] >= 40 and record["whole"] is False, record
    timings = tmp_path / "timings.json"
    resumed = run_process(*args, "--resume", "--timings", timings)
    assert resumed.returncode == 0, resumed.stderr
    assert output_files(out) == one
    # Taken up once the parts had run; found again when killed before them.
    assert ("dedup-settle" in json.loads(timings.read_text())["seconds"]) == (when == "gathering")


@pytest.mark.unit
def test_a_part_process_that_dies_stops_the_run_with_what_to_do(tmp_path, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    import curate.stages.dedup.barrier as barrier
    from curate.errors import CurateError
    from curate.stages.base import Batch
    from curate.stages.dedup.barrier import Dedup

    def died(*args, **kwargs):
        raise BrokenProcessPool("A process in the process pool was terminated abruptly")

    stage = Dedup(DedupConfig(num_perm=16), parts=True)
    stage.attach(tmp_path / "scratch")
    flat, offsets = shingle_sets(np.arange(40, dtype=np.uint32), [40])
    rows = SignedRows([(0, 0)], np.ones((1, 4), dtype=np.uint64), flat, offsets, [("d", "s", 1, 0, 9)])
    assert stage.decide(Batch(0, [], 0, rows)) == [None]
    monkeypatch.setattr(barrier, "settle", died)  # as an out-of-memory kill of a part's process shows
    with pytest.raises(CurateError, match=r"a smaller --memory or fewer --workers.*--resume"):
        stage.settle(2)
    stage.close(stopped=True)  # nothing settled: nothing a resumed run could take up
    assert not (tmp_path / "scratch" / "dedup-parts").exists()  # its files go with it


def _copies_signed(cfg: DedupConfig) -> SignedRows:
    """Eight signed rows; rows 5, 6 and 7 copy rows 0, 3 and 0."""
    rng = np.random.default_rng(3)
    base = [rng.choice(1 << 30, 40, replace=False).tolist() for _ in range(5)]
    groups = [*base, base[0][:-1], base[3][1:], base[0]]
    flat, offsets = shingle_sets(np.array([h for g in groups for h in g], dtype=np.uint32), [len(g) for g in groups])
    signer = Signer(cfg)
    keys = signer.band_keys_matrix(signer.signatures_of_hashes(flat, np.diff(offsets).tolist()))
    return SignedRows([(k, 0) for k in range(8)], keys, flat, offsets,
                      [(f"doc{k}", "src", k + 1, 10 * k, 10 * k + 9) for k in range(8)])


@pytest.mark.unit
def test_verdicts_found_before_a_stop_are_taken_up_by_the_resumed_run(tmp_path):
    """A run stopped after its parts keeps their files (the first pass and the parts
    are not done again); it resumes at the uid its last chunk's journal names. A stop
    before they were whole, or the end of the run, leaves nothing behind."""
    from curate.stages.dedup.barrier import SETTLED, Dedup

    cfg = DedupConfig(threshold=0.7, num_perm=32)
    rows = _copies_signed(cfg)
    scratch = tmp_path / "partial" / "index"
    first = Dedup(cfg, parts=True)
    first.attach(scratch)
    assert not first.settled()
    first.decide(Batch(0, [], 0, rows))
    first.settle(1)
    assert first.settled() and (scratch / "dedup-parts" / SETTLED).exists()
    whole = first.decide(Batch(0, [], 0, rows))
    assert [k for k, v in enumerate(whole) if v is not None] == [5, 6, 7]
    first.close(stopped=True)
    again = Dedup(cfg, parts=True)
    again.attach(scratch)
    assert again.settled()
    again.restore([("parts", 0), ("parts", 5)])  # two chunks ended: the verdicts stood at uid 5
    tail = SignedRows(rows.owners[5:], rows.keys[5:], rows.shingles[rows.offsets[5]:],
                      rows.offsets[5:] - rows.offsets[5], rows.refs[5:])
    assert again.decide(Batch(0, [], 0, tail)) == whole[5:]
    again.close()  # the run ended: its files go
    assert not (scratch / "dedup-parts").exists()
    # Stopped in the first pass: the rows are gathered again from the start.
    third = Dedup(cfg, parts=True)
    third.attach(scratch)
    third.decide(Batch(0, [], 0, rows))
    third.close(stopped=True)
    fourth = Dedup(cfg, parts=True)
    fourth.attach(scratch)
    assert not fourth.settled() and (scratch / "dedup-parts" / "keys.u64").stat().st_size == 0
    fourth.close()


def _slice_rows(rows: SignedRows, start: int, end: int) -> SignedRows:
    shingles = rows.shingles[rows.offsets[start]:rows.offsets[end]]
    return SignedRows(rows.owners[start:end], rows.keys[start:end], shingles,
                      rows.offsets[start:end + 1] - rows.offsets[start], rows.refs[start:end])


@pytest.mark.unit
def test_a_run_stopped_in_its_first_pass_goes_on_from_the_rows_it_kept(tmp_path):
    """What the first pass gathered up to its last keep_gathered survives a stop: the
    resumed run cuts off the rows gathered after it (the stop came before they were kept)
    and goes on from the next item, to the verdicts of a run that never stopped."""
    from curate.stages.dedup.barrier import GATHERED, Dedup

    cfg = DedupConfig(threshold=0.7, num_perm=32)
    rows = _copies_signed(cfg)  # one item a row here
    scratch = tmp_path / "partial" / "index"
    first = Dedup(cfg, parts=True)
    first.attach(scratch)
    first.restore([])  # a run that takes checkpoints
    first.decide(Batch(0, [], 0, _slice_rows(rows, 0, 3)))
    # The engine decides ahead of what the driver has seen: the next batch's rows are
    # gathered already when the driver keeps what came before it.
    first.decide(Batch(1, [], 3, _slice_rows(rows, 3, 6)))
    first.keep_gathered(3)
    assert (scratch / "dedup-parts" / GATHERED).exists()
    first.close(stopped=True)
    again = Dedup(cfg, parts=True)
    again.attach(scratch)
    again.restore([])
    assert again.gathered() == 3 and not again.settled()
    assert (scratch / "dedup-parts" / "set-ends.i64").stat().st_size == (3 + 1) * 8  # cut back to the kept rows
    again.decide(Batch(0, [], 3, _slice_rows(rows, 3, 8)))
    again.settle(1)
    resumed = again.decide(Batch(0, [], 0, rows))
    again.close()
    assert not (scratch / "dedup-parts").exists()
    whole = Dedup(cfg, parts=True)
    whole.attach(tmp_path / "whole")
    whole.decide(Batch(0, [], 0, rows))
    whole.settle(1)
    assert resumed == whole.decide(Batch(0, [], 0, rows))
    assert [k for k, v in enumerate(resumed) if v is not None] == [5, 6, 7]
    whole.close()


def test_a_run_stopped_in_the_parts_gathers_nothing_again(tmp_path, monkeypatch, corpus):
    """The first pass keeps all it gathered before the parts start, marked whole: a run
    stopped in them resumes without a first pass (it reads no document to skip it), and
    writes the bytes of a run that never stopped."""
    import curate.driver as driver
    import curate.stages.dedup.barrier as barrier
    from curate.rules import load_rules

    def config(out: Path) -> driver.RunConfig:
        return driver.RunConfig(inputs=(corpus,), output=out, ruleset=load_rules(), workers=1, chunk_items=50,
                                dedup_parts=True)

    driver.run(config(tmp_path / "whole"))
    real_settle = barrier.settle

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt  # as Ctrl-C in the parts

    monkeypatch.setattr(barrier, "settle", stopped)
    with pytest.raises(KeyboardInterrupt):
        driver.run(config(tmp_path / "out"))
    monkeypatch.setattr(barrier, "settle", real_settle)
    skipped: list[int] = []
    real_skip = driver.skip_items
    monkeypatch.setattr(driver, "skip_items", lambda plan, done, progress, *credit: skipped.append(done) or
                        real_skip(plan, done, progress, *credit))
    timings: dict[str, float] = {}
    driver.run(config(tmp_path / "out"), resume=True, timings=timings)
    assert skipped == [0]  # only the pass that writes reads the input, from its start
    assert "dedup-settle" in timings  # the parts ran again
    assert output_files(tmp_path / "out") == output_files(tmp_path / "whole")


def test_a_run_stopped_as_its_verdicts_go_only_commits_when_resumed(tmp_path, monkeypatch, corpus):
    """The verdicts' files go once every chunk is sealed (the last one too): a run stopped
    right after they went resumes into its commit, and does not find the verdicts again.
    (Before, they went while the chunks' background syncs still lagged behind, and a kill
    there made the resumed run redo the first pass and the parts: CI caught it.)"""
    import curate.driver as driver
    from curate.rules import load_rules
    from curate.stages.dedup.barrier import Dedup
    from curate.write import COMMIT_FILE, PARTIAL

    def config(out: Path) -> driver.RunConfig:
        return driver.RunConfig(inputs=(corpus,), output=out, ruleset=load_rules(), workers=1, chunk_items=50,
                                dedup_parts=True)

    driver.run(config(tmp_path / "whole"))
    real_close = Dedup.close
    sealed_at_close: list[bool] = []

    def close_then_stop(self, stopped=False):
        real_close(self, stopped)
        if not stopped:
            sealed_at_close.append((tmp_path / "out" / PARTIAL / COMMIT_FILE).exists())
            raise KeyboardInterrupt  # as a kill just after the files went

    monkeypatch.setattr(Dedup, "close", close_then_stop)
    with pytest.raises(KeyboardInterrupt):
        driver.run(config(tmp_path / "out"))
    monkeypatch.setattr(Dedup, "close", real_close)
    assert sealed_at_close == [True]
    timings: dict[str, float] = {}
    driver.run(config(tmp_path / "out"), resume=True, timings=timings)
    assert "dedup-settle" not in timings and "dedup-parts" not in timings
    assert output_files(tmp_path / "out") == output_files(tmp_path / "whole")


@pytest.mark.unit
def test_a_settle_stopped_midway_runs_only_the_parts_it_had_not_finished(tmp_path):
    """Each part's result is kept as it comes: settled again (a resumed run), the parts
    kept are read back, not run, even with another number of processes (the cut is the
    first settle's), and the verdicts are those of a settle that never stopped."""
    import curate.stages.dedup.parts as parts

    class Pool:
        def __init__(self, slots: int, stop_after_groups: int | None = None):
            self.slots, self.stop_after = slots, stop_after_groups
            self.ran: dict[str, int] = {"scatter": 0, "edges": 0, "replay": 0}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def map(self, function, tasks):
            kind = {parts._scatter: "scatter", parts._edges: "edges"}.get(function, "replay")
            for task in tasks:
                if kind == "replay" and self.ran["replay"] == self.stop_after:
                    raise KeyboardInterrupt  # stopped with a group's replay still to run
                self.ran[kind] += 1
                yield function(task)

    cfg = DedupConfig(threshold=0.7, num_perm=32)
    rows = _copies_signed(cfg)
    bands = rows.keys.shape[1]
    for name in ("whole", "stopped"):
        store = RowStore(tmp_path / name)
        store.append(rows)
        store.close()
    settle(tmp_path / "whole", bands, cfg, processes=1, pool=Pool(slots=3))
    first = Pool(slots=3, stop_after_groups=1)
    with pytest.raises(KeyboardInterrupt):
        settle(tmp_path / "stopped", bands, cfg, processes=1, pool=first)
    assert first.ran == {"scatter": 3, "edges": 3, "replay": 1}  # without a budget, a scatter per slot too
    assert not list((tmp_path / "stopped" / "settle").glob("pairs-*"))  # gone once every partition's edges are kept
    again = Pool(slots=2)  # resumed with fewer workers
    settle(tmp_path / "stopped", bands, cfg, processes=1, pool=again)
    assert again.ran == {"scatter": 0, "edges": 0, "replay": 2}  # the first settle's three groups, one of them kept
    whole, resumed = Verdicts(tmp_path / "whole"), Verdicts(tmp_path / "stopped")
    assert resumed.removed.tolist() == whole.removed.tolist() == [5, 6, 7]
    assert resumed.similarity.tolist() == whole.similarity.tolist() and bytes(resumed.refs) == bytes(whole.refs)
    assert not (tmp_path / "stopped" / "settle").exists()  # the parts' results go once the verdicts are written


@pytest.mark.unit
def test_part_results_come_back_as_they_were_kept_and_only_for_the_rows_they_were_made_for(tmp_path):
    from curate.stages.dedup.part_results import PartResults

    blob = b"\x00marshalled\x00\x00"  # trailing zero bytes, which a numpy bytes scalar drops
    result = (np.array([3, 1], dtype=np.int64), np.array([0.9, 0.85]), np.frombuffer(blob, dtype=np.uint8))
    kept = PartResults(tmp_path / "settle", rows=10, plan={"parts": 4, "groups": 2})
    (first,) = kept.ordered("group", ["t0"], lambda tasks: iter([result]))  # read back from its files, too
    assert [part.tolist() for part in first] == [part.tolist() for part in result]
    again = PartResults(tmp_path / "settle", rows=10, plan={"parts": 9, "groups": 9})
    assert again.plan["parts"] == 4 and again.plan["groups"] == 2  # the cut the results were made with

    def not_run(tasks):
        raise AssertionError(f"{tasks} ran again")

    (back,) = again.ordered("group", ["t0"], not_run)
    assert back[2].tobytes() == blob and back[0].tolist() == [3, 1] and back[1].tolist() == [0.9, 0.85]
    other = PartResults(tmp_path / "settle", rows=11, plan={"parts": 9, "groups": 9})  # other rows: made afresh
    assert other.plan["parts"] == 9 and not list((tmp_path / "settle").glob("group-*"))


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
@pytest.mark.parametrize(("workers", "name", "opened"), [("1", "keys.u64", 2), ("2", "keys.u64", 2),
                                                         ("1", "removed.i64", 3)])
def test_a_file_the_parts_cannot_read_back_is_named_as_unreadable(corpus, tmp_path, workers, name, opened):
    # strace fails an open to read: the rows' keys as the parts open them (the first pass
    # opened the file to write), and the verdicts as the barrier takes them up (written,
    # then synced). The stop said "cannot write" the first, and sent the user to look for
    # room on a disk that had plenty; the second ended in a traceback. With two workers
    # the error is raised in a part's process and comes back pickled.
    import subprocess

    out = tmp_path / "out"
    path = out / ".partial" / "index" / "dedup-parts" / name
    command = ("dedup", corpus, "-o", out, "-q", "--dedup-parts", "--workers", workers)
    stopped = subprocess.run([shutil.which("strace"), "-f", "-qq", "-o", "/dev/null", "-P", str(path),
                              "-e", "trace=openat", "-e", f"inject=openat:error=EIO:when={opened}",
                              str(Path(sys.executable).parent / "curate"), *map(str, command)],
                             cwd=ROOT, capture_output=True, text=True, timeout=120, env=traced_env(), check=False)
    # The message alone: with two workers, the stopped pool's semaphores were once left to
    # multiprocessing's resource tracker, which warned of a "leaked semaphore" after it
    # (test_a_stopped_pool_frees_its_semaphores_before_the_stop_goes_on).
    assert stopped.stderr == (f"Error: cannot read {path}: Input/output error; finished chunks are kept in "
                              f"{out}/.partial/ and no final file was written. Fix the cause, then run the same "
                              "command with --resume to continue where it stopped.\n")
    assert stopped.returncode == 1
    resumed = run_process(*command, "--resume")
    assert resumed.returncode == 0, resumed.stderr


def test_a_stopped_pool_frees_its_semaphores_before_the_stop_goes_on(monkeypatch):
    # A stopped run exits at once after its message (curate/prompt_exit.py). The pool's
    # queues hold named semaphores, each unregistered from multiprocessing's resource
    # tracker as it is freed; one left registered at the exit makes the tracker warn of a
    # "leaked semaphore" after the message. The executor's own thread freed them as it
    # ended, racing that exit (lost on a loaded machine): here that thread ends late, and
    # the stopped pool has still ended it, the queues gone, freed in this thread.
    import concurrent.futures.process as executors
    import math
    import threading
    import time
    import weakref

    import curate.stages.dedup.parts as parts

    ending = executors._ExecutorManagerThread.join_executor_internals

    def late(manager):
        time.sleep(1.0)
        ending(manager)

    monkeypatch.setattr(executors._ExecutorManagerThread, "join_executor_internals", late)
    threads = set(threading.enumerate())
    pool = parts._pool(2)
    queues = [weakref.ref(pool._executor._call_queue), weakref.ref(pool._executor._result_queue)]
    with pytest.raises(ValueError, match="math domain error"), pool:
        list(pool.map(math.sqrt, [4.0, -1.0]))  # a part's error, sent back from its process
    assert set(threading.enumerate()) == threads  # the executor's thread has ended
    assert [queue() for queue in queues] == [None, None]
