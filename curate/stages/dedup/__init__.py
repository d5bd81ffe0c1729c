"""Near-duplicate paragraphs: signatures per document, then a barrier over the corpus."""
