"""Batch reports (the Lasso reporting API): batches of per-company PDF reports.

A batch is stored with an item manifest in S3 and queued; a starter runs a Step Functions state machine
whose Distributed Map produces one report per item (idempotent item records), and a finalizer sets the
batch's final status. See docs/BATCHES.md and docs/ARCHITECTURE.md ("Batch reports").
"""
