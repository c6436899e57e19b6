"""Central collector: ingest, storage, criteria, metrics, reports."""
