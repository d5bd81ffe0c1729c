"""Dedup means what its threshold says, on a generated corpus with ground truth
(bench/generate.py): every removed paragraph's exact Jaccard with the paragraph it points
at, recomputed here from the two texts with the reference shingles, is at or above the
threshold, and the similarity in the audit is that Jaccard. (The CLI tier: a real run.)"""

from __future__ import annotations

import json
import sys

import pytest
from conftest import ROOT, invoke, read_jsonl
from reference import signature as ref

from curate.stages.dedup.signature import DedupConfig, Signer
from curate.stages.normalise import normalise_text

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate
from quality import dedup_quality


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    generate(1.0, folder, seed=11)  # about 1,300 copies, a few seconds a run
    return folder


def _exact_jaccards(corpus, out, cfg: DedupConfig, clean=normalise_text) -> list[tuple[float, float]]:
    """(Jaccard recomputed from the texts, as ``clean`` leaves them for the dedup stage,
    similarity written) of every removed duplicate."""
    records = {rec["id"]: rec["text"].encode("utf-8") for rec in read_jsonl(corpus / "corpus.jsonl")}
    signer = Signer(cfg)
    pairs = []
    for rec in read_jsonl(out / "removed.jsonl"):
        if rec["reason"] != "duplicate":
            continue
        start, end = rec["duplicate_of"]["bytes"]
        kept = records[rec["duplicate_of"]["doc"]][start:end].decode("utf-8")
        a = set(ref.shingles(signer, clean(rec["removed"])) or ())
        b = set(ref.shingles(signer, clean(kept)) or ())
        assert a and b, rec
        pairs.append((len(a & b) / len(a | b), rec["similarity"]))
    return pairs


@pytest.mark.parametrize(("command", "threshold"), [("run", 0.8), ("run", 0.6), ("dedup", 0.8)])
def test_every_removed_paragraph_is_at_least_the_threshold_similar(corpus, tmp_path, command, threshold):
    out = tmp_path / "out"
    result = invoke(command, corpus / "corpus.jsonl", "-o", out, "-q", "--threshold", str(threshold))
    assert result.exit_code == 0, result.output
    clean = normalise_text if command == "run" else (lambda text: text)  # `curate dedup` does not normalise
    pairs = _exact_jaccards(corpus, out, DedupConfig(threshold=threshold), clean)
    assert len(pairs) > 200
    assert min(jaccard for jaccard, _ in pairs) >= threshold
    assert all(written == round(jaccard, 4) for jaccard, written in pairs)
    if threshold == 0.8:
        # Copies removed by a noise rule (or whose original was) never reach dedup: recall
        # is judged on the others (all of them for `curate dedup`).
        quality = dedup_quality(corpus, out)
        assert quality["recall_ge_0.8_reaching_dedup"] >= 0.97, quality
        assert quality["removed_jaccard_lt_0.5"] == 0, quality
        summary = json.loads((out / "summary.json").read_text())
        assert (summary["settings"]["dedup"]["bands"], summary["settings"]["dedup"]["rows"]) == (14, 5)
