"""datatrove's Gopher filters over a JSON Lines file: each document's verdict, for
bench/document_rules.py.

    python bench/peers/datatrove_gopher.py KEPT_JSONL VERDICTS_JSONL

Runs under bench/.venv-peers (re-executes itself there). GopherRepetitionFilter and
GopherQualityFilter with their defaults (English: spaCy's blank English tokenizer, as
datatrove's tokenizer_assignment.csv assigns), called filter() by filter() on each
record's text, as a pipeline of the two would: a record is dropped by the first that
returns False. Writes {"id", "repetition", "quality"}: each filter's reason, or null.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _dtcommon import DATATROVE_VERSION  # re-executes this script under the peer venv
from datatrove.data import Document
from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter


def reason(verdict):
    if verdict is True:
        return None
    return verdict[1] if isinstance(verdict, tuple) else "dropped"


def main():
    source, target = sys.argv[1], sys.argv[2]
    repetition, quality = GopherRepetitionFilter(), GopherQualityFilter()
    with open(source, encoding="utf-8") as f, open(target, "w", encoding="utf-8") as out:
        for line in f:
            record = json.loads(line)
            doc = Document(text=record["text"], id=record["id"])
            out.write(json.dumps({"id": record["id"], "repetition": reason(repetition.filter(doc)),
                                  "quality": reason(quality.filter(doc))}) + "\n")
    print(json.dumps({"datatrove": DATATROVE_VERSION}))


if __name__ == "__main__":
    main()
