"""Leaderboards and reports built from signed score records: static pages a browser opens from disk."""
