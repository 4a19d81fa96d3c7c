"""Evaluation: gold sets and metrics, reports, ingestion accuracy, benchmarks, the regression gate and the ranker training."""
