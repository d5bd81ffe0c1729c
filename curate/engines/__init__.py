"""How batches are mapped over processes or a cluster, and how the dedup barrier is computed."""
