"""Generator pipelines: yield Progress/Preview events, return the result (no Qt)."""
