"""A saved index (--save-index) carries a digest of its files in index.json: the run
deduplicated against it is fingerprinted by that file, so a resumed run notices an index
saved again with other text, even with the same paragraph count and settings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from curate.errors import RunStopped
from curate.stages.base import Batch
from curate.stages.dedup.barrier import Dedup
from curate.stages.dedup.index import DedupIndex
from curate.stages.dedup.saved import INDEX_JSON, digest_of
from curate.stages.dedup.sign import SignedRows, shingle_sets
from curate.stages.dedup.signature import DedupConfig, Signer

pytestmark = pytest.mark.unit


def _rows(cfg: DedupConfig, seed: int) -> SignedRows:
    """Five unrelated paragraphs drawn with ``seed``, signed."""
    rng = np.random.default_rng(seed)
    groups = [rng.choice(1 << 30, 30, replace=False).tolist() for _ in range(5)]
    flat, offsets = shingle_sets(np.array([h for g in groups for h in g], dtype=np.uint32), [len(g) for g in groups])
    signer = Signer(cfg)
    keys = signer.band_keys_matrix(signer.signatures_of_hashes(flat, np.diff(offsets).tolist()))
    refs = [(f"doc{k}", "src", k + 1, 0, 9) for k in range(len(groups))]
    return SignedRows([(k, 0) for k in range(5)], keys, flat, offsets, refs)


def _saved(folder, cfg: DedupConfig, seed: int) -> None:
    """An index of five unrelated paragraphs drawn with ``seed``, saved in ``folder``."""
    index = DedupIndex(cfg, folder.parent / f"scratch-{seed}")
    assert index.decide(Batch(0, [], 0, _rows(cfg, seed))) == [None] * 5
    index.save(folder)
    index.close()


def test_an_index_saved_again_with_other_text_changes_the_fingerprint_of_a_run_against_it(tmp_path):
    cfg = DedupConfig(threshold=0.7, num_perm=32)
    _saved(tmp_path / "index", cfg, seed=1)
    first = json.loads((tmp_path / "index" / INDEX_JSON).read_text())
    assert first["digest"] == digest_of(tmp_path / "index") and first["digest"].startswith("blake2b-128:")
    against_first = Dedup(cfg, tmp_path / "index").fingerprint()
    _saved(tmp_path / "same", cfg, seed=1)  # the same text again: the same digest
    assert json.loads((tmp_path / "same" / INDEX_JSON).read_text()) == first
    _saved(tmp_path / "index", cfg, seed=2)  # saved again over it: as many paragraphs, the same settings
    second = json.loads((tmp_path / "index" / INDEX_JSON).read_text())
    assert {k: v for k, v in second.items() if k != "digest"} == {k: v for k, v in first.items() if k != "digest"}
    assert second["digest"] != first["digest"]
    assert Dedup(cfg, tmp_path / "index").fingerprint() != against_first


def test_the_digest_covers_every_file_of_the_index(tmp_path):
    cfg = DedupConfig(threshold=0.7, num_perm=32)
    _saved(tmp_path / "index", cfg, seed=3)
    before = digest_of(tmp_path / "index")
    for name in ("keys.npy", "ids.npy", "shingles.u32", "shingle_ends.npy", "refs.jsonl", "ref_ends.npy"):
        path = tmp_path / "index" / name
        data = bytearray(path.read_bytes())
        data[-1] ^= 1
        path.write_bytes(bytes(data))
        assert digest_of(tmp_path / "index") != before, name
        data[-1] ^= 1
        path.write_bytes(bytes(data))
    assert digest_of(tmp_path / "index") == before


def test_a_saved_index_that_fails_to_read_mid_run_stops_the_run_with_what_to_do(tmp_path):
    # open_saved checks every file's size; a file cut (or a disk failing) after that was
    # an OSError traceback from the record read, the run's .partial/ left behind unsaid.
    cfg = DedupConfig(threshold=0.7, num_perm=32)
    _saved(tmp_path / "index", cfg, seed=4)
    dedup = Dedup(cfg, tmp_path / "index")
    dedup.attach(tmp_path / "out" / ".partial" / "index")
    (tmp_path / "index" / "shingles.u32").write_bytes(b"")  # cut after the run opened it
    with pytest.raises(RunStopped) as stopped:
        dedup.decide(Batch(0, [], 0, _rows(cfg, seed=4)))  # copies of the saved paragraphs: their sets are read
    said = str(stopped.value)
    assert "cannot read the dedup index (" in said and "shingles.u32" in said and "is cut short" in said
    assert f"if the index --against {tmp_path / 'index'} is damaged, save it again with --save-index" in said
    assert f"finished chunks are kept in {tmp_path / 'out'}/.partial/" in said
    dedup.close(stopped=True)
