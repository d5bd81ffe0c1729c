"""What a finished run did, read back from its output folder: ``curate report`` (one HTML
file with plots) and ``curate clusters`` (the near-duplicate clusters as JSON Lines).

Both read the output only (docs/output.md), never the inputs, and stream it:

- ``folder``: checks OUT is a finished output folder; streams the corpus shards (through
  the format registry) and removed.jsonl (with each record's byte offset).
- ``clusters``: groups the dedup records of removed.jsonl by the paragraph they copy, in
  16 bytes per copy, and reads texts back by offset only for the clusters written.
- ``figures``: one pass over removed.jsonl and one over the corpus, into counts and samples.
- ``charts``: the figures drawn as SVG with matplotlib (the ``report`` extra).
- ``page``: the HTML page, self-contained (no script, no link, no network).
- ``commands``: what the two commands do (``make_report``, ``export_clusters``), for the
  CLI and for Python callers.
"""
