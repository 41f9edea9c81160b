"""Layer 6, runs: scores that anyone can check and re-run.

A scoring run (pinned data pulled when missing, the benchmark on a model or a predictions file) and its
signed record; reproduction from a record alone; layer sweeps and layer mapping; the code and
environment that produced a number; roll-ups of verified records per model.
"""
