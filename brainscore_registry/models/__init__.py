"""Layer 5, models: what answers a benchmark.

Model cards, the PyTorch adapter behind the brain-model interface, batched activation extraction, the
content-keyed activation cache, and prediction files (scoring without running model code).
"""
