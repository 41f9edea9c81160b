"""A self-hosted scoring service for private benchmarks (`bsr serve`, `bsr submit`).

A lab serves benchmarks whose responses never leave its machine. Modelers submit prediction files
(no code of theirs runs) with an API token, within a per-token, per-benchmark daily limit, and get back
a score record signed by the server's key, released at a set precision and without per-unit detail.

Modules: `database` (tables, SQLite WAL or PostgreSQL), `accounts` (hashed tokens), `quota` (the
rate limit, exact under concurrency), `release` (what a score may say), `benchmarks` (the served
benchmarks' data and public parts), `submissions` (one upload, scored), `app` (the HTTP API),
`client` (`bsr submit`'s side), `credentials` (where a modeler keeps tokens).
"""
