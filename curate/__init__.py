"""curate: turn noisy scraped text into a clean, deduplicated, traceable corpus."""

__version__ = "0.1.0"
