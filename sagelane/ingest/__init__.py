"""The ingest workflow's logic: validate, curate or quarantine one raw object version."""
