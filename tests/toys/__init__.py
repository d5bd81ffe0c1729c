"""The worked examples of docs/architecture.md: a toy reader, stage and sink, each one file."""
