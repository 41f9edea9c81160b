"""Layer 2, store: where versions live and how they move.

The registry checkout (layout, catalogue, lock), atomic publication of new versions, registration,
loading by reference, DVC tracking, push/pull/status against local or S3 remotes, and registries reached
by git location. Builds on `data`; knows nothing of metrics, benchmarks or models.
"""
