"""The `bsr` command line: a thin typer layer over `brainscore_registry`."""
