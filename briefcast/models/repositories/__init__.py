"""All SQL lives in these modules: ingest (API, async), pipeline and claims (workers, sync)."""
