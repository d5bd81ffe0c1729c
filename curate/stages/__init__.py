"""The stages a document passes through, one module each."""
