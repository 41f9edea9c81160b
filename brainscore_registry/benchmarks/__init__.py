"""Layer 4, benchmarks: an experiment made executable.

Benchmark specs (pinned data, procedure, metric, ceiling, normalisation, version rule), the brain-model
interface a benchmark calls, stimulus placement in visual degrees, running a spec's procedure and
metric, and aggregation along the specs' parent links. Builds on `store`, `data` and `metrics`.
"""
