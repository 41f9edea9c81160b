"""Scoring many models on many benchmarks on a Dask cluster (`bsr run`): plan, worker tasks, client."""
